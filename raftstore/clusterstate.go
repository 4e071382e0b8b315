package raftstore

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
)

// NodeInfo is one member of the cluster as recorded in the metadata state.
type NodeInfo struct {
	ID uint64 `json:"id"`
	// UUID is generated at the node's first start (<data_dir>/node.id): a node whose disk was
	// wiped comes back with another one and is refused until it is removed.
	UUID      string `json:"uuid"`
	RaftAddr  string `json:"raft_addr"` // advertised gRPC address (Raft and console)
	KafkaHost string `json:"kafka_host"`
	KafkaPort int32  `json:"kafka_port"`
}

// DataGroupInfo is one data replication group as recorded in the metadata state.
type DataGroupInfo struct {
	ID int `json:"id"` // 1..DataGroups; the Raft group is named DataGroupName(ID)
	// Replicas is the desired replica set; the first is the preferred leader.
	Replicas []uint64 `json:"replicas"`
	// Leader and LeaderTerm are announced by the group's leader once it is ready to serve.
	Leader     uint64 `json:"leader"`
	LeaderTerm uint64 `json:"leader_term"`
}

// DataGroupName is the Raft group id of data group id.
func DataGroupName(id int) string { return "data-" + strconv.Itoa(id) }

// MetaGroup is the Raft group id of the metadata group ("ChronikMetaLog").
const MetaGroup = "meta"

// ClusterState is the cluster part of the metadata state: members and data groups. It is
// replicated through the metadata group next to the meta.Store state.
type ClusterState struct {
	ClusterID string `json:"cluster_id"`
	// UUID identifies this cluster (random, set at bootstrap).
	UUID   string              `json:"uuid"`
	Nodes  map[uint64]NodeInfo `json:"nodes"`
	Groups []DataGroupInfo     `json:"groups"`
}

func newClusterState() ClusterState {
	return ClusterState{Nodes: map[uint64]NodeInfo{}}
}

// clone returns a deep copy.
func (s ClusterState) clone() ClusterState {
	c := ClusterState{ClusterID: s.ClusterID, UUID: s.UUID, Nodes: maps.Clone(s.Nodes), Groups: make([]DataGroupInfo, len(s.Groups))}
	if c.Nodes == nil {
		c.Nodes = map[uint64]NodeInfo{}
	}
	for i, g := range s.Groups {
		g.Replicas = slices.Clone(g.Replicas)
		c.Groups[i] = g
	}
	return c
}

// NodeIDs are the members' ids, sorted.
func (s ClusterState) NodeIDs() []uint64 {
	return slices.Sorted(maps.Keys(s.Nodes))
}

// Group returns data group id.
func (s ClusterState) Group(id int) (DataGroupInfo, bool) {
	if id < 1 || id > len(s.Groups) {
		return DataGroupInfo{}, false
	}
	return s.Groups[id-1], true
}

// GroupOf is the data group of a partition: partitions of a topic are spread over the groups
// from a hash of the topic name. The number of groups is fixed when the cluster bootstraps, so
// the mapping never changes.
func (s ClusterState) GroupOf(topic string, partition int32) int {
	return GroupOf(len(s.Groups), topic, partition)
}

// GroupOf maps a partition onto one of n data groups (1..n); 0 when n is 0.
func GroupOf(n int, topic string, partition int32) int {
	if n <= 0 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(topic))
	return int((uint64(h.Sum32())+uint64(uint32(partition)))%uint64(n)) + 1
}

// Cluster commands (entry kind entryCluster), applied by the metadata FSM.
type clusterCmd struct {
	Op string `json:"op"`
	// init
	ClusterID   string `json:"cluster_id,omitempty"`
	ClusterUUID string `json:"cluster_uuid,omitempty"`
	DataGroups  int    `json:"data_groups,omitempty"`
	// add_node, update_node
	Node *NodeInfo `json:"node,omitempty"`
	// remove_node
	NodeID uint64 `json:"node_id,omitempty"`
	// set_replicas, set_leader
	Group    int      `json:"group,omitempty"`
	Replicas []uint64 `json:"replicas,omitempty"`
	Leader   uint64   `json:"leader,omitempty"`
	Term     uint64   `json:"term,omitempty"`
}

const (
	opInit        = "init"
	opAddNode     = "add_node"
	opUpdateNode  = "update_node"
	opRemoveNode  = "remove_node"
	opSetReplicas = "set_replicas"
	opSetLeader   = "set_leader"
)

// ErrNodeConflict is returned when a node id is already a member with another node UUID.
type ErrNodeConflict struct{ ID uint64 }

func (e *ErrNodeConflict) Error() string {
	return fmt.Sprintf("node %d is already a member of the cluster: remove it first (POST /admin/cluster/remove)", e.ID)
}

// apply applies one cluster command; a refusal is returned as an error and leaves s unchanged.
func (s *ClusterState) apply(c clusterCmd) error {
	switch c.Op {
	case opInit:
		if len(s.Groups) > 0 {
			return fmt.Errorf("cluster already initialised with %d data groups", len(s.Groups))
		}
		if c.DataGroups < 1 || c.Node == nil {
			return fmt.Errorf("init: need at least one data group and the first node")
		}
		s.ClusterID, s.UUID = c.ClusterID, c.ClusterUUID
		s.Nodes[c.Node.ID] = *c.Node
		for g := 1; g <= c.DataGroups; g++ {
			s.Groups = append(s.Groups, DataGroupInfo{ID: g, Replicas: []uint64{c.Node.ID}})
		}
		return nil
	case opAddNode, opUpdateNode:
		if c.Node == nil || c.Node.ID == 0 {
			return fmt.Errorf("%s: missing node", c.Op)
		}
		if old, ok := s.Nodes[c.Node.ID]; ok && old.UUID != c.Node.UUID {
			return &ErrNodeConflict{ID: c.Node.ID}
		}
		if c.Op == opUpdateNode {
			if _, ok := s.Nodes[c.Node.ID]; !ok {
				return fmt.Errorf("update_node: node %d is not a member", c.Node.ID)
			}
		}
		s.Nodes[c.Node.ID] = *c.Node
		return nil
	case opRemoveNode:
		if _, ok := s.Nodes[c.NodeID]; !ok {
			return fmt.Errorf("node %d is not a member of the cluster", c.NodeID)
		}
		delete(s.Nodes, c.NodeID)
		return nil
	case opSetReplicas:
		if c.Group < 1 || c.Group > len(s.Groups) {
			return fmt.Errorf("set_replicas: unknown data group %d", c.Group)
		}
		g := &s.Groups[c.Group-1]
		g.Replicas = slices.Clone(c.Replicas)
		return nil
	case opSetLeader:
		if c.Group < 1 || c.Group > len(s.Groups) {
			return fmt.Errorf("set_leader: unknown data group %d", c.Group)
		}
		g := &s.Groups[c.Group-1]
		if c.Term < g.LeaderTerm {
			return fmt.Errorf("set_leader: data group %d term %d is older than %d", c.Group, c.Term, g.LeaderTerm)
		}
		g.Leader, g.LeaderTerm = c.Leader, c.Term
		return nil
	default:
		return fmt.Errorf("unknown cluster command %q (written by a newer version?)", c.Op)
	}
}

func encodeClusterCmd(c clusterCmd) ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encoding cluster command %s: %w", c.Op, err)
	}
	return b, nil
}

// placeReplicas computes the desired replica sets of every data group for the given members:
// each group keeps the replicas it has that are still members, then gets the least loaded
// members until it has min(rf, members) replicas; the preferred leader (first replica) of
// group g is rotated over the members so that leaders spread. It returns only the groups whose
// replica set changes.
func placeReplicas(groups []DataGroupInfo, members []uint64, rf int) map[int][]uint64 {
	want := min(rf, len(members))
	if want == 0 {
		return nil
	}
	isMember := make(map[uint64]bool, len(members))
	for _, m := range members {
		isMember[m] = true
	}
	load := make(map[uint64]int, len(members))
	next := make([][]uint64, len(groups))
	for i, g := range groups {
		for _, r := range g.Replicas {
			if isMember[r] && !slices.Contains(next[i], r) && len(next[i]) < want {
				next[i] = append(next[i], r)
				load[r]++
			}
		}
	}
	for i := range groups {
		for len(next[i]) < want {
			best := uint64(0)
			for _, m := range members {
				if slices.Contains(next[i], m) {
					continue
				}
				if best == 0 || load[m] < load[best] {
					best = m
				}
			}
			next[i] = append(next[i], best)
			load[best]++
		}
	}
	// Preferred leaders: group i prefers members[i % n] when it is a replica.
	for i := range groups {
		pref := members[i%len(members)]
		if j := slices.Index(next[i], pref); j > 0 {
			next[i][0], next[i][j] = next[i][j], next[i][0]
		}
	}
	out := map[int][]uint64{}
	for i, g := range groups {
		if !slices.Equal(g.Replicas, next[i]) {
			out[g.ID] = next[i]
		}
	}
	return out
}

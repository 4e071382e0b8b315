package kafka

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// API keys referenced outside their handler files.
const (
	produceKey     int16 = 0
	fetchKey       int16 = 1
	apiVersionsKey int16 = 18
)

// versionRange is the range of versions served for one API key.
type versionRange struct {
	min, max int16
	ok       bool
}

type apiRange struct{ key, min, max int16 }

// advertisedAPIs is the version table answered by ApiVersions, and the only requests served.
// Each maximum stays below the version that would oblige us to something we do not implement
// (topic IDs, KIP-848, transactions, batched FindCoordinator…); the minimums keep the old
// versions librdkafka 2.0.2 and kafka-python 2.0.2 need to enable their features.
func advertisedAPIs() []apiRange {
	return []apiRange{
		{0, 3, 8},  // Produce (flexible from 9)
		{1, 4, 11}, // Fetch (flexible from 12)
		{2, 1, 5},  // ListOffsets (flexible from 6)
		{3, 0, 8},  // Metadata (flexible from 9)
		{8, 0, 7},  // OffsetCommit (flexible from 8)
		{9, 0, 7},  // OffsetFetch (flexible from 6; batched from 8)
		{10, 0, 3}, // FindCoordinator (flexible from 3; batched from 4)
		{11, 0, 5}, // JoinGroup (flexible from 6)
		{12, 0, 3}, // Heartbeat (flexible from 4)
		{13, 0, 3}, // LeaveGroup (flexible from 4)
		{14, 0, 3}, // SyncGroup (flexible from 4)
		{15, 0, 4}, // DescribeGroups (flexible from 5)
		{16, 0, 3}, // ListGroups (flexible from 3)
		{18, 0, 3}, // ApiVersions (flexible from 3)
		{19, 0, 5}, // CreateTopics (flexible from 5)
		{20, 0, 4}, // DeleteTopics (flexible from 4)
		{21, 0, 1}, // DeleteRecords (flexible from 2)
		{22, 0, 4}, // InitProducerId (flexible from 2)
		{23, 0, 3}, // OffsetForLeaderEpoch (flexible from 4)
		{32, 0, 4}, // DescribeConfigs (flexible from 4)
		{33, 0, 1}, // AlterConfigs (flexible from 2)
		{37, 0, 1}, // CreatePartitions (flexible from 2)
		{42, 0, 1}, // DeleteGroups (flexible from 2)
		{44, 0, 1}, // IncrementalAlterConfigs (flexible from 1)
		{47, 0, 0}, // OffsetDelete
		{60, 0, 0}, // DescribeCluster (flexible always)
	}
}

// versionRange returns the served range of key (ok false when not served).
func (s *Server) versionRange(key int16) versionRange {
	if key < 0 || int(key) >= len(s.versions) {
		return versionRange{}
	}
	return s.versions[key]
}

// chain orders requests of one connection: a request waits for the previous request of its
// chain to finish before it starts. Kafka processes a connection's requests one at a time;
// chaining keeps that guarantee where clients depend on it (append order of pipelined
// produce requests, commit order of offsets, read-your-writes of topic administration) while
// long-poll fetches, group joins and reads run concurrently.
type chain uint8

const (
	chainNone    chain = iota
	chainProduce       // Produce
	chainAdmin         // Metadata and topic/config administration
	chainOffsets       // offset commits, fetches and deletions, group deletion
	numChains
)

func chainOf(key int16) chain {
	switch key {
	case 0:
		return chainProduce
	case 3, 19, 20, 21, 32, 33, 37, 44:
		return chainAdmin
	case 8, 9, 42, 47:
		return chainOffsets
	default:
		return chainNone
	}
}

// dispatch runs the handler of req. A nil response means no response is sent (acks=0
// produce); an error closes the connection.
func (s *Server) dispatch(ctx context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	switch r := req.(type) {
	case *kmsg.ProduceRequest:
		resp, err := s.handleProduce(ctx, rc, r)
		if resp == nil {
			return nil, err // acks=0: no response; an error closes the connection
		}
		return resp, err
	case *kmsg.FetchRequest:
		return s.handleFetch(ctx, r), nil
	case *kmsg.ListOffsetsRequest:
		return s.handleListOffsets(r), nil
	case *kmsg.MetadataRequest:
		return s.handleMetadata(ctx, r), nil
	case *kmsg.OffsetCommitRequest:
		return s.handleOffsetCommit(ctx, rc, r), nil
	case *kmsg.OffsetFetchRequest:
		return s.handleOffsetFetch(ctx, rc, r), nil
	case *kmsg.FindCoordinatorRequest:
		return s.handleFindCoordinator(r), nil
	case *kmsg.JoinGroupRequest:
		return s.handleJoinGroup(ctx, rc, r), nil
	case *kmsg.HeartbeatRequest:
		return s.handleHeartbeat(ctx, rc, r), nil
	case *kmsg.LeaveGroupRequest:
		return s.handleLeaveGroup(ctx, rc, r), nil
	case *kmsg.SyncGroupRequest:
		return s.handleSyncGroup(ctx, rc, r), nil
	case *kmsg.DescribeGroupsRequest:
		return s.handleDescribeGroups(ctx, rc, r), nil
	case *kmsg.ListGroupsRequest:
		return s.handleListGroups(ctx, rc, r), nil
	case *kmsg.ApiVersionsRequest:
		return s.handleApiVersions(r), nil
	case *kmsg.CreateTopicsRequest:
		return s.handleCreateTopics(ctx, r), nil
	case *kmsg.DeleteTopicsRequest:
		return s.handleDeleteTopics(ctx, r), nil
	case *kmsg.DeleteRecordsRequest:
		return s.handleDeleteRecords(r), nil
	case *kmsg.InitProducerIDRequest:
		return s.handleInitProducerID(ctx, r), nil
	case *kmsg.OffsetForLeaderEpochRequest:
		return s.handleOffsetForLeaderEpoch(r), nil
	case *kmsg.DescribeConfigsRequest:
		return s.handleDescribeConfigs(r), nil
	case *kmsg.AlterConfigsRequest:
		return s.handleAlterConfigs(ctx, r), nil
	case *kmsg.CreatePartitionsRequest:
		return s.handleCreatePartitions(ctx, r), nil
	case *kmsg.DeleteGroupsRequest:
		return s.handleDeleteGroups(ctx, rc, r), nil
	case *kmsg.IncrementalAlterConfigsRequest:
		return s.handleIncrementalAlterConfigs(ctx, r), nil
	case *kmsg.OffsetDeleteRequest:
		return s.handleOffsetDelete(ctx, rc, r), nil
	case *kmsg.DescribeClusterRequest:
		return s.handleDescribeCluster(r), nil
	}
	return nil, fmt.Errorf("no handler for %s", kmsg.NameForKey(req.Key()))
}

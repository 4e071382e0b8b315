package groups

import (
	"bytes"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

type groupState int8

const (
	stateEmpty groupState = iota
	statePreparingRebalance
	stateCompletingRebalance
	stateStable
	stateDead
)

func (s groupState) String() string {
	switch s {
	case stateEmpty:
		return "Empty"
	case statePreparingRebalance:
		return "PreparingRebalance"
	case stateCompletingRebalance:
		return "CompletingRebalance"
	case stateStable:
		return "Stable"
	default:
		return "Dead"
	}
}

// group is one consumer group. Every field is guarded by mu.
type group struct {
	mu   sync.Mutex
	name string

	state        groupState
	protocolType string
	protocol     string // selected protocol; "" unless CompletingRebalance or Stable
	generation   int32
	leader       string

	members     map[string]*member
	order       []string            // member ids in join order: leader succession, tie-breaks
	static      map[string]string   // group.instance.id -> member id
	pending     map[string]*pending // member ids handed out with MEMBER_ID_REQUIRED
	pendingSync map[string]struct{} // members that have not sent SyncGroup this generation

	rebalanceSeq   uint64    // identifies the current PreparingRebalance phase for its timer
	joinDeadline   time.Time // rebalance timeout of the current PreparingRebalance phase
	initialDelay   bool      // PreparingRebalance started from Empty and waits initial delay
	newMemberAdded bool      // a member joined during the initial delay

	persisted bool // the store holds a record of this group
}

// member is one group member.
type member struct {
	id, instanceID       string // instanceID "" for dynamic members
	clientID, clientHost string
	sessionTimeout       time.Duration
	rebalanceTimeout     time.Duration
	protocols            []kmsg.JoinGroupRequestProtocol // in preference order, metadata copied
	assignment           []byte

	joinCh chan joinResult // non-nil while a JoinGroup waits for the rebalance (buffered 1)
	syncCh chan syncResult // non-nil while a SyncGroup waits for the leader (buffered 1)

	lastSeen   time.Time // last heartbeat or equivalent
	armed      bool      // a session check is scheduled (at checkAt, identified by sessionSeq)
	checkAt    time.Time
	sessionSeq uint64
}

type pending struct{}

// joinResult is what a JoinGroup waiter receives.
type joinResult struct {
	code         int16
	memberID     string
	generation   int32
	protocolType string
	protocol     string
	leader       string
	members      []kmsg.JoinGroupResponseMember
}

// syncResult is what a SyncGroup waiter receives.
type syncResult struct {
	code         int16
	protocolType string
	protocol     string
	assignment   []byte
}

func newGroup(name string) *group {
	return &group{
		name:    name,
		members: make(map[string]*member),
		static:  make(map[string]string),
		pending: make(map[string]*pending),
	}
}

func copyProtocols(ps []kmsg.JoinGroupRequestProtocol) []kmsg.JoinGroupRequestProtocol {
	out := make([]kmsg.JoinGroupRequestProtocol, len(ps))
	for i, p := range ps {
		out[i] = kmsg.JoinGroupRequestProtocol{Name: p.Name, Metadata: bytes.Clone(p.Metadata)}
	}
	return out
}

// sameProtocols reports whether ps equals m's protocols (names, order and metadata).
func (m *member) sameProtocols(ps []kmsg.JoinGroupRequestProtocol) bool {
	return slices.EqualFunc(m.protocols, ps, func(a, b kmsg.JoinGroupRequestProtocol) bool {
		return a.Name == b.Name && bytes.Equal(a.Metadata, b.Metadata)
	})
}

func (m *member) metadataFor(protocol string) []byte {
	for _, p := range m.protocols {
		if p.Name == protocol {
			return p.Metadata
		}
	}
	return nil
}

func (m *member) supports(protocol string) bool {
	return slices.ContainsFunc(m.protocols, func(p kmsg.JoinGroupRequestProtocol) bool { return p.Name == protocol })
}

// candidates returns the protocols every member supports, in the first member's preference.
func (g *group) candidates() []string {
	if len(g.order) == 0 {
		return nil
	}
	var out []string
	for _, p := range g.members[g.order[0]].protocols {
		all := true
		for _, id := range g.order[1:] {
			if !g.members[id].supports(p.Name) {
				all = false
				break
			}
		}
		if all && !slices.Contains(out, p.Name) {
			out = append(out, p.Name)
		}
	}
	return out
}

// supportsProtocols reports whether a member with these protocols may join (Kafka's rule: an
// empty group takes any non-empty type and list; otherwise the type must match and one
// protocol must be supported by every current member).
func (g *group) supportsProtocols(protocolType string, ps []kmsg.JoinGroupRequestProtocol) bool {
	if len(g.members) == 0 {
		return protocolType != "" && len(ps) > 0
	}
	if protocolType != g.protocolType {
		return false
	}
	cands := g.candidates()
	return slices.ContainsFunc(ps, func(p kmsg.JoinGroupRequestProtocol) bool { return slices.Contains(cands, p.Name) })
}

// selectProtocol picks the protocol supported by all members that most members prefer; ties
// go to the first member's preference order. It returns "" if there is no common protocol.
func (g *group) selectProtocol() string {
	cands := g.candidates()
	if len(cands) == 0 {
		return ""
	}
	votes := make(map[string]int, len(cands))
	for _, id := range g.order {
		for _, p := range g.members[id].protocols {
			if slices.Contains(cands, p.Name) {
				votes[p.Name]++
				break
			}
		}
	}
	best := cands[0]
	for _, c := range cands[1:] {
		if votes[c] > votes[best] {
			best = c
		}
	}
	return best
}

func (g *group) maxRebalanceTimeout() time.Duration {
	var d time.Duration
	for _, m := range g.members {
		d = max(d, m.rebalanceTimeout)
	}
	return d
}

// allJoined reports whether every member waits in JoinGroup and no MEMBER_ID_REQUIRED
// round trip is outstanding.
func (g *group) allJoined() bool {
	if len(g.pending) > 0 {
		return false
	}
	for _, m := range g.members {
		if m.joinCh == nil {
			return false
		}
	}
	return true
}

// fenced reports whether instanceID is held by a member other than memberID.
func (g *group) fenced(instanceID *string, memberID string) bool {
	if instanceID == nil || *instanceID == "" {
		return false
	}
	id, ok := g.static[*instanceID]
	return ok && id != memberID
}

// addMember adds m; the first member of an empty group sets the group's protocol type.
func (g *group) addMember(m *member, protocolType string) {
	if len(g.members) == 0 {
		g.protocolType = protocolType
	}
	g.members[m.id] = m
	g.order = append(g.order, m.id)
	if m.instanceID != "" {
		g.static[m.instanceID] = m.id
	}
	if g.leader == "" {
		g.leader = m.id
	}
}

// detachMember removes m from the membership maps; it does not answer waiters.
func (g *group) detachMember(m *member) {
	delete(g.members, m.id)
	g.order = slices.DeleteFunc(g.order, func(id string) bool { return id == m.id })
	if m.instanceID != "" && g.static[m.instanceID] == m.id {
		delete(g.static, m.instanceID)
	}
	delete(g.pendingSync, m.id)
	if g.leader == m.id {
		g.leader = ""
		if len(g.order) > 0 {
			g.leader = g.order[0]
		}
	}
}

// joinMembers is the member list a leader receives: every member's metadata for the selected
// protocol, in join order.
func (g *group) joinMembers() []kmsg.JoinGroupResponseMember {
	out := make([]kmsg.JoinGroupResponseMember, 0, len(g.order))
	for _, id := range g.order {
		m := g.members[id]
		jm := kmsg.NewJoinGroupResponseMember()
		jm.MemberID = m.id
		if m.instanceID != "" {
			jm.InstanceID = kmsg.StringPtr(m.instanceID)
		}
		jm.ProtocolMetadata = m.metadataFor(g.protocol)
		out = append(out, jm)
	}
	return out
}

// currentJoinResult is the JoinGroup answer describing the current generation to m.
func (g *group) currentJoinResult(m *member) joinResult {
	r := joinResult{
		memberID:     m.id,
		generation:   g.generation,
		protocolType: g.protocolType,
		protocol:     g.protocol,
		leader:       g.leader,
	}
	if m.id == g.leader {
		r.members = g.joinMembers()
	}
	return r
}

// subscribedTopics returns the topics the members of a consumer group subscribe to according
// to their consumer-protocol metadata. ok is false if some metadata cannot be parsed (then
// every topic must be treated as subscribed).
func (g *group) subscribedTopics() (topics map[string]bool, ok bool) {
	topics = make(map[string]bool)
	for _, m := range g.members {
		for _, p := range m.protocols {
			if g.protocol != "" && p.Name != g.protocol {
				continue
			}
			var md kmsg.ConsumerMemberMetadata
			if err := md.ReadFrom(p.Metadata); err != nil {
				return nil, false
			}
			for _, t := range md.Topics {
				topics[t] = true
			}
		}
	}
	return topics, true
}

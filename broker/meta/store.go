package meta

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Proposer makes a command durable (locally or through Raft) and must call
// Store.Apply with it before returning. Commands reach Apply in the order the
// proposer makes them durable.
type Proposer interface {
	Propose(ctx context.Context, cmd []byte) error
}

// ErrClosed is returned by mutations after Close.
var ErrClosed = errors.New("metadata store is closed")

// DefaultCompactEvery is how many commands a standalone store applies
// between automatic compactions of its log.
const DefaultCompactEvery = 10000

// Store is the metadata state machine. Reads are served from memory and are
// safe for concurrent use; mutations are serialised by the proposer.
type Store struct {
	logger *slog.Logger
	now    func() time.Time

	mu            sync.RWMutex // guards the state below
	topics        map[string]Topic
	groups        map[string]GroupRecord
	offsets       map[string]map[TopicPartition]OffsetCommit
	nextPID       int64
	sinceSnapshot int // commands applied since the last snapshot command

	propMu   sync.RWMutex
	proposer Proposer

	waitMu  sync.Mutex
	waiters map[uint64]*applyResult

	local        *localLog // standalone only
	compactEvery int
	closed       atomic.Bool
}

// applyResult is what Apply decided for one proposal.
type applyResult struct {
	done       bool
	err        error // semantic failure (wraps a kerr code)
	topic      Topic
	producerID int64
}

// NewStore returns an empty in-memory store without a proposer: call
// SetProposer before mutating (cluster mode, where the Raft FSM calls Apply).
// A nil logger means slog.Default().
func NewStore(logger *slog.Logger) *Store {
	if logger == nil {
		logger = slog.Default()
	}
	return &Store{
		logger:       logger,
		now:          time.Now,
		topics:       map[string]Topic{},
		groups:       map[string]GroupRecord{},
		offsets:      map[string]map[TopicPartition]OffsetCommit{},
		nextPID:      1,
		waiters:      map[uint64]*applyResult{},
		compactEvery: DefaultCompactEvery,
	}
}

// SetProposer routes future mutations through p (cluster mode: Raft).
func (s *Store) SetProposer(p Proposer) {
	s.propMu.Lock()
	s.proposer = p
	s.propMu.Unlock()
}

func (s *Store) getProposer() Proposer {
	s.propMu.RLock()
	defer s.propMu.RUnlock()
	return s.proposer
}

// Close stops accepting mutations and, standalone, closes the log after the
// proposal in progress (if any) finishes.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.local != nil {
		return s.local.close()
	}
	return nil
}

// commandBody is implemented by every command struct.
type commandBody interface{ setReq(uint64) }

func (c *createTopicCmd) setReq(r uint64)      { c.Req = r }
func (c *deleteTopicCmd) setReq(r uint64)      { c.Req = r }
func (c *createPartitionsCmd) setReq(r uint64) { c.Req = r }
func (c *setTopicConfigsCmd) setReq(r uint64)  { c.Req = r }
func (c *commitOffsetsCmd) setReq(r uint64)    { c.Req = r }
func (c *deleteOffsetsCmd) setReq(r uint64)    { c.Req = r }
func (c *putGroupCmd) setReq(r uint64)         { c.Req = r }
func (c *deleteGroupCmd) setReq(r uint64)      { c.Req = r }
func (c *allocProducerIDCmd) setReq(r uint64)  { c.Req = r }
func (c *snapshotCmd) setReq(r uint64)         { c.Req = r }

// propose encodes a command, hands it to the proposer and returns what
// Apply decided for it. A nil error with res.err set is a semantic failure.
func (s *Store) propose(ctx context.Context, kind string, body commandBody) (applyResult, error) {
	if s.closed.Load() {
		return applyResult{}, fmt.Errorf("%s: %w", kind, ErrClosed)
	}
	p := s.getProposer()
	if p == nil {
		return applyResult{}, fmt.Errorf("%s: metadata store has no proposer", kind)
	}
	req := newReq()
	body.setReq(req)
	cmd, err := encodeCommand(kind, body, s.now().UnixMilli())
	if err != nil {
		return applyResult{}, err
	}
	slot := &applyResult{}
	s.waitMu.Lock()
	s.waiters[req] = slot
	s.waitMu.Unlock()
	defer func() {
		s.waitMu.Lock()
		delete(s.waiters, req)
		s.waitMu.Unlock()
	}()
	if err := p.Propose(ctx, cmd); err != nil {
		return applyResult{}, fmt.Errorf("proposing %s: %w", kind, err)
	}
	s.waitMu.Lock()
	res := *slot
	s.waitMu.Unlock()
	if !res.done {
		return applyResult{}, fmt.Errorf("proposing %s: the proposer returned before applying the command", kind)
	}
	return res, nil
}

func newReq() uint64 {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
		if r := binary.BigEndian.Uint64(b[:]); r != 0 {
			return r
		}
	}
}

// Apply is the deterministic FSM step: it decodes one command batch and
// applies it to the in-memory state. It is used on replay, by the standalone
// proposer and by the Raft FSM. An error means the command could not be
// decoded (corruption or a command kind from a newer version); refusals such
// as "topic already exists" are not errors here, they go to the proposing
// caller.
func (s *Store) Apply(cmd []byte) error {
	kind, value, err := decodeCommand(cmd)
	if err != nil {
		return err
	}
	req, res, err := s.applyKind(kind, value)
	if err != nil {
		return fmt.Errorf("applying %s command: %w", kind, err)
	}
	res.done = true
	s.waitMu.Lock()
	if slot, ok := s.waiters[req]; ok {
		*slot = res
	}
	s.waitMu.Unlock()
	return nil
}

func decodeBody[T any](value []byte) (T, error) {
	var v T
	err := json.Unmarshal(value, &v)
	return v, err
}

func (s *Store) applyKind(kind string, value []byte) (uint64, applyResult, error) {
	switch kind {
	case kindCreateTopic:
		return applyAs(s, value, func(c createTopicCmd) (uint64, applyResult) { return c.Req, s.applyCreateTopic(c) })
	case kindDeleteTopic:
		return applyAs(s, value, func(c deleteTopicCmd) (uint64, applyResult) { return c.Req, s.applyDeleteTopic(c) })
	case kindCreatePartitions:
		return applyAs(s, value, func(c createPartitionsCmd) (uint64, applyResult) { return c.Req, s.applyCreatePartitions(c) })
	case kindSetTopicConfigs:
		return applyAs(s, value, func(c setTopicConfigsCmd) (uint64, applyResult) { return c.Req, s.applySetTopicConfigs(c) })
	case kindCommitOffsets:
		return applyAs(s, value, func(c commitOffsetsCmd) (uint64, applyResult) { return c.Req, s.applyCommitOffsets(c) })
	case kindDeleteOffsets:
		return applyAs(s, value, func(c deleteOffsetsCmd) (uint64, applyResult) { return c.Req, s.applyDeleteOffsets(c) })
	case kindPutGroup:
		return applyAs(s, value, func(c putGroupCmd) (uint64, applyResult) { return c.Req, s.applyPutGroup(c) })
	case kindDeleteGroup:
		return applyAs(s, value, func(c deleteGroupCmd) (uint64, applyResult) { return c.Req, s.applyDeleteGroup(c) })
	case kindAllocProducerID:
		return applyAs(s, value, func(c allocProducerIDCmd) (uint64, applyResult) { return c.Req, s.applyAllocProducerID() })
	case kindSnapshot:
		c, err := decodeBody[snapshotCmd](value)
		if err != nil {
			return 0, applyResult{}, err
		}
		if err := s.applySnapshot(c); err != nil {
			return 0, applyResult{}, err
		}
		return c.Req, applyResult{}, nil
	default:
		return 0, applyResult{}, fmt.Errorf("unknown command kind %q (written by a newer version?)", kind)
	}
}

// applyAs decodes a command body and runs fn with the state locked.
func applyAs[T any](s *Store, value []byte, fn func(T) (uint64, applyResult)) (uint64, applyResult, error) {
	c, err := decodeBody[T](value)
	if err != nil {
		return 0, applyResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sinceSnapshot++
	req, res := fn(c)
	return req, res, nil
}

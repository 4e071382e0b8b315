package mirror

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Errors callers test with errors.Is.
var (
	// ErrUnknownMirror: no mirror has that id.
	ErrUnknownMirror = errors.New("unknown mirror")
	// ErrNotRunning: Start was called while Run is not running.
	ErrNotRunning = errors.New("mirror manager is not running")
)

// probeTimeout bounds Start's check that the source answers when ctx has no deadline.
const probeTimeout = 15 * time.Second

// Config configures a Manager.
type Config struct {
	Dir                string        // state directory, e.g. <data_dir>/mirror (created if missing)
	LocalBootstrap     string        // this node's Kafka address: where mirrored records are produced
	Logger             *slog.Logger  // nil: discard
	CheckpointInterval time.Duration // [1s] how often progress is persisted while records flow
	DiscoveryInterval  time.Duration // [5s] how often the source's topic list is re-read
	GroupSyncInterval  time.Duration // [5s] how often consumer-group offsets are translated+committed
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.CheckpointInterval <= 0 {
		c.CheckpointInterval = time.Second
	}
	if c.DiscoveryInterval <= 0 {
		c.DiscoveryInterval = 5 * time.Second
	}
	if c.GroupSyncInterval <= 0 {
		c.GroupSyncInterval = 5 * time.Second
	}
	return c
}

// Status is one mirror as Manager.Status reports it.
type Status struct {
	ID, Source, TopicRegex string
	State                  string            // "starting", "running", "stopped", "failed"
	Error                  string            // last error ("" if none); a failed mirror keeps its progress
	Lag                    int64             // sum over partitions of (source HWM - next source offset)
	Records                int64             // records mirrored (acknowledged by the destination) since the mirror was created
	Partitions             []PartitionStatus // sorted by topic, partition
	Groups                 int               // consumer groups whose offsets were translated at the last group sync
}

// PartitionStatus is one mirrored partition.
type PartitionStatus struct {
	Topic                               string
	Partition                           int32
	SourceLogStart, SourceHighWatermark int64 // as last seen from the source (-1 unknown)
	NextSourceOffset                    int64 // first source offset not yet mirrored
	NextDestOffset                      int64 // destination offset the next mirrored record will get
	Lag                                 int64
}

// Manager runs the mirrors of one node and persists them in Config.Dir.
type Manager struct {
	cfg    Config
	logger *slog.Logger

	mu      sync.Mutex
	nextID  int
	mirrors map[string]*mirror
	running bool
	runCtx  context.Context
	wg      sync.WaitGroup // run goroutines of the mirrors
}

// Open loads <Dir>/mirrors.json and the mirrors' checkpoints; it starts nothing.
func Open(cfg Config) (*Manager, error) {
	cfg = cfg.withDefaults()
	if cfg.Dir == "" {
		return nil, errors.New("mirror: Config.Dir is empty")
	}
	if cfg.LocalBootstrap == "" {
		return nil, errors.New("mirror: Config.LocalBootstrap is empty")
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("mirror: creating state directory %s: %w", cfg.Dir, err)
	}
	removeTemps(cfg.Dir)
	defs, err := loadDefs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("mirror: %w", err)
	}
	m := &Manager{cfg: cfg, logger: cfg.Logger, nextID: defs.NextID, mirrors: make(map[string]*mirror, len(defs.Mirrors))}
	for _, d := range defs.Mirrors {
		switch d.State {
		case stateRunning, stateStopped, stateFailed:
		default:
			return nil, fmt.Errorf("mirror: %s in %s: unknown state %q", d.ID, cfg.Dir, d.State)
		}
		cp, err := loadCheckpoint(cfg.Dir, d.ID)
		if err != nil {
			return nil, fmt.Errorf("mirror: %w", err)
		}
		mr, err := newMirror(d, cp, cfg)
		if err != nil {
			return nil, fmt.Errorf("mirror: %s in %s: %w", d.ID, cfg.Dir, err)
		}
		m.mirrors[d.ID] = mr
	}
	return m, nil
}

// Run resumes the mirrors persisted as running, serves Start and Stop, and returns after
// ctx is done and every mirror has stopped and written its final checkpoint. Run may be
// called again after it returned.
func (m *Manager) Run(ctx context.Context) {
	m.mu.Lock()
	if m.running {
		m.mu.Unlock()
		m.logger.Error("mirror: Run called while already running")
		return
	}
	m.running, m.runCtx = true, ctx
	for _, id := range m.sortedIDsLocked() {
		if mr := m.mirrors[id]; mr.persisted == stateRunning {
			m.launchLocked(mr)
		}
	}
	m.mu.Unlock()

	<-ctx.Done()
	m.mu.Lock()
	m.running = false
	m.mu.Unlock()
	m.wg.Wait()
}

// launchLocked starts mr's run goroutine. m.mu must be held and Run running.
func (m *Manager) launchLocked(mr *mirror) {
	ctx, cancel := context.WithCancel(m.runCtx)
	done := make(chan struct{})
	mr.cancel, mr.done = cancel, done
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(done)
		defer cancel()
		mr.run(ctx, m.mirrorFailed)
	}()
}

// mirrorFailed persists a mirror's failure: it is not resumed by the next Run.
func (m *Manager) mirrorFailed(mr *mirror, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if mr.persisted == stateStopped {
		return // stopped meanwhile
	}
	mr.persisted = stateFailed
	if perr := m.persistLocked(); perr != nil {
		m.logger.Error("mirror: persisting failure", "mirror", mr.id, "err", perr, "failure", err)
	}
}

// Start validates and starts a mirror of the topics of source (bootstrap servers
// "host:port[,host:port…]") whose names match topicRegex in full ("" = every topic;
// internal "__" topics never). ctx bounds only the validation: the regex compiles and the
// source answers. The mirror is persisted and runs until Stop. Start of a source and regex
// that a mirror already copies returns that mirror's id: running, it is left alone; stopped or
// failed, it resumes from its checkpoint (resumeLocked).
func (m *Manager) Start(ctx context.Context, source, topicRegex string) (string, error) {
	seeds := splitSeeds(source)
	if len(seeds) == 0 {
		return "", fmt.Errorf("source bootstrap %q: no host:port", source)
	}
	if _, err := topicMatcher(topicRegex); err != nil {
		return "", err
	}
	m.mu.Lock()
	running := m.running
	m.mu.Unlock()
	if !running {
		return "", ErrNotRunning
	}
	if err := probeSource(ctx, seeds); err != nil {
		return "", fmt.Errorf("source %s unreachable: %w", source, err)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.running {
		return "", ErrNotRunning
	}
	norm := strings.Join(seeds, ",")
	if mr := m.sameLocked(norm, topicRegex); mr != nil {
		return mr.id, m.resumeLocked(mr)
	}
	id := "mirror-" + strconv.Itoa(m.nextID)
	def := mirrorDef{ID: id, Source: strings.Join(seeds, ","), TopicRegex: topicRegex, State: stateRunning}
	mr, err := newMirror(def, checkpointFile{Version: stateVersion}, m.cfg)
	if err != nil {
		return "", err
	}
	m.nextID++
	m.mirrors[id] = mr
	if err := m.persistLocked(); err != nil {
		delete(m.mirrors, id)
		m.nextID--
		return "", err
	}
	m.launchLocked(mr)
	return id, nil
}

// sameLocked finds the mirror of the same source and regex (the newest), if any.
func (m *Manager) sameLocked(source, regex string) *mirror {
	var found *mirror
	for _, id := range m.sortedIDsLocked() {
		if mr := m.mirrors[id]; mr.source == source && mr.regex == regex {
			found = mr
		}
	}
	return found
}

// resumeLocked makes Start of a source and regex already mirrored idempotent: a running
// mirror is left as it is; a stopped or failed one is rebuilt from its last checkpoint and run
// again. The resume checks of a restart apply (the destination must hold exactly what the
// checkpoint says, plus records produced after it), so a mirror that failed because the
// destination lost records fails again with that reason.
func (m *Manager) resumeLocked(mr *mirror) error {
	if mr.persisted == stateRunning {
		return nil
	}
	if mr.done != nil {
		select {
		case <-mr.done:
		default:
			return fmt.Errorf("mirror %s is still stopping: try again", mr.id)
		}
	}
	cp, err := loadCheckpoint(m.cfg.Dir, mr.id)
	if err != nil {
		return fmt.Errorf("mirror %s: %w", mr.id, err)
	}
	fresh, err := newMirror(mirrorDef{ID: mr.id, Source: mr.source, TopicRegex: mr.regex, State: stateRunning}, cp, m.cfg)
	if err != nil {
		return fmt.Errorf("mirror %s: %w", mr.id, err)
	}
	prev := mr.persisted
	m.mirrors[mr.id] = fresh
	if err := m.persistLocked(); err != nil {
		m.mirrors[mr.id] = mr
		mr.persisted = prev
		return err
	}
	m.logger.Info("mirror resumed", "mirror", mr.id, "source", mr.source, "regex", mr.regex, "was", prev)
	m.launchLocked(fresh)
	return nil
}

// probeSource checks that a broker of the source answers a Metadata request.
func probeSource(ctx context.Context, seeds []string) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, probeTimeout)
		defer cancel()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ClientID("chronik-mirror"), kgo.RequestRetries(2),
		kgo.RetryBackoffFn(func(int) time.Duration { return 200 * time.Millisecond }))
	if err != nil {
		return err
	}
	defer cl.Close()
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{} // no topics: brokers only
	if _, err := req.RequestWith(ctx, cl); err != nil {
		return err
	}
	return nil
}

// Stop stops a mirror: it stops consuming, waits (bounded by ctx) until the destination
// acknowledged what was produced, writes the final checkpoint and persists the mirror as
// "stopped". Its progress and offset mapping are kept (Status, Translate).
func (m *Manager) Stop(ctx context.Context, id string) error {
	m.mu.Lock()
	mr := m.mirrors[id]
	if mr == nil {
		m.mu.Unlock()
		return fmt.Errorf("mirror %q: %w", id, ErrUnknownMirror)
	}
	mr.persisted = stateStopped
	perr := m.persistLocked()
	cancel, done := mr.cancel, mr.done
	m.mu.Unlock()
	if cancel != nil {
		cancel()
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("stopping mirror %s: %w", id, ctx.Err())
		}
	}
	mr.mu.Lock()
	mr.state = stateStopped
	mr.mu.Unlock()
	return perr
}

// Status reports every mirror, sorted by id.
func (m *Manager) Status() []Status {
	m.mu.Lock()
	ids := m.sortedIDsLocked()
	ms := make([]*mirror, len(ids))
	for i, id := range ids {
		ms[i] = m.mirrors[id]
	}
	m.mu.Unlock()
	out := make([]Status, len(ms))
	for i, mr := range ms {
		out[i] = mr.status()
	}
	return out
}

// Translate maps a consumer position (next offset to read) in a partition mirrored by
// mirror id to the destination. Only mirrored positions translate: ok is false for offsets
// before the mirror's starting point or past the first offset not mirrored yet.
func (m *Manager) Translate(id, topic string, partition int32, sourceOffset int64) (int64, bool) {
	m.mu.Lock()
	mr := m.mirrors[id]
	m.mu.Unlock()
	if mr == nil {
		return 0, false
	}
	return mr.translate(topic, partition, sourceOffset)
}

// persistLocked writes mirrors.json. m.mu must be held.
func (m *Manager) persistLocked() error {
	d := defsFile{Version: stateVersion, NextID: m.nextID}
	for _, id := range m.sortedIDsLocked() {
		mr := m.mirrors[id]
		mr.mu.Lock()
		errText := mr.fatal
		mr.mu.Unlock()
		d.Mirrors = append(d.Mirrors, mirrorDef{ID: id, Source: mr.source, TopicRegex: mr.regex, State: mr.persisted, Error: errText})
	}
	if err := writeJSON(m.cfg.Dir, defsFileName, d); err != nil {
		return fmt.Errorf("mirror: persisting mirrors: %w", err)
	}
	return nil
}

// sortedIDsLocked lists mirror ids, "mirror-2" before "mirror-10".
func (m *Manager) sortedIDsLocked() []string {
	ids := make([]string, 0, len(m.mirrors))
	for id := range m.mirrors {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, compareIDs)
	return ids
}

func compareIDs(a, b string) int {
	na, erra := strconv.Atoi(strings.TrimPrefix(a, "mirror-"))
	nb, errb := strconv.Atoi(strings.TrimPrefix(b, "mirror-"))
	if erra == nil && errb == nil && na != nb {
		return cmp.Compare(na, nb)
	}
	return strings.Compare(a, b)
}

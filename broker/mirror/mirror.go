package mirror

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	// flushTimeout bounds how long a stopping mirror waits for the destination to
	// acknowledge what it already handed to the producer.
	flushTimeout = 10 * time.Second
	// opTimeout bounds one discovery or group sync round.
	opTimeout = 30 * time.Second
	// pollRecords is the most records taken from the source consumer at once.
	pollRecords = 10000
	// defaultMaxMessageBytes is Kafka's max.message.bytes default (and kgo's batch limit).
	defaultMaxMessageBytes = 1000012
)

// partition is the state of one mirrored partition. Guarded by mirror.mu.
type partition struct {
	offsetMap
	logStart, hwm int64 // as last seen on the source; -1 unknown
	// skip counts the records, from nextSrc on, that the destination already holds
	// (produced but not checkpointed before a crash): they are not produced again.
	skip      int64
	fetchNext int64 // next source offset to hand to the producer
	consuming bool  // added to the source consumer in this run
	// broken is set at the first failed produce of the run: later acknowledgements are
	// ignored, so the progress stays a prefix of what the destination holds.
	broken bool
}

// mirror copies the topics of one source cluster into the destination.
type mirror struct {
	id, source, regex string
	seeds             []string
	match             func(string) bool
	cfg               Config
	logger            *slog.Logger

	mu        sync.Mutex
	state     string // starting, running, stopped, failed
	fatal     string // why the mirror failed
	warn      string // last transient source/discovery problem ("" once it works again)
	groupWarn string // last group sync problem
	topicErrs map[string]string
	records   int64
	groups    int
	parts     map[partKey]*partition
	version   uint64 // bumped on every progress change
	saved     uint64 // version of the last checkpoint written
	stopping  bool
	caughtUp  bool
	gen       uint64       // run number: promises of an earlier run are ignored
	inflight  atomic.Int64 // records handed to the producer whose promise has not run
	failCh    chan error

	limitsMu    sync.Mutex       // not mu: the producer asks from its own goroutines
	maxMsgBytes map[string]int32 // destination max.message.bytes per topic

	// Owned by the Manager, under Manager.mu.
	persisted string // state in mirrors.json
	cancel    context.CancelFunc
	done      chan struct{} // closed when the run goroutine returns
}

func newMirror(def mirrorDef, cp checkpointFile, cfg Config) (*mirror, error) {
	match, err := topicMatcher(def.TopicRegex)
	if err != nil {
		return nil, err
	}
	mr := &mirror{
		id: def.ID, source: def.Source, regex: def.TopicRegex, seeds: splitSeeds(def.Source), match: match,
		cfg: cfg, logger: cfg.Logger.With("mirror", def.ID),
		state: def.State, persisted: def.State, fatal: def.Error,
		topicErrs: make(map[string]string), records: cp.Records, parts: make(map[partKey]*partition),
		maxMsgBytes: make(map[string]int32),
	}
	if def.State == stateRunning {
		mr.state = stateStarting
	}
	for _, p := range cp.Partitions {
		mr.parts[partKey{p.Topic, p.Partition}] = &partition{
			offsetMap: p.offsetMap(), logStart: p.SourceLogStart, hwm: p.SourceHighWatermark,
		}
	}
	return mr, nil
}

// splitSeeds splits "host:port,host:port".
func splitSeeds(s string) []string {
	var out []string
	for _, h := range strings.Split(s, ",") {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// run mirrors until ctx is done or the mirror fails, then stops cleanly: it flushes the
// producer and writes a final checkpoint. A failure is reported to onFail.
func (mr *mirror) run(ctx context.Context, onFail func(*mirror, error)) {
	mr.mu.Lock()
	mr.state, mr.fatal, mr.warn, mr.groupWarn, mr.stopping, mr.caughtUp = stateStarting, "", "", "", false, false
	mr.topicErrs = make(map[string]string)
	mr.failCh = make(chan error, 1)
	mr.gen++
	for _, ps := range mr.parts {
		ps.skip, ps.consuming, ps.broken = 0, false, false
	}
	mr.mu.Unlock()

	err := mr.mirrorLoop(ctx)

	mr.mu.Lock()
	if err != nil {
		mr.state, mr.fatal = stateFailed, err.Error()
	} else {
		mr.state = stateStopped
	}
	records := mr.records
	mr.mu.Unlock()
	if err != nil {
		mr.logger.Error("mirror failed", "source", mr.source, "err", err, "records", records)
		onFail(mr, err)
	}
	mr.logger.Info("mirror stopped", "source", mr.source, "records", records)
}

func (mr *mirror) mirrorLoop(ctx context.Context) (err error) {
	mr.logger.Info("mirror started", "source", mr.source, "regex", mr.regex, "partitions", mr.partitionCount())
	src, err := kgo.NewClient(
		kgo.SeedBrokers(mr.seeds...),
		kgo.ClientID("chronik-mirror"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxBytes(64<<20),
		kgo.FetchMaxPartitionBytes(16<<20),
		// Partitions added while a fetch long-polls wait for it: keep the poll short.
		kgo.FetchMaxWait(500*time.Millisecond),
	)
	if err != nil {
		return fmt.Errorf("source client for %s: %w", mr.source, err)
	}
	dst, err := kgo.NewClient(
		kgo.SeedBrokers(mr.cfg.LocalBootstrap),
		kgo.ClientID("chronik-mirror"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchMaxBytesFn(mr.batchLimit),
	)
	if err != nil {
		src.Close()
		return fmt.Errorf("destination client for %s: %w", mr.cfg.LocalBootstrap, err)
	}

	pollCtx, cancelPoll := context.WithCancel(context.Background())
	prodCtx, cancelProd := context.WithCancel(context.Background())
	groupCtx, cancelGroups := context.WithCancel(ctx)
	pollerDone := make(chan struct{})
	go func() {
		defer close(pollerDone)
		mr.poll(pollCtx, prodCtx, src, dst)
	}()
	groupsDone := make(chan struct{})
	go func() {
		defer close(groupsDone)
		mr.groupLoop(groupCtx, src, dst)
	}()

	defer func() {
		mr.mu.Lock()
		mr.stopping = true
		mr.mu.Unlock()
		cancelGroups()
		<-groupsDone
		// Stop consuming; let what was handed to the producer be acknowledged.
		cancelPoll()
		timer := time.NewTimer(flushTimeout)
		defer timer.Stop()
		select {
		case <-pollerDone:
		case <-timer.C:
			cancelProd() // the destination does not answer: fail what is buffered
			<-pollerDone
		}
		fctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
		if ferr := dst.Flush(fctx); ferr != nil {
			mr.logger.Warn("mirror: destination did not acknowledge every buffered record; they are checked again on resume", "err", ferr)
		}
		cancel()
		cancelProd()
		dst.Close() // fails whatever is still buffered
		src.Close()
		mr.awaitPromises()
		// A failure found while flushing is still a failure.
		if err == nil {
			select {
			case err = <-mr.failCh:
			default:
			}
		}
		if cerr := mr.checkpoint(true); cerr != nil {
			mr.logger.Error("mirror: final checkpoint failed", "err", cerr)
			err = errors.Join(err, cerr)
		}
	}()

	return mr.control(ctx, src, dst)
}

// control runs discovery and checkpoints until ctx is done or the mirror fails.
func (mr *mirror) control(ctx context.Context, src, dst *kgo.Client) error {
	discover := time.NewTicker(mr.cfg.DiscoveryInterval)
	defer discover.Stop()
	cp := time.NewTicker(mr.cfg.CheckpointInterval)
	defer cp.Stop()
	if err := mr.discoverRound(ctx, src, dst); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-mr.failCh:
			return err
		case <-discover.C:
			if err := mr.discoverRound(ctx, src, dst); err != nil {
				return err
			}
		case <-cp.C:
			if err := mr.checkpoint(false); err != nil {
				mr.logger.Error("mirror: checkpoint failed", "err", err)
			}
			mr.checkCaughtUp()
		}
	}
}

// discoverRound runs one discovery bounded by opTimeout. Source trouble is transient (kept
// in Status.Error until a round succeeds); the returned error is fatal.
func (mr *mirror) discoverRound(ctx context.Context, src, dst *kgo.Client) error {
	octx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	fatal, transient := mr.discover(octx, src, dst)
	if fatal != nil {
		return fatal
	}
	if ctx.Err() != nil {
		return nil
	}
	mr.mu.Lock()
	prev := mr.warn
	if transient != nil {
		mr.warn = transient.Error()
	} else {
		mr.warn = ""
		if mr.state == stateStarting {
			mr.state = stateRunning
		}
	}
	mr.mu.Unlock()
	if transient != nil && transient.Error() != prev {
		mr.logger.Error("mirror: discovery failed", "source", mr.source, "err", transient)
	}
	mr.checkCaughtUp()
	return nil
}

// poll consumes the source and hands every record to the producer.
func (mr *mirror) poll(ctx, prodCtx context.Context, src, dst *kgo.Client) {
	for {
		fs := src.PollRecords(ctx, pollRecords)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return
		}
		fs.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			var loss *kgo.ErrDataLoss
			if errors.As(err, &loss) {
				mr.logger.Error("mirror: source records lost before they were mirrored", "topic", topic, "partition", p, "err", err)
			} else {
				mr.logger.Warn("mirror: fetch from source failed", "topic", topic, "partition", p, "err", err)
			}
			mr.mu.Lock()
			mr.warn = fmt.Sprintf("fetching %s[%d] from %s: %v", topic, p, mr.source, err)
			if ps := mr.parts[partKey{topic, p}]; loss != nil && ps != nil && ps.skip > 0 {
				// The records the destination holds past the checkpoint can no longer be
				// matched with the source's.
				mr.failLocked(fmt.Errorf("resuming %s[%d]: the source deleted records from offset %d that the destination already holds: %w", topic, p, ps.nextSrc, err))
			}
			mr.mu.Unlock()
		})
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			mr.forward(ctx, prodCtx, dst, fp)
		})
	}
}

// forward produces the records of one fetched partition to the destination, same
// partition, key, value, headers and timestamp.
func (mr *mirror) forward(ctx, prodCtx context.Context, dst *kgo.Client, fp kgo.FetchTopicPartition) {
	k := partKey{fp.Topic, fp.Partition}
	mr.mu.Lock()
	ps := mr.parts[k]
	if ps == nil || !ps.consuming || ps.broken {
		mr.mu.Unlock()
		return
	}
	gen := mr.gen
	if fp.HighWatermark >= 0 {
		ps.hwm = fp.HighWatermark
	}
	if fp.LogStartOffset >= 0 {
		ps.logStart = fp.LogStartOffset
	}
	out := fp.Records[:0:0]
	for _, r := range fp.Records {
		if r.Offset < ps.fetchNext {
			ps.broken = true
			mr.failLocked(fmt.Errorf("source partition %s went back from offset %d to %d (was the topic deleted and created again?)", k, ps.fetchNext, r.Offset))
			break
		}
		ps.fetchNext = r.Offset + 1
		if ps.skip > 0 { // already in the destination (see offsetMap.resume)
			if err := ps.record(r.Offset, ps.nextDst); err != nil {
				mr.failLocked(fmt.Errorf("resuming %s: %w", k, err))
				ps.broken = true
				break
			}
			ps.skip--
			mr.records++
			mr.version++
			continue
		}
		out = append(out, r)
	}
	mr.mu.Unlock()
	for _, r := range out {
		if ctx.Err() != nil {
			return // stopping: the rest is fetched again on resume
		}
		srcOffset := r.Offset
		rec := &kgo.Record{Topic: r.Topic, Partition: r.Partition, Key: r.Key, Value: r.Value, Headers: r.Headers, Timestamp: r.Timestamp}
		mr.inflight.Add(1)
		dst.Produce(prodCtx, rec, func(rec *kgo.Record, err error) { mr.acked(gen, ps, k, srcOffset, rec, err) })
	}
}

// acked is the produce promise: it advances the partition's progress in order.
func (mr *mirror) acked(gen uint64, ps *partition, k partKey, srcOffset int64, rec *kgo.Record, err error) {
	defer mr.inflight.Add(-1)
	mr.mu.Lock()
	defer mr.mu.Unlock()
	if ps.broken || gen != mr.gen {
		return
	}
	if err == nil {
		err = ps.record(srcOffset, rec.Offset)
	}
	if err != nil {
		ps.broken = true
		if mr.stopping && (errors.Is(err, context.Canceled) || errors.Is(err, kgo.ErrClientClosed)) {
			return // stopping; the destination is checked again on resume
		}
		mr.failLocked(fmt.Errorf("producing %s source offset %d to the destination: %w", k, srcOffset, err))
		return
	}
	mr.records++
	mr.version++
}

// awaitPromises waits (bounded by flushTimeout) until every produce promise ran, so that
// the final checkpoint has every acknowledgement of this run.
func (mr *mirror) awaitPromises() {
	deadline := time.Now().Add(flushTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for mr.inflight.Load() > 0 {
		if time.Now().After(deadline) {
			mr.logger.Warn("mirror: produce results still pending at stop; the destination is checked again on resume", "pending", mr.inflight.Load())
			return
		}
		<-tick.C
	}
}

// failLocked makes the mirror fail (once). mr.mu must be held.
func (mr *mirror) failLocked(err error) {
	select {
	case mr.failCh <- err:
	default:
	}
}

// batchLimit is the producer's batch limit for a destination topic.
func (mr *mirror) batchLimit(topic string) int32 {
	mr.limitsMu.Lock()
	defer mr.limitsMu.Unlock()
	if v, ok := mr.maxMsgBytes[topic]; ok {
		return v
	}
	return defaultMaxMessageBytes
}

// checkpoint persists the progress if it changed since the last checkpoint (or always
// when force is set).
func (mr *mirror) checkpoint(force bool) error {
	mr.mu.Lock()
	if !force && mr.version == mr.saved {
		mr.mu.Unlock()
		return nil
	}
	cp := checkpointFile{Version: stateVersion, Records: mr.records, Partitions: make([]partitionCheckpoint, 0, len(mr.parts))}
	for k, ps := range mr.parts {
		pc := partitionCheckpoint{
			Topic: k.topic, Partition: k.partition, NextSourceOffset: ps.nextSrc, NextDestOffset: ps.nextDst,
			SourceLogStart: ps.logStart, SourceHighWatermark: ps.hwm, SyncPoints: make([][2]int64, len(ps.syncs)),
		}
		for i, sp := range ps.syncs {
			pc.SyncPoints[i] = [2]int64{sp.Src, sp.Dst}
		}
		cp.Partitions = append(cp.Partitions, pc)
	}
	v := mr.version
	mr.mu.Unlock()
	sort.Slice(cp.Partitions, func(i, j int) bool {
		a, b := cp.Partitions[i], cp.Partitions[j]
		return a.Topic < b.Topic || a.Topic == b.Topic && a.Partition < b.Partition
	})
	if err := writeJSON(mr.cfg.Dir, mr.id+checkpointSuffix, cp); err != nil {
		return fmt.Errorf("mirror %s checkpoint: %w", mr.id, err)
	}
	mr.mu.Lock()
	if v > mr.saved {
		mr.saved = v
	}
	mr.mu.Unlock()
	return nil
}

// checkCaughtUp logs "mirror caught up" when every consumed partition reaches the
// source's high watermark (once per catch-up).
func (mr *mirror) checkCaughtUp() {
	mr.mu.Lock()
	up, n := mr.state == stateRunning, 0
	var lag int64
	for _, ps := range mr.parts {
		if !ps.consuming {
			continue
		}
		n++
		if ps.hwm < 0 || ps.skip > 0 {
			up = false
		} else if ps.hwm > ps.nextSrc {
			lag += ps.hwm - ps.nextSrc
			up = false
		}
	}
	was := mr.caughtUp
	mr.caughtUp = up
	records := mr.records
	mr.mu.Unlock()
	if up && !was {
		mr.logger.Info("mirror caught up", "source", mr.source, "partitions", n, "records", records)
	}
}

func (mr *mirror) partitionCount() int {
	mr.mu.Lock()
	defer mr.mu.Unlock()
	return len(mr.parts)
}

// status is the mirror's Status.
func (mr *mirror) status() Status {
	mr.mu.Lock()
	defer mr.mu.Unlock()
	st := Status{ID: mr.id, Source: mr.source, TopicRegex: mr.regex, State: mr.state, Records: mr.records, Groups: mr.groups}
	var errs []string
	if mr.fatal != "" {
		errs = append(errs, mr.fatal)
	}
	topics := make([]string, 0, len(mr.topicErrs))
	for t := range mr.topicErrs {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	for _, t := range topics {
		errs = append(errs, mr.topicErrs[t])
	}
	for _, w := range []string{mr.warn, mr.groupWarn} {
		if w != "" {
			errs = append(errs, w)
		}
	}
	st.Error = strings.Join(errs, "; ")
	st.Partitions = make([]PartitionStatus, 0, len(mr.parts))
	for k, ps := range mr.parts {
		p := PartitionStatus{
			Topic: k.topic, Partition: k.partition, SourceLogStart: ps.logStart, SourceHighWatermark: ps.hwm,
			NextSourceOffset: ps.nextSrc, NextDestOffset: ps.nextDst,
		}
		if ps.hwm > ps.nextSrc {
			p.Lag = ps.hwm - ps.nextSrc
		}
		st.Lag += p.Lag
		st.Partitions = append(st.Partitions, p)
	}
	sort.Slice(st.Partitions, func(i, j int) bool {
		a, b := st.Partitions[i], st.Partitions[j]
		return a.Topic < b.Topic || a.Topic == b.Topic && a.Partition < b.Partition
	})
	return st
}

// translate maps a source offset of a mirrored partition to the destination.
func (mr *mirror) translate(topic string, partition int32, offset int64) (int64, bool) {
	mr.mu.Lock()
	defer mr.mu.Unlock()
	ps := mr.parts[partKey{topic, partition}]
	if ps == nil {
		return 0, false
	}
	return ps.translate(offset)
}

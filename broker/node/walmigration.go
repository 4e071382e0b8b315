package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chronik-stream/chronik/broker/console"
	"github.com/chronik-stream/chronik/broker/storage"
	"github.com/chronik-stream/chronik/broker/walmigrate"
	"github.com/chronik-stream/chronik/walcodec"
)

// Live WAL migration: converting the V2 segments of a running standalone node to V3 while it
// keeps serving produce and fetch (console RPC StartWalMigration, progress in MigrationProgress).
//
// Steps of one run:
//
//  1. Temporary files of interrupted migrations are removed and the WAL directory is pinned to V3
//     (storage.FormatPinFile, written durably before any log changes). From then on every log
//     opened writes V3 — now and after a restart, whatever wal_format says. That is the decision
//     for `chronik-server start` with wal_format = 2 after a live migration: once a log holds V3
//     records v1.x cannot read the directory any more, so writing V2 again would only mix
//     formats; the start logs "wal_format = 2 overridden" (walmigrate.MigrateOnStart), and
//     deleting the pin file gives wal_format back its say.
//  2. Every open log (the metadata log first, then each partition) switches to V3 with
//     storage.Log.UpgradeFormat: writes already encoded as V2 become durable, then the active
//     segment is rolled if it holds V2 records, so no segment mixes formats and every V2 segment
//     is sealed (no longer written).
//  3. Each sealed segment holding V2 records is converted by walmigrate.ConvertSegment into a
//     temporary file next to it (every input checksum checked, output verified from the bytes
//     written, fsynced) and swapped in by storage.Log.ReplaceSegment (index the new file, rename
//     it over the segment and swap file and index under the log's lock, fsync the directory).
//     Reads in flight finish on the old file or look their offset up again.
//  4. Steps 2 and 3 repeat until no sealed V2 segment is left (a log opened meanwhile, or a
//     segment cut or deleted under the conversion, is handled by the next pass).
//
// Damage (a record whose checksum fails, bad framing, a torn record in a sealed segment) stops
// the run (state failed, detail naming the path and byte offset); with skipErrors the damaged
// segment is left V2, named in detail, and the run carries on. The node serves throughout.
// The guide's lines are logged at INFO: "WAL migration started", "Found N V2 WAL segments",
// "Converting segment i/N: path", "Converted N records (V2 → V3)", "WAL migration complete
// (took 1.2s)"; a failure at ERROR ("WAL migration failed").

// Errors of liveMigration.Start. Each is a precondition failure (FailedPrecondition).
var (
	errMigrationCluster = errors.New("live WAL migration is not supported in cluster mode: restart the node with `chronik-server cluster --migrate-wal`")
	errMigrationRunning = errors.New("a WAL migration is already running on this node")
	errNothingToMigrate = errors.New("nothing to migrate: every WAL segment is V3 and new records are written as V3")
	errMigrationClosed  = errors.New("the node is shutting down")
)

// Migration states reported by Progress.
const (
	migrationIdle    = "idle"
	migrationRunning = "running"
	migrationDone    = "done"
	migrationFailed  = "failed"
)

// maxMigrationPasses bounds the passes of one run: a segment changed under its conversion (cut
// or deleted) is retried in the next pass; more passes than this means the logs keep changing.
const maxMigrationPasses = 5

// liveMigration runs the live WAL migration of one node; see the comment above.
type liveMigration struct {
	n      *Node
	walDir string
	logger *slog.Logger

	// afterConvert, if set (tests only; set before Start), runs after a segment's conversion
	// and before its swap.
	afterConvert func(ctx context.Context, path string)

	mu      sync.Mutex
	closed  bool
	running bool
	cancel  context.CancelFunc
	done    chan struct{} // closed when the running migration's goroutine has returned
	st      migrationStatus
}

// migrationStatus is what Progress reports; state "" means no run yet.
type migrationStatus struct {
	id        string
	state     string
	detail    string
	total, v3 int64
}

func newLiveMigration(n *Node) *liveMigration {
	return &liveMigration{n: n, walDir: filepath.Join(n.cfg.DataDir, "wal"), logger: n.logger}
}

// migLog is one log a migration converts.
type migLog struct {
	name string // "__meta" or "topic/partition"
	log  *storage.Log
}

// logs lists the metadata log and every open partition log.
func (m *liveMigration) logs() []migLog {
	var out []migLog
	if m.n.meta != nil {
		if l := m.n.meta.Log(); l != nil {
			out = append(out, migLog{name: "__meta", log: l})
		}
	}
	for _, pl := range m.n.logs.Logs() {
		out = append(out, migLog{name: fmt.Sprintf("%s/%d", pl.Topic, pl.Partition), log: pl.Log})
	}
	return out
}

// Start begins converting every V2 segment of the running standalone node (metadata log and
// every partition log) to V3 in the background and returns at once with the run's id
// ("wal-migration-<unix>"). workers <= 0 means 2. Every error is a failed precondition:
// cluster mode, a run already going, nothing to convert, or the node shutting down.
func (m *liveMigration) Start(workers int, skipErrors bool) (string, error) {
	if m.n.cluster != nil {
		return "", errMigrationCluster
	}
	if workers <= 0 {
		workers = 2
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closed:
		return "", errMigrationClosed
	case m.running:
		return "", fmt.Errorf("%w (%s)", errMigrationRunning, m.st.id)
	}
	nothing, err := m.nothingToDo()
	if err != nil {
		return "", err
	}
	if nothing {
		return "", errNothingToMigrate
	}
	if m.done != nil { // the previous run has set its result; let its goroutine end
		m.cancel()
		<-m.done
	}
	id := fmt.Sprintf("wal-migration-%d", time.Now().Unix())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	m.running, m.cancel, m.done = true, cancel, done
	m.st = migrationStatus{id: id, state: migrationRunning, detail: "switching logs to V3"}
	go m.run(ctx, id, workers, skipErrors, done)
	return id, nil
}

// nothingToDo reports whether every segment is V3 and every log writes V3 (and will after a
// restart: wal_format = 3 or the pin).
func (m *liveMigration) nothingToDo() (bool, error) {
	pin, err := m.n.logs.PinnedFormat()
	if err != nil {
		return false, err
	}
	if m.n.cfg.WALFormat != walcodec.V3 && pin != walcodec.V3 {
		return false, nil
	}
	for _, ml := range m.logs() {
		if ml.log.Config().Format != walcodec.V3 {
			return false, nil
		}
		for _, s := range ml.log.Segments() {
			if s.Size > 0 && s.HasVersion(walcodec.V2) {
				return false, nil
			}
		}
	}
	return true, nil
}

// Progress is this node's migration state for the console. Before any run it describes the
// WAL directory as it is (console.StandaloneMigration, which reads the file system).
func (m *liveMigration) Progress() console.MigrationNode {
	id := uint64(m.n.cfg.KafkaNodeID())
	m.mu.Lock()
	st := m.st
	m.mu.Unlock()
	if st.state == "" {
		format := m.n.cfg.WALFormat
		if pin, err := storage.ReadFormatPin(m.walDir); err == nil && pin > format {
			format = pin
		}
		return console.StandaloneMigration(id, m.walDir, format)
	}
	return console.MigrationNode{NodeID: id, SegmentsV3: st.v3, Total: st.total, State: st.state, Detail: st.detail}
}

// Close cancels a running migration and waits for it; later Starts fail. Call it before the
// node closes its logs.
func (m *liveMigration) Close() {
	m.mu.Lock()
	m.closed = true
	cancel, done := m.cancel, m.done
	m.mu.Unlock()
	if done != nil { // the last run's goroutine, finished or not
		cancel()
		<-done
	}
}

// migrationResult sums a run.
type migrationResult struct {
	segments, records, batches int64
	bytesIn, bytesOut          int64
	skipped                    []string // "path (reason)" of damaged segments left V2
}

// run is the migration goroutine (owned by the liveMigration: Close cancels and waits).
func (m *liveMigration) run(ctx context.Context, id string, workers int, skipErrors bool, done chan struct{}) {
	defer close(done)
	began := time.Now()
	m.logger.Info("WAL migration started", "id", id, "wal_dir", m.walDir, "workers", workers, "skip_errors", skipErrors, "live", true)
	res, err := m.migrate(ctx, workers, skipErrors)
	took := time.Since(began)
	total, v3 := m.count()

	st := migrationStatus{id: id, total: total, v3: v3}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("interrupted (node shutting down) after %d segments; start it again to convert the rest: %w", res.segments, err)
		}
		m.logger.Error("WAL migration failed", "id", id, "err", err, "segments_converted", res.segments)
		st.state, st.detail = migrationFailed, err.Error()
	} else {
		m.logger.Info(fmt.Sprintf("Converted %d records (V2 → V3)", res.records), "id", id,
			"segments", res.segments, "batches", res.batches, "bytes_in", res.bytesIn, "bytes_out", res.bytesOut)
		m.logger.Info(fmt.Sprintf("WAL migration complete (took %.1fs)", took.Seconds()), "id", id, "damaged_segments_left_v2", len(res.skipped))
		st.state = migrationDone
		st.detail = fmt.Sprintf("converted %d segments (%d records) in %.1fs; new records are written as V3 (pinned in %s)",
			res.segments, res.records, took.Seconds(), filepath.Join(m.walDir, storage.FormatPinFile))
		if len(res.skipped) > 0 {
			st.detail += fmt.Sprintf("; %d damaged segments left V2: %s", len(res.skipped), strings.Join(res.skipped, ", "))
		}
	}
	m.mu.Lock()
	m.st, m.running = st, false
	m.mu.Unlock()
}

// count is the number of segments holding records and of those without V2 records.
func (m *liveMigration) count() (total, v3 int64) {
	for _, ml := range m.logs() {
		for _, s := range ml.log.Segments() {
			if s.Size == 0 {
				continue
			}
			total++
			if !s.HasVersion(walcodec.V2) {
				v3++
			}
		}
	}
	return total, v3
}

func (m *liveMigration) setStatus(f func(st *migrationStatus)) {
	m.mu.Lock()
	f(&m.st)
	m.mu.Unlock()
}

// migJob is one sealed V2 segment to convert.
type migJob struct {
	log  migLog
	path string
	size int64
}

// migrate does the work of one run (see the comment at the top of the file).
func (m *liveMigration) migrate(ctx context.Context, workers int, skipErrors bool) (migrationResult, error) {
	var res migrationResult
	if err := walmigrate.RemoveTemps(m.walDir); err != nil {
		return res, err
	}
	if err := m.n.logs.PinFormat(walcodec.V3); err != nil {
		return res, err
	}
	m.logger.Info("new records are written as V3 from now on, also after a restart whatever wal_format says",
		"pin", filepath.Join(m.walDir, storage.FormatPinFile))
	skipped := map[string]bool{} // damaged segments (or logs) left as they are
	for pass := 1; ; pass++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		logs := m.logs()
		for _, ml := range logs {
			if err := ml.log.UpgradeFormat(walcodec.V3); err != nil {
				switch {
				case errors.Is(err, storage.ErrClosed): // deleted meanwhile
				case skipErrors:
					if !skipped[ml.name] {
						skipped[ml.name] = true
						res.skipped = append(res.skipped, fmt.Sprintf("log %s (%v)", ml.name, err))
						m.logger.Warn("WAL migration: log left as it is", "log", ml.name, "err", err)
					}
				default:
					return res, fmt.Errorf("log %s: %w", ml.name, err)
				}
			}
		}
		var todo []migJob
		var total, v3 int64
		for _, ml := range logs {
			for _, s := range ml.log.Segments() {
				if s.Size == 0 {
					continue
				}
				total++
				switch {
				case !s.HasVersion(walcodec.V2):
					v3++
				case !s.Active && !skipped[s.Path]:
					todo = append(todo, migJob{log: ml, path: s.Path, size: s.Size})
				}
			}
		}
		m.setStatus(func(st *migrationStatus) {
			st.total, st.v3 = total, v3
			st.detail = fmt.Sprintf("converting %d V2 segments (pass %d)", len(todo), pass)
		})
		if pass == 1 {
			m.logger.Info(fmt.Sprintf("Found %d V2 WAL segments", len(todo)), "wal_dir", m.walDir, "segments", total)
		}
		if len(todo) == 0 {
			return res, nil
		}
		if pass > maxMigrationPasses {
			return res, fmt.Errorf("%d V2 segments still changing after %d passes (e.g. %s)", len(todo), maxMigrationPasses, todo[0].path)
		}
		if pass > 1 {
			m.logger.Info(fmt.Sprintf("Found %d more V2 WAL segments", len(todo)), "pass", pass)
		}
		if err := m.convertAll(ctx, todo, workers, skipErrors, &res, skipped); err != nil {
			return res, err
		}
	}
}

// convertAll converts todo on workers goroutines; the first failure cancels the rest and is
// returned once all have stopped. res and skipped are updated under one lock.
func (m *liveMigration) convertAll(ctx context.Context, todo []migJob, workers int, skipErrors bool, res *migrationResult, skipped map[string]bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		next     int
		firstErr error
		wg       sync.WaitGroup
	)
	claim := func() (migJob, int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if next >= len(todo) || firstErr != nil {
			return migJob{}, 0, false
		}
		next++
		return todo[next-1], next - 1, true
	}
	for range min(workers, len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				job, i, ok := claim()
				if !ok {
					return
				}
				m.logger.Info(fmt.Sprintf("Converting segment %d/%d: %s", i, len(todo), job.path), "log", job.log.name, "bytes", job.size)
				st, err := m.convertOne(ctx, job)
				mu.Lock()
				var damage *walmigrate.DamageError
				switch {
				case err == nil:
					res.segments++
					res.records += st.Converted
					res.batches += st.Batches
					res.bytesIn += st.BytesIn
					res.bytesOut += st.BytesOut
					m.setStatus(func(s *migrationStatus) { s.v3++ })
				case errors.Is(err, storage.ErrSegmentChanged), errors.Is(err, fs.ErrNotExist), errors.Is(err, storage.ErrClosed):
					// Cut, deleted or closed under the conversion: the next pass looks again.
					m.logger.Debug("WAL migration: segment changed during its conversion", "path", job.path, "err", err)
				case skipErrors && errors.As(err, &damage):
					skipped[job.path] = true
					res.skipped = append(res.skipped, fmt.Sprintf("%s (%s)", job.path, damage.Reason()))
					m.logger.Warn("WAL migration: damaged segment left V2", "path", job.path, "reason", damage.Reason(), "err", err)
				case firstErr == nil:
					firstErr = err
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// convertOne converts one sealed segment and swaps it into its log.
func (m *liveMigration) convertOne(ctx context.Context, job migJob) (walmigrate.SegmentStats, error) {
	tmp := walmigrate.TempPath(job.path)
	st, err := walmigrate.ConvertSegment(ctx, job.path, tmp)
	if err != nil {
		return st, err
	}
	if m.afterConvert != nil {
		m.afterConvert(ctx, job.path)
	}
	if err := ctx.Err(); err != nil {
		_ = os.Remove(tmp)
		return st, err
	}
	if err := job.log.log.ReplaceSegment(job.path, job.size, tmp); err != nil {
		return st, err
	}
	return st, nil
}

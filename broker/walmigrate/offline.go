package walmigrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chronik-stream/chronik/broker/storage"
)

// Options configure an offline migration.
type Options struct {
	Input  string // WAL directory to read (e.g. /var/lib/chronik/data/wal); never modified
	Output string // new or empty directory, or one holding the resume marker of the same input
	// Workers converts this many segments in parallel (default 1).
	Workers int
	// SkipErrors keeps the good prefix of a damaged segment, drops the rest
	// and carries on, counting the damage instead of failing.
	SkipErrors bool
	// Out receives the operator's progress lines ("[INFO] …"); nil discards them.
	Out io.Writer
	// Progress, if set, is called after each segment (never concurrently).
	Progress func(Progress)
}

// Progress is the state after one more finished segment.
type Progress struct {
	Done, Total int
	Path        string // the input segment just finished
}

// Damage describes data a migration could not carry over: a skipped damaged
// record (and everything after it in its segment) or a torn tail.
type Damage struct {
	Path       string `json:"path"`
	Offset     int64  `json:"offset"`      // byte offset of the damaged or torn record
	Reason     string `json:"reason"`      // "InvalidChecksum at offset N", "torn tail at offset N", …
	KeptBytes  int64  `json:"kept_bytes"`  // input bytes converted before it
	LostBytes  int64  `json:"lost_bytes"`  // input bytes dropped from it to the end of the segment
	LastOffset int64  `json:"last_offset"` // last Kafka offset kept from the segment, -1 if none
}

// Stats summarise a migration.
type Stats struct {
	Segments   int   // segments written (offline) or converted (in place)
	V2Segments int   // input segments holding V2 records (or no valid first record)
	V3Segments int   // input segments already in V3 (offline: verified and copied)
	Files      int   // other files copied verbatim (offline)
	Records    int64 // WAL records converted from V2 to V3
	Batches    int64 // Kafka record batches carried over
	BytesIn    int64
	BytesOut   int64
	Errors     int      // damaged segments skipped with SkipErrors
	Damaged    []Damage // what was skipped
	TornTails  []Damage // torn tails dropped from partitions' last segments
	Duration   time.Duration
}

// Migrate converts every segment under opt.Input to V3 in opt.Output, with
// the same relative layout, copying other files (log-start-offset
// checkpoints, …) verbatim, and writes the operator lines of the migration
// guide to opt.Out:
//
//	[INFO] Found 1234 V2 WAL segments
//	[INFO] Converting with 4 workers
//	[INFO] Progress: 124/1234 segments (10.0%)
//	[INFO] Migration complete: 1234 segments, 0 errors
//	[INFO] Output: /var/lib/chronik/data/wal-v3
//
// A resume marker (StateFileName) in the output records each finished file;
// a rerun after a kill or an error finishes the job, and the marker is
// removed on completion. The first damaged segment stops the run with a
// *DamageError unless opt.SkipErrors. ctx cancellation stops it too (the
// marker stays, so a rerun resumes).
func Migrate(ctx context.Context, opt Options) (Stats, error) {
	began := time.Now()
	var stats Stats
	out := opt.Out
	if out == nil {
		out = io.Discard
	}
	input, output, err := checkDirs(opt.Input, opt.Output)
	if err != nil {
		return stats, err
	}
	// Paths in messages are as the operator gave them; the marker keeps the absolute input.
	t, err := scanRoot(filepath.Clean(opt.Input), true)
	if err != nil {
		return stats, err
	}
	if err := os.MkdirAll(output, 0o755); err != nil {
		return stats, fmt.Errorf("creating output directory: %w", err)
	}
	st, err := openState(output, stateHeader{Format: stateFormat, Input: input, Segments: len(t.Segments), Files: len(t.Files)})
	if err != nil {
		return stats, err
	}
	complete := false
	defer func() {
		if !complete {
			_ = st.close()
		}
	}()
	if err := removeTemps(output); err != nil {
		return stats, err
	}
	for _, s := range t.Segments {
		if s.needsConversion() || s.Empty {
			stats.V2Segments++
		} else {
			stats.V3Segments++
		}
	}
	workers := max(opt.Workers, 1)
	fmt.Fprintf(out, "[INFO] Found %d V2 WAL segments\n", stats.V2Segments)
	if stats.V3Segments > 0 {
		fmt.Fprintf(out, "[INFO] Found %d V3 WAL segments (verified and copied as they are)\n", stats.V3Segments)
	}
	fmt.Fprintf(out, "[INFO] Converting with %d workers\n", workers)

	dirs := newDirMaker(output)
	for _, d := range t.Dirs {
		if err := dirs.ensure(d); err != nil {
			return stats, err
		}
	}
	for _, rel := range t.Files {
		if _, ok := st.isDone(rel, output); ok {
			stats.Files++
			continue
		}
		if err := copyFile(filepath.Join(opt.Input, filepath.FromSlash(rel)), filepath.Join(output, filepath.FromSlash(rel))); err != nil {
			return stats, err
		}
		if err := st.markDone(stateEntry{Done: rel}); err != nil {
			return stats, err
		}
		stats.Files++
	}

	total := len(t.Segments)
	var todo []segmentFile
	done := 0
	for _, s := range t.Segments {
		if e, ok := st.isDone(s.Rel, output); ok {
			done++
			stats.Segments++
			stats.Records += e.Records
			if e.Damage != nil {
				stats.Errors++
				stats.Damaged = append(stats.Damaged, *e.Damage)
			}
			if e.Torn != nil {
				stats.TornTails = append(stats.TornTails, *e.Torn)
			}
			continue
		}
		todo = append(todo, s)
	}
	if done > 0 {
		fmt.Fprintf(out, "[INFO] Resuming: %d of %d segments were finished by an earlier run\n", done, total)
	}

	p := &progress{out: out, total: total, done: done, decile: decile(done, total), cb: opt.Progress}
	runErr := runWorkers(ctx, workers, todo, func(ctx context.Context, s segmentFile) error {
		dst := filepath.Join(output, filepath.FromSlash(s.Rel))
		res, err := convertSegment(ctx, s, dst+tmpSuffix, opt.SkipErrors)
		if err != nil {
			return err
		}
		if err := os.Rename(dst+tmpSuffix, dst); err != nil {
			return err
		}
		if err := storage.SyncDir(filepath.Dir(dst)); err != nil {
			return err
		}
		e := stateEntry{Done: s.Rel, Segment: true, Records: res.Converted}
		if res.Damage != nil {
			e.Damage = damageOf(s, res, res.Damage.Reason())
		}
		if res.Torn != nil {
			e.Torn = damageOf(s, res, fmt.Sprintf("torn tail at offset %d", res.Torn.Offset))
		}
		if err := st.markDone(e); err != nil {
			return err
		}
		p.finish(&stats, s, res, e)
		return nil
	})
	stats.Duration = time.Since(began)
	if runErr != nil {
		return stats, runErr
	}
	if err := st.remove(); err != nil {
		return stats, fmt.Errorf("removing the resume marker: %w", err)
	}
	complete = true
	if done == total && len(todo) == 0 && total > 0 && p.printed == 0 {
		p.line(total)
	}
	fmt.Fprintf(out, "[INFO] Migration complete: %d segments, %d errors\n", stats.Segments, stats.Errors)
	fmt.Fprintf(out, "[INFO] Output: %s\n", opt.Output)
	return stats, nil
}

// checkDirs resolves the directories and refuses overlapping ones.
func checkDirs(in, out string) (input, output string, err error) {
	if in == "" || out == "" {
		return "", "", errors.New("both an input and an output directory are required")
	}
	if input, err = filepath.Abs(in); err != nil {
		return "", "", err
	}
	if output, err = filepath.Abs(out); err != nil {
		return "", "", err
	}
	st, err := os.Stat(input)
	if err != nil {
		return "", "", fmt.Errorf("input: %w", err)
	}
	if !st.IsDir() {
		return "", "", fmt.Errorf("input %s is not a directory", in)
	}
	if within(output, input) || within(input, output) {
		return "", "", fmt.Errorf("input %s and output %s must not contain each other", in, out)
	}
	return input, output, nil
}

func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && (rel == "." || !strings.HasPrefix(rel, ".."))
}

func damageOf(s segmentFile, res segResult, reason string) *Damage {
	off := res.KeptBytes
	if res.Damage != nil {
		off = res.Damage.Offset
	} else if res.Torn != nil {
		off = res.Torn.Offset
	}
	return &Damage{Path: s.Path, Offset: off, Reason: reason, KeptBytes: res.KeptBytes, LostBytes: s.Size - res.KeptBytes, LastOffset: res.LastOff}
}

// progress prints the progress lines: whenever another tenth of the
// segments is done, and at the end.
type progress struct {
	mu      sync.Mutex
	out     io.Writer
	total   int
	done    int
	decile  int
	printed int
	cb      func(Progress)
}

func decile(done, total int) int {
	if total == 0 {
		return 0
	}
	return done * 10 / total
}

func (p *progress) line(done int) {
	fmt.Fprintf(p.out, "[INFO] Progress: %d/%d segments (%.1f%%)\n", done, p.total, float64(done)*100/float64(p.total))
	p.printed++
}

func (p *progress) finish(stats *Stats, s segmentFile, res segResult, e stateEntry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	stats.Segments++
	stats.Records += res.Converted
	stats.Batches += res.Batches
	stats.BytesIn += s.Size
	stats.BytesOut += res.OutBytes
	if e.Torn != nil {
		stats.TornTails = append(stats.TornTails, *e.Torn)
		fmt.Fprintf(p.out, "[WARN] Torn tail in %s at offset %d: %d bytes of an incomplete final record dropped (the broker truncates it on open too)\n",
			s.Path, e.Torn.Offset, e.Torn.LostBytes)
	}
	if e.Damage != nil {
		stats.Errors++
		stats.Damaged = append(stats.Damaged, *e.Damage)
		kept := "no record batch kept"
		if e.Damage.LastOffset >= 0 {
			kept = fmt.Sprintf("last good offset kept: %d", e.Damage.LastOffset)
		}
		fmt.Fprintf(p.out, "[WARN] Skipped damaged data in %s: %s; kept the first %d bytes (%s), dropped %d bytes\n",
			s.Path, e.Damage.Reason, e.Damage.KeptBytes, kept, e.Damage.LostBytes)
	}
	p.done++
	if d := decile(p.done, p.total); d > p.decile || p.done == p.total {
		p.decile = d
		p.line(p.done)
	}
	if p.cb != nil {
		p.cb(Progress{Done: p.done, Total: p.total, Path: s.Path})
	}
}

// runWorkers runs fn for each segment on n goroutines; the first error
// cancels the rest and is returned once every goroutine has stopped.
func runWorkers(ctx context.Context, n int, segs []segmentFile, fn func(context.Context, segmentFile) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan segmentFile)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	for range min(n, max(len(segs), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range jobs {
				if err := fn(ctx, s); err != nil {
					fail(err)
				}
			}
		}()
	}
feed:
	for _, s := range segs {
		select {
		case jobs <- s:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// dirMaker creates output directories once, fsyncing each new entry's parent.
type dirMaker struct {
	root string
	made map[string]bool
}

func newDirMaker(root string) *dirMaker {
	return &dirMaker{root: root, made: map[string]bool{"": true}}
}

func (d *dirMaker) ensure(rel string) error {
	if d.made[rel] {
		return nil
	}
	if err := d.ensure(pathDir(rel)); err != nil {
		return err
	}
	p := filepath.Join(d.root, filepath.FromSlash(rel))
	if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	if err := storage.SyncDir(filepath.Dir(p)); err != nil {
		return err
	}
	d.made[rel] = true
	return nil
}

// copyFile copies src to dst through a temporary file: write, fsync, rename,
// fsync the directory.
func copyFile(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + tmpSuffix
	_ = os.Remove(tmp)
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = out.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = io.Copy(out, in); err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	if err = out.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err = out.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, dst); err != nil {
		return err
	}
	return storage.SyncDir(filepath.Dir(dst))
}

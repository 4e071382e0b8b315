package walmigrate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/chronik-stream/chronik/broker/storage"
)

// StateFileName is the resume marker an offline migration keeps in its
// output directory until it completes: a JSON header line naming the input,
// then one JSON line per finished file. A rerun with the same input and
// output skips the finished files.
const StateFileName = ".chronik-migrate-state"

const stateFormat = "chronik-migrate-wal/1"

type stateHeader struct {
	Format   string `json:"format"`
	Input    string `json:"input"` // absolute input directory
	Segments int    `json:"segments"`
	Files    int    `json:"files"`
}

type stateEntry struct {
	Done    string  `json:"done"` // rel path
	Segment bool    `json:"segment,omitempty"`
	Damage  *Damage `json:"damage,omitempty"`
	Torn    *Damage `json:"torn,omitempty"`
	Records int64   `json:"records,omitempty"` // V2 records converted
}

// resumeState is the marker file of one run.
type resumeState struct {
	mu   sync.Mutex
	path string
	f    *os.File
	done map[string]stateEntry
}

// openState creates the marker in an empty output directory, or loads the
// one an interrupted run of the same input left. Any other non-empty
// output directory is refused.
func openState(output string, hdr stateHeader) (*resumeState, error) {
	path := filepath.Join(output, StateFileName)
	des, err := os.ReadDir(output)
	if err != nil {
		return nil, err
	}
	st := &resumeState{path: path, done: map[string]stateEntry{}}
	if len(des) > 0 {
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("output directory %s is not empty (it holds %s) and has no %s of an interrupted migration: choose a new or empty directory",
				output, des[0].Name(), StateFileName)
		}
		if err != nil {
			return nil, err
		}
		if err := st.load(b, hdr); err != nil {
			return nil, fmt.Errorf("output directory %s: %w", output, err)
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	st.f = f
	if len(des) == 0 {
		line, _ := json.Marshal(hdr)
		if err := st.append(line); err != nil {
			_ = f.Close()
			return nil, err
		}
		if err := storage.SyncDir(output); err != nil {
			_ = f.Close()
			return nil, err
		}
	}
	return st, nil
}

// load parses a marker; a torn last line (a kill during its write) is ignored.
func (st *resumeState) load(b []byte, want stateHeader) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	first := true
	for sc.Scan() {
		line := sc.Bytes()
		if first {
			first = false
			var hdr stateHeader
			if err := json.Unmarshal(line, &hdr); err != nil || hdr.Format != stateFormat {
				return fmt.Errorf("%s is not a migration resume marker", StateFileName)
			}
			if hdr.Input != want.Input {
				return fmt.Errorf("%s belongs to a migration of %s, not %s: choose a new or empty output directory", StateFileName, hdr.Input, want.Input)
			}
			if hdr.Segments != want.Segments || hdr.Files != want.Files {
				return fmt.Errorf("%s was written for %d segments and %d other files in %s, which now holds %d and %d: the input changed; start over in a new output directory",
					StateFileName, hdr.Segments, hdr.Files, want.Input, want.Segments, want.Files)
			}
			continue
		}
		var e stateEntry
		if err := json.Unmarshal(line, &e); err != nil || e.Done == "" {
			continue // torn last line
		}
		st.done[e.Done] = e
	}
	if first {
		return fmt.Errorf("%s is empty", StateFileName)
	}
	return sc.Err()
}

// isDone reports a file finished by an earlier run whose output still exists.
func (st *resumeState) isDone(rel, output string) (stateEntry, bool) {
	st.mu.Lock()
	e, ok := st.done[rel]
	st.mu.Unlock()
	if !ok {
		return e, false
	}
	if _, err := os.Stat(filepath.Join(output, filepath.FromSlash(rel))); err != nil {
		return e, false
	}
	return e, true
}

// markDone durably records a finished file.
func (st *resumeState) markDone(e stateEntry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.done[e.Done] = e
	return st.append(line)
}

func (st *resumeState) append(line []byte) error {
	if _, err := st.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("writing %s: %w", st.path, err)
	}
	if err := st.f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", st.path, err)
	}
	return nil
}

func (st *resumeState) close() error { return st.f.Close() }

// remove deletes the marker once the migration is complete.
func (st *resumeState) remove() error {
	if err := st.f.Close(); err != nil {
		return err
	}
	if err := os.Remove(st.path); err != nil {
		return err
	}
	return storage.SyncDir(filepath.Dir(st.path))
}

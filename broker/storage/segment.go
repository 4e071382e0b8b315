package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// entry indexes one durable Kafka batch in a segment.
type entry struct {
	base      int64 // base offset
	pos       int64 // file position of the batch bytes
	tsMax     int64 // max batch timestamp of the segment up to and including this batch
	lastDelta int32 // last offset - base offset
	size      int32 // batch bytes
}

func (e *entry) last() int64 { return e.base + int64(e.lastDelta) }

// segment is one segment file. Its mutable fields are guarded by Log.mu;
// entries is append-only, so a slice of it taken under the lock stays valid.
type segment struct {
	seq     uint64
	path    string
	f       *os.File
	size    int64   // durable bytes
	entries []entry // durable batches, in offset order
	created int64   // unix ms of the first record (0 while empty)
	version uint8   // walcodec version of the last record (0 while empty)
}

// maxTimestamp is the largest batch timestamp in the segment (-1 if none).
func (s *segment) maxTimestamp() int64 {
	if len(s.entries) == 0 {
		return -1
	}
	return s.entries[len(s.entries)-1].tsMax
}

// find is the index of the first entry whose last offset is >= offset
// (len(entries) if none).
func (s *segment) find(offset int64) int {
	return sort.Search(len(s.entries), func(i int) bool { return s.entries[i].last() >= offset })
}

// findTimestamp is the index of the first entry with a batch timestamp >= ts.
func (s *segment) findTimestamp(ts int64) int {
	return sort.Search(len(s.entries), func(i int) bool { return s.entries[i].tsMax >= ts })
}

// checkpointName is the file holding the log start offset.
const checkpointName = "log-start-offset"

// readCheckpoint returns the stored log start offset (ok=false if none).
func readCheckpoint(dir string) (offset int64, ok bool, err error) {
	path := filepath.Join(dir, checkpointName)
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("storage: read %s: %w", path, err)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || v < 0 {
		return 0, false, fmt.Errorf("storage: checkpoint %s holds %q, not an offset", path, b)
	}
	return v, true, nil
}

// writeCheckpoint replaces the log start offset checkpoint atomically: write
// a temporary file, fsync it, rename it over the old one, fsync the directory.
func writeCheckpoint(dir string, offset int64) error {
	path := filepath.Join(dir, checkpointName)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("storage: write checkpoint %s: %w", tmp, err)
	}
	_, err = f.WriteString(strconv.FormatInt(offset, 10) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("storage: write checkpoint %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("storage: install checkpoint %s: %w", path, err)
	}
	return SyncDir(dir)
}

// SyncDir makes entries created, renamed or removed in dir durable (an fsync of the
// directory itself). Every tool that renames files into a data dir uses it.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("storage: open directory %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("storage: fsync directory %s: %w", dir, err)
	}
	return nil
}

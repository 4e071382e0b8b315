package mirror

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/chronik-stream/chronik/broker/storage"
)

// Files in Config.Dir.
const (
	defsFileName     = "mirrors.json"
	checkpointSuffix = ".checkpoint.json"
	stateVersion     = 1
)

// Persisted mirror states (Status.State adds "starting").
const (
	stateStarting = "starting"
	stateRunning  = "running"
	stateStopped  = "stopped"
	stateFailed   = "failed"
)

// defsFile is <Dir>/mirrors.json: every mirror ever started and whether it should run.
type defsFile struct {
	Version int         `json:"version"`
	NextID  int         `json:"next_id"`
	Mirrors []mirrorDef `json:"mirrors"`
}

// mirrorDef is one mirror as persisted. State is "running", "stopped" or "failed";
// only "running" mirrors are resumed by Run.
type mirrorDef struct {
	ID         string `json:"id"`
	Source     string `json:"source"`
	TopicRegex string `json:"topic_regex"`
	State      string `json:"state"`
	Error      string `json:"error,omitempty"`
}

// checkpointFile is <Dir>/<id>.checkpoint.json: the progress of one mirror, written from
// the offsets the destination acknowledged.
type checkpointFile struct {
	Version    int                   `json:"version"`
	Records    int64                 `json:"records"`
	Partitions []partitionCheckpoint `json:"partitions"`
}

// partitionCheckpoint is one partition's progress and offset mapping.
type partitionCheckpoint struct {
	Topic               string     `json:"topic"`
	Partition           int32      `json:"partition"`
	NextSourceOffset    int64      `json:"next_source_offset"`
	NextDestOffset      int64      `json:"next_dest_offset"`
	SourceLogStart      int64      `json:"source_log_start"`
	SourceHighWatermark int64      `json:"source_high_watermark"`
	SyncPoints          [][2]int64 `json:"sync_points"` // [source offset, destination offset]
}

func checkpointPath(dir, id string) string { return filepath.Join(dir, id+checkpointSuffix) }

// loadDefs reads <dir>/mirrors.json; a missing file is an empty list.
func loadDefs(dir string) (defsFile, error) {
	var d defsFile
	path := filepath.Join(dir, defsFileName)
	if err := readJSON(path, &d); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return defsFile{Version: stateVersion, NextID: 1}, nil
		}
		return d, err
	}
	if d.Version != stateVersion {
		return d, fmt.Errorf("mirror state %s: unsupported version %d (want %d)", path, d.Version, stateVersion)
	}
	if d.NextID < 1 {
		d.NextID = 1
	}
	return d, nil
}

// loadCheckpoint reads the checkpoint of mirror id; a missing file is an empty checkpoint.
func loadCheckpoint(dir, id string) (checkpointFile, error) {
	var c checkpointFile
	path := checkpointPath(dir, id)
	if err := readJSON(path, &c); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return checkpointFile{Version: stateVersion}, nil
		}
		return c, err
	}
	if c.Version != stateVersion {
		return c, fmt.Errorf("mirror checkpoint %s: unsupported version %d (want %d)", path, c.Version, stateVersion)
	}
	for _, p := range c.Partitions {
		if err := p.validate(); err != nil {
			return c, fmt.Errorf("mirror checkpoint %s: %w", path, err)
		}
	}
	return c, nil
}

// validate checks the invariants translate relies on.
func (p partitionCheckpoint) validate() error {
	prev := [2]int64{-1, -1}
	for i, sp := range p.SyncPoints {
		if i > 0 && (sp[0] <= prev[0] || sp[1] < prev[1]) {
			return fmt.Errorf("partition %s[%d]: sync points not increasing at %v after %v", p.Topic, p.Partition, sp, prev)
		}
		prev = sp
	}
	if n := len(p.SyncPoints); n > 0 && (p.NextSourceOffset < prev[0] || p.NextDestOffset < prev[1]) {
		return fmt.Errorf("partition %s[%d]: next offsets %d→%d before the last sync point %v",
			p.Topic, p.Partition, p.NextSourceOffset, p.NextDestOffset, prev)
	}
	return nil
}

func (p partitionCheckpoint) offsetMap() offsetMap {
	m := offsetMap{nextSrc: p.NextSourceOffset, nextDst: p.NextDestOffset, syncs: make([]syncPoint, len(p.SyncPoints))}
	for i, sp := range p.SyncPoints {
		m.syncs[i] = syncPoint{Src: sp[0], Dst: sp[1]}
	}
	return m
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decoding %s: %w", path, err)
	}
	return nil
}

// writeJSON replaces dir/name atomically: temp file, fsync, rename, directory fsync.
func writeJSON(dir, name string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", name, err)
	}
	path := filepath.Join(dir, name)
	f, err := os.CreateTemp(dir, name+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err := f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("renaming %s to %s: %w", tmp, path, err)
	}
	ok = true
	return storage.SyncDir(dir)
}

// removeTemps deletes temp files a crash left behind.
func removeTemps(dir string) {
	tmps, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*"))
	for _, t := range tmps {
		_ = os.Remove(t)
	}
}

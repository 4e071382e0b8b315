package console

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/chronik-stream/chronik/walcodec"
)

// WALCounts counts the WAL segment files (wal_<partition>_<seq>.log) under a directory by the
// format of their first record. A segment whose first record is V2 counts as V2 even if later
// records are V3: it still holds data a V2 → V3 migration converts.
type WALCounts struct {
	V2, V3  int64
	Empty   int64 // no record yet (a freshly rolled segment)
	Other   int64 // first four bytes are neither magic
	Bytes   int64 // all segment bytes
	Largest int64 // largest segment, bytes
}

// Total is the number of segments holding at least one record.
func (c WALCounts) Total() int64 { return c.V2 + c.V3 + c.Other }

// ScanWAL reads the first four bytes of every segment file under dir. A missing dir counts as
// empty.
func ScanWAL(dir string) (WALCounts, error) {
	var c WALCounts
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		if _, _, ok := walcodec.ParseSegmentName(d.Name()); !ok {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed by retention meanwhile
		} else if err != nil {
			return err
		}
		c.Bytes += info.Size()
		c.Largest = max(c.Largest, info.Size())
		if info.Size() == 0 {
			c.Empty++
			return nil
		}
		magic, err := readMagic(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil
		case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			c.Other++
		case err != nil:
			return err
		case magic == walcodec.MagicV2:
			c.V2++
		case magic == walcodec.MagicV3:
			c.V3++
		default:
			c.Other++
		}
		return nil
	})
	if err != nil {
		return c, fmt.Errorf("scanning WAL segments under %s: %w", dir, err)
	}
	return c, nil
}

func readMagic(path string) (uint32, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var b [4]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(b[:]), nil
}

// StandaloneMigration describes one standalone node's WAL as migration progress: V3 segments
// of all segments; state "done" when no V2 segment is left, else "idle" (a running node does
// not convert: the conversion happens at start).
func StandaloneMigration(nodeID uint64, walDir string, format uint8) MigrationNode {
	c, err := ScanWAL(walDir)
	if err != nil {
		return MigrationNode{NodeID: nodeID, State: "failed", Detail: err.Error()}
	}
	m := MigrationNode{NodeID: nodeID, SegmentsV3: c.V3, Total: c.Total()}
	switch {
	case c.V2 == 0:
		m.State = "done"
		m.Detail = fmt.Sprintf("all %d segments are V3", c.V3)
		if c.Total() == 0 {
			m.Detail = "no WAL segments yet"
		}
	case format == walcodec.V2:
		m.State = "idle"
		m.Detail = fmt.Sprintf("%d V2 segments; wal_format = 2 keeps writing V2 (rollback to v1.x stays possible)", c.V2)
	default:
		m.State = "idle"
		m.Detail = fmt.Sprintf("%d V2 segments left: converted at the next start (`chronik-server cluster --migrate-wal`) or offline (`chronik-server migrate-wal`)", c.V2)
	}
	if c.Other > 0 {
		m.Detail += fmt.Sprintf("; %d segments with an unknown first record", c.Other)
	}
	return m
}

package walmigrate

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/chronik-stream/chronik/walcodec"
)

// tmpSuffix marks a segment or file being written; a later run removes it.
const tmpSuffix = ".migrate-tmp"

// metaDir is the metadata log's directory under the WAL root; it is
// converted first.
const metaDir = "__meta"

// segmentFile is one segment found under a WAL root.
type segmentFile struct {
	Rel     string // path relative to the root, slash-separated
	Path    string // root joined with Rel
	Size    int64
	Seq     uint64
	Version uint8 // of the first record: walcodec.V2, walcodec.V3, 0 for an empty file or unknown bytes
	Empty   bool
	Last    bool // the highest sequence of its directory: a torn tail there is a crash, not damage
}

// needsConversion: the segment starts with a V2 record or with bytes that are
// no record at all (conversion then reports the damage).
func (s *segmentFile) needsConversion() bool { return !s.Empty && s.Version != walcodec.V3 }

// tree is what scanRoot found.
type tree struct {
	Segments []segmentFile // __meta first, then by directory and sequence
	Files    []string      // other regular files (rel)
	Dirs     []string      // every directory below the root (rel), parents first
}

// scanRoot walks a WAL root. Temporary files of an interrupted run and the
// resume marker are not part of the tree. Symlinks and other special files
// are refused when strict (an offline copy would silently miss what they
// point to) and skipped otherwise (in place, what they point to stays
// readable as V2).
func scanRoot(root string, strict bool) (tree, error) {
	var t tree
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			t.Dirs = append(t.Dirs, rel)
			return nil
		case !d.Type().IsRegular():
			if !strict {
				return nil
			}
			return fmt.Errorf("%s is not a regular file or directory (%s): migrate what it points to separately", p, d.Type())
		case strings.HasSuffix(d.Name(), tmpSuffix) || rel == StateFileName:
			return nil
		}
		_, seq, ok := walcodec.ParseSegmentName(d.Name())
		if !ok {
			t.Files = append(t.Files, rel)
			return nil
		}
		s, err := probeSegment(p)
		if err != nil {
			return err
		}
		s.Rel, s.Seq = rel, seq
		t.Segments = append(t.Segments, s)
		return nil
	})
	if err != nil {
		return tree{}, fmt.Errorf("scanning %s: %w", root, err)
	}
	slices.SortFunc(t.Segments, func(a, b segmentFile) int {
		da, db := pathDir(a.Rel), pathDir(b.Rel)
		return cmp.Or(
			cmp.Compare(metaRank(da), metaRank(db)), // __meta first
			cmp.Compare(da, db),
			cmp.Compare(a.Seq, b.Seq))
	})
	for i := range t.Segments {
		next := i + 1
		t.Segments[i].Last = next == len(t.Segments) || pathDir(t.Segments[next].Rel) != pathDir(t.Segments[i].Rel)
	}
	return t, nil
}

func metaRank(dir string) int {
	if topDir(dir) == metaDir {
		return 0
	}
	return 1
}

func pathDir(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return ""
}

func topDir(rel string) string {
	top, _, _ := strings.Cut(rel, "/")
	return top
}

// probeSegment reads a segment's size and the version of its first record.
func probeSegment(path string) (segmentFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return segmentFile{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return segmentFile{}, err
	}
	s := segmentFile{Path: path, Size: st.Size(), Empty: st.Size() == 0}
	var hdr [5]byte
	if _, err := io.ReadFull(f, hdr[:]); err == nil {
		switch magic := binary.BigEndian.Uint32(hdr[:]); {
		case magic == walcodec.MagicV2 && hdr[4] == walcodec.V2:
			s.Version = walcodec.V2
		case magic == walcodec.MagicV3 && hdr[4] == walcodec.V3:
			s.Version = walcodec.V3
		}
	}
	return s, nil
}

// removeTemps deletes the temporary files an interrupted run left under root.
func removeTemps(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), tmpSuffix) {
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("removing a temporary file of an interrupted migration: %w", err)
			}
		}
		return nil
	})
}

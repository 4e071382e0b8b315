package backup

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/chronik-stream/chronik/broker/meta"
	"github.com/chronik-stream/chronik/walcodec"
)

// metaDirName is the metadata log's directory under the WAL root.
const metaDirName = "__meta"

// logDir is one log directory of a source: its segments and checkpoint.
type logDir struct {
	dir        string // "wal/orders/0"
	topic      string
	partition  int32
	segments   []int // indexes into Source.Files, in sequence order
	seqs       []uint64
	checkpoint int // index of the log-start-offset file, -1 if none
}

// analysis is what reading every segment of a source found.
type analysis struct {
	sizes      []int64 // per Source.Files index: bytes to archive (torn tails left out)
	partitions []Partition
	store      *meta.Store // the replayed metadata log (nil if the source has none)
	versions   [4]int      // WAL records per version
	warnings   []string
}

// analyze reads every segment of src, verifying each record's checksum,
// replays the metadata log and computes each partition's offsets the way a
// broker recovers them. Damage other than a torn final record of a log's
// last segment fails it.
func analyze(src *Source) (*analysis, error) {
	a := &analysis{sizes: make([]int64, len(src.Files))}
	dirs := map[string]*logDir{}
	for i, f := range src.Files {
		a.sizes[i] = f.Size
		dir, name := path.Split(f.Path)
		dir = strings.TrimSuffix(dir, "/")
		ld := dirs[dir]
		newDir := func() *logDir {
			if ld == nil {
				ld = &logDir{dir: dir, checkpoint: -1}
				dirs[dir] = ld
			}
			return ld
		}
		if p, seq, ok := walcodec.ParseSegmentName(name); ok {
			ld = newDir()
			ld.partition = p
			ld.segments = append(ld.segments, i)
			ld.seqs = append(ld.seqs, seq)
		} else if name == checkpointName {
			newDir().checkpoint = i
		}
	}
	order := make([]*logDir, 0, len(dirs))
	for _, ld := range dirs {
		if len(ld.segments) == 0 && ld.checkpoint < 0 {
			continue
		}
		rel := strings.TrimPrefix(ld.dir, walDirName+"/")
		switch t, p, ok := strings.Cut(rel, "/"); {
		case rel == metaDirName:
			ld.topic = metaDirName
		case ok && !strings.Contains(p, "/"):
			n, err := strconv.ParseInt(p, 10, 32)
			if err != nil {
				continue
			}
			ld.topic, ld.partition = t, int32(n)
		default:
			continue // not a log directory (e.g. raft state): archived, not analysed
		}
		// Sort segments by sequence number (names are zero-padded, but
		// sequences past 99,999,999 have more digits).
		idx := make([]int, len(ld.segments))
		for k := range idx {
			idx[k] = k
		}
		slices.SortFunc(idx, func(x, y int) int { return cmp.Compare(ld.seqs[x], ld.seqs[y]) })
		segs := make([]int, len(idx))
		for k, j := range idx {
			segs[k] = ld.segments[j]
		}
		ld.segments = segs
		order = append(order, ld)
	}
	slices.SortFunc(order, func(x, y *logDir) int { return strings.Compare(x.dir, y.dir) })

	for _, ld := range order {
		p, err := a.readLog(src, ld)
		if err != nil {
			return nil, err
		}
		if want, ok := src.expectHWM[ld.dir]; ok && want != p.HighWatermark {
			return nil, fmt.Errorf("backup: %s: the archived bytes end at offset %d but the captured high watermark is %d", ld.dir, p.HighWatermark, want)
		}
		if ld.topic != metaDirName {
			a.partitions = append(a.partitions, p)
		}
	}
	slices.SortFunc(a.partitions, func(x, y Partition) int {
		return cmp.Or(strings.Compare(x.Topic, y.Topic), cmp.Compare(x.Partition, y.Partition))
	})
	return a, nil
}

// readLog reads one log directory's segments.
func (a *analysis) readLog(src *Source, ld *logDir) (Partition, error) {
	ckpt := int64(-1)
	if ld.checkpoint >= 0 {
		f := src.Files[ld.checkpoint]
		b := make([]byte, min(f.Size, 64))
		if _, err := f.Data.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
			return Partition{}, fmt.Errorf("backup: reading %s: %w", f.Path, err)
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || v < 0 {
			return Partition{}, fmt.Errorf("backup: %s holds %q, not an offset", f.Path, b)
		}
		ckpt = v
	}
	isMeta := ld.topic == metaDirName
	type metaBatch struct {
		last  int64
		batch []byte
	}
	var metaBatches []metaBatch
	p := Partition{Topic: ld.topic, Partition: ld.partition, Segments: len(ld.segments)}
	first, next := int64(-1), int64(0)
	for k, i := range ld.segments {
		f := src.Files[i]
		last := k == len(ld.segments)-1
		sr := walcodec.NewSegmentReader(f.Path, f.Data, f.Size, walcodec.ReadAny)
		for {
			rec, pos, err := sr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				var torn *walcodec.TornTailError
				var corrupt *walcodec.CorruptError
				if last && (errors.As(err, &torn) || errors.As(err, &corrupt) && zeroTail(f.Data, pos, f.Size)) {
					a.sizes[i] = pos
					a.warnings = append(a.warnings, fmt.Sprintf("%s: torn final record at offset %d left out (%d bytes)", f.Path, pos, f.Size-pos))
					break
				}
				return Partition{}, fmt.Errorf("backup: %w", err)
			}
			a.versions[min(int(rec.Version), 3)]++
			for _, c := range rec.Canonical {
				if first < 0 {
					first = c.BaseOffset
				}
				next = c.LastOffset() + 1
				if isMeta {
					metaBatches = append(metaBatches, metaBatch{last: c.LastOffset(), batch: c.Batch})
				}
			}
		}
		p.Bytes += a.sizes[i]
	}
	// As storage recovery: the checkpoint keeps the next offset when every
	// batch was deleted and bounds the log start.
	next = max(next, ckpt)
	start := next
	if first >= 0 {
		start = first
	}
	start = min(max(start, ckpt), next)
	p.HighWatermark, p.LogStartOffset = next, start
	if isMeta {
		a.store = meta.NewStore(slog.New(slog.DiscardHandler))
		for _, mb := range metaBatches {
			if mb.last < start {
				continue
			}
			if err := a.store.Apply(mb.batch); err != nil {
				return Partition{}, fmt.Errorf("backup: replaying the metadata log %s: %w", ld.dir, err)
			}
		}
	}
	return p, nil
}

// zeroTail reports whether bytes [pos, size) of r are all zero (a crash after
// the file grew leaves that; a broker truncates it on open).
func zeroTail(r io.ReaderAt, pos, size int64) bool {
	buf := make([]byte, min(size-pos, 64<<10))
	for pos < size {
		n := int(min(int64(len(buf)), size-pos))
		if m, _ := r.ReadAt(buf[:n], pos); m < n {
			return false
		}
		for _, c := range buf[:n] {
			if c != 0 {
				return false
			}
		}
		pos += int64(n)
	}
	return true
}

// fill completes a manifest from the analysis.
func (a *analysis) fill(m *Manifest) {
	m.Partitions = a.partitions
	m.Warnings = a.warnings
	switch {
	case a.versions[3] > 0:
		m.WALFormat = walcodec.V3
	case a.versions[2] > 0:
		m.WALFormat = walcodec.V2
	}
	m.Topics, m.Groups = []Topic{}, []Group{}
	if a.store == nil {
		return
	}
	for _, t := range a.store.Topics() {
		m.Topics = append(m.Topics, Topic{Name: t.Name, ID: formatUUID(t.ID), Partitions: t.Partitions, ReplicationFactor: t.ReplicationFactor, Configs: t.Configs})
	}
	for _, g := range a.store.Groups() {
		grp := Group{Name: g.Name, Offsets: []GroupOffset{}}
		for _, o := range a.store.GroupOffsets(g.Name) {
			grp.Offsets = append(grp.Offsets, GroupOffset{Topic: o.Topic, Partition: o.Partition, Offset: o.Offset, Metadata: o.Metadata})
		}
		m.Groups = append(m.Groups, grp)
	}
}

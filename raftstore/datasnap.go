package raftstore

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/chronik-stream/chronik/broker/storage"
)

// Data-group snapshots. A data group's state is its partition logs, so a snapshot is a
// manifest of segment files plus their bytes; taking one must not copy the data.
//
// The FSM (datafsm.go) hard-links every segment of the group's partitions into a staging
// directory after syncing the logs, and Persist writes a link manifest (magic linkMagic,
// naming the staged files) to the sink. The store turns that into a snapshot directory holding
// the links: no bytes are copied, and later appends to an active segment are beyond the sizes
// the manifest records.
//
// Open streams a snapshot as
//
//	streamMagic (8 bytes) | manifest length u32 | manifest JSON | each file's first Size bytes
//
// which is what InstallSnapshot carries to a follower; the follower's sink stores that stream
// as is (stream.bin), and Restore reads the files out of it at their offsets.
const (
	linkMagic   = "CHRDLNK1"
	streamMagic = "CHRDSNP1"
	// maxManifestBytes bounds a manifest read from the network or disk.
	maxManifestBytes = 64 << 20
)

// dataManifest describes the partitions of one data-group snapshot.
type dataManifest struct {
	Group int `json:"group"`
	// Origin is the node that took the snapshot from its own logs.
	Origin uint64 `json:"origin"`
	// MetaIndex is the metadata state the snapshot was taken against: a replica restores it
	// once its own metadata has reached that index (it knows the topics).
	MetaIndex  uint64         `json:"meta_index"`
	Partitions []partManifest `json:"partitions"`
}

// partManifest is one partition log in a snapshot.
type partManifest struct {
	Topic          string     `json:"topic"`
	TopicID        string     `json:"topic_id"`
	Partition      int32      `json:"partition"`
	LastRaftIndex  uint64     `json:"last_raft_index"`
	HighWatermark  int64      `json:"high_watermark"`
	LogStartOffset int64      `json:"log_start_offset"`
	HasCheckpoint  bool       `json:"has_checkpoint"`
	Files          []snapFile `json:"files"`
}

// snapFile is one segment file: its name in the partition directory and the bytes covered.
type snapFile struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	// Path is the staged hard link (link manifests only).
	Path string `json:"path,omitempty"`
}

func (m *dataManifest) dataBytes() int64 {
	var n int64
	for _, p := range m.Partitions {
		for _, f := range p.Files {
			n += f.Size
		}
	}
	return n
}

// streamManifest is the manifest as streamed (no local paths).
func (m *dataManifest) streamManifest() dataManifest {
	out := dataManifest{Group: m.Group, Origin: m.Origin, MetaIndex: m.MetaIndex, Partitions: make([]partManifest, len(m.Partitions))}
	for i, p := range m.Partitions {
		p.Files = slices.Clone(p.Files)
		for j := range p.Files {
			p.Files[j].Path = ""
		}
		out.Partitions[i] = p
	}
	return out
}

func encodeManifest(magic string, m dataManifest) ([]byte, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding snapshot manifest: %w", err)
	}
	b := make([]byte, 0, len(magic)+4+len(body))
	b = append(b, magic...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(body)))
	return append(b, body...), nil
}

// readManifest reads a manifest header with the given magic from r.
func readManifest(r io.Reader, magic string) (dataManifest, int64, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return dataManifest{}, 0, fmt.Errorf("reading snapshot header: %w", err)
	}
	if string(hdr[:8]) != magic {
		return dataManifest{}, 0, fmt.Errorf("snapshot header %q, want %q", hdr[:8], magic)
	}
	n := binary.BigEndian.Uint32(hdr[8:])
	if n > maxManifestBytes {
		return dataManifest{}, 0, fmt.Errorf("snapshot manifest of %d bytes exceeds %d", n, maxManifestBytes)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return dataManifest{}, 0, fmt.Errorf("reading snapshot manifest: %w", err)
	}
	var m dataManifest
	if err := json.Unmarshal(body, &m); err != nil {
		return dataManifest{}, 0, fmt.Errorf("decoding snapshot manifest: %w", err)
	}
	for _, p := range m.Partitions {
		for _, f := range p.Files {
			if f.Size < 0 || f.Name == "" || strings.ContainsAny(f.Name, "/\\") || f.Name == "." || f.Name == ".." {
				return dataManifest{}, 0, fmt.Errorf("snapshot manifest: invalid file %q of %d bytes", f.Name, f.Size)
			}
		}
	}
	return m, int64(len(hdr)) + int64(n), nil
}

// dataSnapshotStore is the raft.SnapshotStore of a data group: see the comment at the top of
// this file. It keeps the newest `retain` snapshots.
type dataSnapshotStore struct {
	dir    string
	retain int
	logger *slog.Logger
	mu     sync.Mutex
}

const (
	snapMetaFile     = "meta.json"
	snapManifestFile = "manifest.json"
	snapStreamFile   = "stream.bin"
	snapFilesDir     = "files"
	snapTmpSuffix    = ".tmp"
)

func openDataSnapshotStore(dir string, retain int, logger *slog.Logger) (*dataSnapshotStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating data snapshot dir %s: %w", dir, err)
	}
	// Leftovers of snapshots interrupted by a crash.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading data snapshot dir %s: %w", dir, err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), snapTmpSuffix) {
			_ = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
	return &dataSnapshotStore{dir: dir, retain: max(retain, 1), logger: logger}, nil
}

func snapshotID(term, index uint64) string {
	return fmt.Sprintf("%d-%d-%d", term, index, time.Now().UnixMilli())
}

func (s *dataSnapshotStore) Create(version raft.SnapshotVersion, index, term uint64, configuration raft.Configuration,
	configurationIndex uint64, _ raft.Transport) (raft.SnapshotSink, error) {
	if version != 1 {
		return nil, fmt.Errorf("data snapshot store: unsupported snapshot version %d", version)
	}
	id := snapshotID(term, index)
	tmp := filepath.Join(s.dir, id+snapTmpSuffix)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("creating snapshot %s: %w", tmp, err)
	}
	return &dataSink{
		store: s,
		tmp:   tmp,
		final: filepath.Join(s.dir, id),
		meta: raft.SnapshotMeta{
			Version: version, ID: id, Index: index, Term: term,
			Configuration: configuration, ConfigurationIndex: configurationIndex,
		},
	}, nil
}

// List returns the retained snapshots, newest first.
func (s *dataSnapshotStore) List() ([]*raft.SnapshotMeta, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := s.listLocked()
	if err != nil {
		return nil, err
	}
	if len(all) > s.retain {
		all = all[:s.retain]
	}
	return all, nil
}

func (s *dataSnapshotStore) listLocked() ([]*raft.SnapshotMeta, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("listing data snapshots in %s: %w", s.dir, err)
	}
	var out []*raft.SnapshotMeta
	for _, e := range entries {
		if !e.IsDir() || strings.HasSuffix(e.Name(), snapTmpSuffix) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.dir, e.Name(), snapMetaFile))
		if err != nil {
			s.logger.Warn("skipping unreadable data snapshot", "dir", filepath.Join(s.dir, e.Name()), "err", err)
			continue
		}
		var m raft.SnapshotMeta
		if err := json.Unmarshal(b, &m); err != nil {
			s.logger.Warn("skipping unreadable data snapshot", "dir", filepath.Join(s.dir, e.Name()), "err", err)
			continue
		}
		out = append(out, &m)
	}
	slices.SortFunc(out, func(a, b *raft.SnapshotMeta) int {
		switch {
		case a.Term != b.Term:
			return cmpU64(b.Term, a.Term)
		case a.Index != b.Index:
			return cmpU64(b.Index, a.Index)
		default:
			return strings.Compare(b.ID, a.ID)
		}
	})
	return out, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// reap removes snapshots beyond the newest retain.
func (s *dataSnapshotStore) reap() {
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := s.listLocked()
	if err != nil {
		return
	}
	for i := s.retain; i < len(all); i++ {
		if err := os.RemoveAll(filepath.Join(s.dir, all[i].ID)); err != nil {
			s.logger.Warn("removing an old data snapshot failed", "id", all[i].ID, "err", err)
		}
	}
}

// Open returns the snapshot as the stream InstallSnapshot sends (see the top of this file).
// The reader is a *dataSnapReader, which Restore uses to read files at their offsets.
func (s *dataSnapshotStore) Open(id string) (*raft.SnapshotMeta, io.ReadCloser, error) {
	dir := filepath.Join(s.dir, id)
	b, err := os.ReadFile(filepath.Join(dir, snapMetaFile))
	if err != nil {
		return nil, nil, fmt.Errorf("opening data snapshot %s: %w", id, err)
	}
	var meta raft.SnapshotMeta
	if err := json.Unmarshal(b, &meta); err != nil {
		return nil, nil, fmt.Errorf("opening data snapshot %s: %w", id, err)
	}
	r, err := openDataSnapReader(dir)
	if err != nil {
		return nil, nil, err
	}
	if r.size != meta.Size {
		_ = r.Close()
		return nil, nil, fmt.Errorf("data snapshot %s: %d bytes on disk, %d recorded", id, r.size, meta.Size)
	}
	return &meta, r, nil
}

// dataSink receives a snapshot: a link manifest from the FSM, or a stream from the leader.
type dataSink struct {
	store  *dataSnapshotStore
	tmp    string
	final  string
	meta   raft.SnapshotMeta
	head   []byte // the first bytes, until the kind is known
	stream *os.File
	sw     *bufio.Writer
	linked bool // a link manifest was received
	size   int64
	done   bool
}

func (k *dataSink) ID() string { return k.meta.ID }

func (k *dataSink) Write(p []byte) (int, error) {
	if k.stream != nil {
		n, err := k.sw.Write(p)
		k.size += int64(n)
		return n, err
	}
	k.head = append(k.head, p...)
	if len(k.head) < len(streamMagic) {
		return len(p), nil
	}
	switch string(k.head[:len(streamMagic)]) {
	case linkMagic:
		return len(p), nil // buffered until Close: manifests are small
	case streamMagic:
		f, err := os.OpenFile(filepath.Join(k.tmp, snapStreamFile), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return 0, fmt.Errorf("data snapshot %s: %w", k.meta.ID, err)
		}
		k.stream, k.sw = f, bufio.NewWriterSize(f, 1<<20)
		head := k.head
		k.head = nil
		if _, err := k.sw.Write(head); err != nil {
			return 0, err
		}
		k.size += int64(len(head))
		return len(p), nil
	default:
		return 0, fmt.Errorf("data snapshot %s: unknown header %q", k.meta.ID, k.head[:len(streamMagic)])
	}
}

// Close finishes the snapshot: links staged files (link manifest) or syncs the stream, writes
// meta.json, renames the directory into place and reaps old snapshots.
func (k *dataSink) Close() error {
	if k.done {
		return nil
	}
	k.done = true
	if err := k.finish(); err != nil {
		_ = os.RemoveAll(k.tmp)
		return err
	}
	k.store.reap()
	return nil
}

func (k *dataSink) finish() error {
	switch {
	case k.stream != nil:
		if err := k.sw.Flush(); err != nil {
			_ = k.stream.Close()
			return fmt.Errorf("data snapshot %s: %w", k.meta.ID, err)
		}
		if err := k.stream.Sync(); err != nil {
			_ = k.stream.Close()
			return fmt.Errorf("data snapshot %s: %w", k.meta.ID, err)
		}
		if err := k.stream.Close(); err != nil {
			return fmt.Errorf("data snapshot %s: %w", k.meta.ID, err)
		}
		// Validate the manifest now, so that a broken stream fails here and not at Restore.
		r, err := openDataSnapReader(k.tmp)
		if err != nil {
			return err
		}
		_ = r.Close()
		if r.size != k.size {
			return fmt.Errorf("data snapshot %s: stream of %d bytes, manifest covers %d", k.meta.ID, k.size, r.size)
		}
	case len(k.head) >= len(linkMagic) && string(k.head[:len(linkMagic)]) == linkMagic:
		m, _, err := readManifest(bytes.NewReader(k.head), linkMagic)
		if err != nil {
			return err
		}
		if err := k.adopt(m); err != nil {
			return err
		}
	default:
		return fmt.Errorf("data snapshot %s: incomplete (%d bytes)", k.meta.ID, len(k.head))
	}
	k.meta.Size = k.size
	b, err := json.Marshal(k.meta)
	if err != nil {
		return err
	}
	if err := writeFileSync(filepath.Join(k.tmp, snapMetaFile), b); err != nil {
		return fmt.Errorf("data snapshot %s: %w", k.meta.ID, err)
	}
	if err := storage.SyncDir(k.tmp); err != nil {
		return fmt.Errorf("data snapshot %s: %w", k.meta.ID, err)
	}
	if err := os.Rename(k.tmp, k.final); err != nil {
		return fmt.Errorf("data snapshot %s: %w", k.meta.ID, err)
	}
	return storage.SyncDir(k.store.dir)
}

// adopt moves the staged hard links of a link manifest into the snapshot and writes its
// stream manifest.
func (k *dataSink) adopt(m dataManifest) error {
	filesDir := filepath.Join(k.tmp, snapFilesDir)
	for pi, p := range m.Partitions {
		pdir := filepath.Join(filesDir, fmt.Sprintf("%d", pi))
		if err := os.MkdirAll(pdir, 0o755); err != nil {
			return err
		}
		for _, f := range p.Files {
			if err := os.Rename(f.Path, filepath.Join(pdir, f.Name)); err != nil {
				return fmt.Errorf("data snapshot %s: adopting %s: %w", k.meta.ID, f.Path, err)
			}
		}
	}
	sm := m.streamManifest()
	hdr, err := encodeManifest(streamMagic, sm)
	if err != nil {
		return err
	}
	if err := writeFileSync(filepath.Join(k.tmp, snapManifestFile), hdr); err != nil {
		return err
	}
	k.size = int64(len(hdr)) + m.dataBytes()
	return nil
}

// Cancel abandons the snapshot.
func (k *dataSink) Cancel() error {
	if k.done {
		return nil
	}
	k.done = true
	if k.stream != nil {
		_ = k.stream.Close()
	}
	return os.RemoveAll(k.tmp)
}

// dataSnapReader streams a stored snapshot.
type dataSnapReader struct {
	manifest dataManifest
	size     int64
	r        io.Reader
	closers  []io.Closer
}

func openDataSnapReader(dir string) (*dataSnapReader, error) {
	if f, err := os.Open(filepath.Join(dir, snapStreamFile)); err == nil {
		st, err := f.Stat()
		if err != nil {
			_ = f.Close()
			return nil, err
		}
		m, hdrLen, err := readManifest(io.NewSectionReader(f, 0, st.Size()), streamMagic)
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("data snapshot %s: %w", dir, err)
		}
		size := hdrLen + m.dataBytes()
		if size > st.Size() {
			_ = f.Close()
			return nil, fmt.Errorf("data snapshot %s: stream of %d bytes is shorter than its manifest (%d)", dir, st.Size(), size)
		}
		return &dataSnapReader{manifest: m, size: size, r: io.NewSectionReader(f, 0, size), closers: []io.Closer{f}}, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	hdr, err := os.ReadFile(filepath.Join(dir, snapManifestFile))
	if err != nil {
		return nil, fmt.Errorf("data snapshot %s: %w", dir, err)
	}
	m, _, err := readManifest(bytes.NewReader(hdr), streamMagic)
	if err != nil {
		return nil, fmt.Errorf("data snapshot %s: %w", dir, err)
	}
	sr := &dataSnapReader{manifest: m, size: int64(len(hdr))}
	readers := []io.Reader{bytes.NewReader(hdr)}
	for pi, p := range m.Partitions {
		for _, fl := range p.Files {
			f, err := os.Open(filepath.Join(dir, snapFilesDir, fmt.Sprintf("%d", pi), fl.Name))
			if err != nil {
				_ = sr.Close()
				return nil, fmt.Errorf("data snapshot %s: %w", dir, err)
			}
			sr.closers = append(sr.closers, f)
			readers = append(readers, &exactReader{r: io.NewSectionReader(f, 0, fl.Size), left: fl.Size, name: f.Name()})
			sr.size += fl.Size
		}
	}
	sr.r = io.MultiReader(readers...)
	return sr, nil
}

func (r *dataSnapReader) Read(p []byte) (int, error) { return r.r.Read(p) }

func (r *dataSnapReader) Close() error {
	var errs []error
	for _, c := range r.closers {
		errs = append(errs, c.Close())
	}
	r.closers = nil
	return errors.Join(errs...)
}

// exactReader fails when its file holds fewer bytes than the manifest records.
type exactReader struct {
	r    io.Reader
	left int64
	name string
}

func (e *exactReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if errors.Is(err, io.EOF) && e.left > 0 {
		return n, fmt.Errorf("snapshot file %s is %d bytes short: %w", e.name, e.left, io.ErrUnexpectedEOF)
	}
	return n, err
}

func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

var _ raft.SnapshotStore = (*dataSnapshotStore)(nil)

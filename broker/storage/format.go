package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/chronik-stream/chronik/walcodec"
)

// FormatPinFile is the file in a WAL root (<data_dir>/wal) that pins the
// version of records written under it: a decimal walcodec version ("3\n"),
// replaced atomically. A live WAL migration writes it before switching any
// log to V3; from then on every log of the root writes that version even when
// the configured format (wal_format) is lower, so a restart with wal_format = 2
// does not add V2 segments to a V3 directory. Delete the file to let wal_format
// decide again.
const FormatPinFile = "wal-format"

// ErrSegmentChanged is returned (wrapped) by ReplaceSegment when the segment
// is no longer the one the replacement was made from: deleted by retention,
// cut by SetHighWatermark, or still the active segment.
var ErrSegmentChanged = errors.New("storage: segment changed since it was listed")

// ReadFormatPin returns the version pinned in root (0 if no pin file).
func ReadFormatPin(root string) (uint8, error) {
	path := filepath.Join(root, FormatPinFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("storage: read WAL format pin %s: %w", path, err)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 8)
	if err != nil || (v != uint64(walcodec.V2) && v != uint64(walcodec.V3)) {
		return 0, fmt.Errorf("storage: WAL format pin %s holds %q: want %d or %d", path, b, walcodec.V2, walcodec.V3)
	}
	return uint8(v), nil
}

// WriteFormatPin durably pins format in root: write a temporary file, fsync,
// rename it over FormatPinFile, fsync root.
func WriteFormatPin(root string, format uint8) error {
	if format != walcodec.V2 && format != walcodec.V3 {
		return fmt.Errorf("storage: pin WAL format %d in %s: want %d or %d", format, root, walcodec.V2, walcodec.V3)
	}
	path := filepath.Join(root, FormatPinFile)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("storage: pin WAL format in %s: %w", root, err)
	}
	_, err = f.WriteString(strconv.Itoa(int(format)) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("storage: pin WAL format in %s: %w", root, err)
	}
	return SyncDir(root)
}

// raiseMinFormat makes format the lowest version the log writes from now on,
// also across SetConfig. It returns the previous minimum.
func (l *Log) raiseMinFormat(format uint8) (previous uint8) {
	l.mu.Lock()
	defer l.mu.Unlock()
	previous = l.minFormat
	l.minFormat = max(l.minFormat, format)
	l.cfg.Format = max(l.cfg.Format, l.minFormat)
	return previous
}

// UpgradeFormat switches the log to writing format (walcodec.V3) for good:
// SetConfig can no longer lower it. It then waits until every record encoded
// in an older format is durable and rolls the active segment if it holds
// such records, so that no segment mixes formats and every older-format
// segment is sealed (a candidate for ReplaceSegment). Calling it again is
// cheap. A failed or closed log returns its error.
func (l *Log) UpgradeFormat(format uint8) error {
	if format != walcodec.V2 && format != walcodec.V3 {
		return fmt.Errorf("storage: upgrade %s to format %d: want %d or %d", l.name, format, walcodec.V2, walcodec.V3)
	}
	if prev := l.raiseMinFormat(format); prev < format {
		// A group the writer encoded before the switch may still be on its way
		// to the active segment: once this sync returns it is there, and every
		// later group reads the new format.
		if err := l.control(reqSync); err != nil {
			return fmt.Errorf("storage: upgrade %s to format %d: %w", l.name, format, err)
		}
		l.logger.Info("log switched to a new WAL format", "topic", l.topic, "partition", l.partition, "format", format)
	}
	l.mu.RLock()
	a := l.segs[len(l.segs)-1]
	old := a.size > 0 && a.version < format
	l.mu.RUnlock()
	if !old {
		return nil
	}
	if err := l.control(reqRoll); err != nil {
		return fmt.Errorf("storage: upgrade %s to format %d: roll the active segment %s: %w", l.name, format, a.path, err)
	}
	return nil
}

// SegmentInfo describes one segment of a log.
type SegmentInfo struct {
	Path         string
	Size         int64 // durable bytes
	Batches      int
	Active       bool  // the segment being written; all others are sealed
	FirstVersion uint8 // walcodec version of the first record (0 while empty or unreadable)
	LastVersion  uint8 // of the last record (0 while empty)
}

// HasVersion reports whether the segment may hold records of version v.
func (s SegmentInfo) HasVersion(v uint8) bool { return s.FirstVersion == v || s.LastVersion == v }

// Segments lists the log's segments in sequence order (nil once closed).
func (l *Log) Segments() []SegmentInfo {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.shut {
		return nil
	}
	out := make([]SegmentInfo, 0, len(l.segs))
	for i, s := range l.segs {
		si := SegmentInfo{Path: s.path, Size: s.size, Batches: len(s.entries), Active: i == len(l.segs)-1, LastVersion: s.version}
		if s.size >= walcodec.HeaderSize {
			var hdr [5]byte
			if _, err := s.f.ReadAt(hdr[:], 0); err == nil {
				switch magic := binary.BigEndian.Uint32(hdr[:]); {
				case magic == walcodec.MagicV2 && hdr[4] == walcodec.V2:
					si.FirstVersion = walcodec.V2
				case magic == walcodec.MagicV3 && hdr[4] == walcodec.V3:
					si.FirstVersion = walcodec.V3
				}
			}
		}
		out = append(out, si)
	}
	return out
}

// ReplaceSegment swaps the sealed segment at path, listed by Segments with
// size bytes, for the file tmp, which must hold exactly the same batches
// (offsets, sizes, timestamps) in any walcodec version — in practice its V3
// conversion, verified and fsynced by the caller. tmp is indexed first;
// then, serialised with retention, DeleteRecords and SetHighWatermark and
// under the index lock, tmp is renamed over path and the segment's file and
// index are swapped at once, so a read sees either the old file with the old
// index or the new file with the new one. A read that loses the race with the
// old file's close looks its offset up again. The directory is fsynced after
// the swap. On any error the log is unchanged and tmp is removed; an
// ErrSegmentChanged error means the segment was deleted, cut or not sealed.
func (l *Log) ReplaceSegment(path string, size int64, tmp string) (err error) {
	nf, err := os.Open(tmp)
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("storage: replace segment %s of %s: %w", path, l.name, err)
	}
	swapped := false
	defer func() {
		if !swapped {
			_ = nf.Close()
			_ = os.Remove(tmp)
		}
	}()
	ns, err := l.indexReplacement(nf, tmp)
	if err != nil {
		return fmt.Errorf("storage: replace segment %s of %s: %w", path, l.name, err)
	}

	l.adminMu.Lock()
	defer l.adminMu.Unlock()
	l.mu.Lock()
	if l.shut {
		l.mu.Unlock()
		return fmt.Errorf("storage: replace segment %s of %s: %w", path, l.name, ErrClosed)
	}
	var seg *segment
	for i, s := range l.segs[:len(l.segs)-1] { // never the active segment
		if s.path == path {
			seg = l.segs[i]
			break
		}
	}
	if seg == nil || seg.size != size {
		l.mu.Unlock()
		return fmt.Errorf("storage: replace segment %s of %s: %w", path, l.name, ErrSegmentChanged)
	}
	if err := sameBatches(seg.entries, ns.entries); err != nil {
		l.mu.Unlock()
		return fmt.Errorf("storage: replace segment %s of %s with %s: %w: %w", path, l.name, tmp, err, ErrSegmentChanged)
	}
	if err := os.Rename(tmp, path); err != nil {
		l.mu.Unlock()
		return fmt.Errorf("storage: replace segment %s of %s: %w", path, l.name, err)
	}
	old := seg.f
	seg.f, seg.entries, seg.size, seg.version = nf, ns.entries, ns.size, ns.version
	swapped = true
	l.mu.Unlock()

	// Reads holding old either finished or will see os.ErrClosed and retry.
	cerr := old.Close()
	if err := SyncDir(l.dir); err != nil {
		return fmt.Errorf("storage: replace segment %s of %s: %w", path, l.name, err)
	}
	if cerr != nil {
		l.logger.Warn("closing a replaced segment file", "topic", l.topic, "partition", l.partition, "path", path, "err", cerr)
	}
	return nil
}

// indexReplacement indexes every record of a replacement segment; damage of
// any kind (a torn tail included) is an error.
func (l *Log) indexReplacement(f *os.File, path string) (*segment, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	s := &segment{path: path, size: st.Size()}
	sr := walcodec.NewSegmentReader(path, f, s.size, walcodec.ReadAny)
	for {
		rec, pos, err := sr.Next()
		if errors.Is(err, io.EOF) {
			return s, nil
		}
		if err != nil {
			return nil, err
		}
		s.version = rec.Version
		tsMax := s.maxTimestamp()
		for i := range rec.Canonical {
			c := &rec.Canonical[i]
			tsMax = max(tsMax, c.MaxTimestamp)
			s.entries = append(s.entries, entry{
				base:      c.BaseOffset,
				pos:       pos + int64(c.BatchPos),
				tsMax:     tsMax,
				lastDelta: c.LastOffsetDelta,
				size:      int32(len(c.Batch)),
			})
		}
	}
}

// sameBatches checks that two indexes hold the same batches (positions aside).
func sameBatches(old, repl []entry) error {
	if len(old) != len(repl) {
		return fmt.Errorf("%d batches, the segment holds %d", len(repl), len(old))
	}
	for i := range old {
		o, r := &old[i], &repl[i]
		if o.base != r.base || o.lastDelta != r.lastDelta || o.size != r.size || o.tsMax != r.tsMax {
			return fmt.Errorf("batch %d is offsets %d..%d (%d bytes), the segment holds %d..%d (%d bytes)",
				i, r.base, r.last(), r.size, o.base, o.last(), o.size)
		}
	}
	return nil
}

// formatFloor is a Manager's WAL format pin, read from its root on first use.
type formatFloor struct {
	loaded bool
	format uint8 // 0 = none
	logged bool  // the override was logged
}

// formatFloorLocked returns the pinned format of the root (0 if none),
// reading the pin file once. The caller holds m.mu.
func (m *Manager) formatFloorLocked() (uint8, error) {
	if !m.pin.loaded {
		v, err := ReadFormatPin(m.root)
		if err != nil {
			return 0, err
		}
		m.pin.loaded, m.pin.format = true, v
	}
	return m.pin.format, nil
}

// applyFloor raises cfg's format to the pinned one, logging the first time
// this overrides the configuration.
func (m *Manager) applyFloor(cfg LogConfig, floor uint8) LogConfig {
	if floor == 0 || cfg.withDefaults().Format >= floor {
		return cfg
	}
	cfg.Format = floor
	m.mu.Lock()
	first := !m.pin.logged
	m.pin.logged = true
	m.mu.Unlock()
	if first {
		m.logger.Info("WAL format pinned: partition logs write the pinned format, not the configured one",
			"pinned_format", floor, "pin", filepath.Join(m.root, FormatPinFile))
	}
	return cfg
}

// PinFormat durably pins format in the Manager's root (WriteFormatPin): logs
// opened from now on, here and after a restart, write at least that format.
// A pin never goes down. Logs already open are not changed: call their
// UpgradeFormat.
func (m *Manager) PinFormat(format uint8) error {
	if err := os.MkdirAll(m.root, 0o755); err != nil {
		return fmt.Errorf("storage: pin WAL format in %s: %w", m.root, err)
	}
	cur, err := m.PinnedFormat()
	if err != nil {
		return err
	}
	format = max(cur, format)
	// Written outside m.mu: Get, on every request's path, takes it.
	if err := WriteFormatPin(m.root, format); err != nil {
		return err
	}
	m.mu.Lock()
	m.pin.format = max(m.pin.format, format)
	m.mu.Unlock()
	return nil
}

// PinnedFormat is the format pinned in the Manager's root (0 if none).
func (m *Manager) PinnedFormat() (uint8, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.formatFloorLocked()
}

package mirror

import "fmt"

// syncPoint says that the record at source offset Src was written at destination offset
// Dst. Records after a sync point map one to one, in order, until the next sync point.
type syncPoint struct {
	Src, Dst int64
}

// offsetMap is the progress and offset mapping of one mirrored partition.
//
// nextSrc is the first source offset not mirrored yet and nextDst the destination offset
// the next mirrored record will get. syncs is sorted by Src (and Dst); its first element
// is the partition's starting point (source log start, destination high watermark at
// first sight) and a new element is appended whenever Dst-Src changes.
type offsetMap struct {
	nextSrc, nextDst int64
	syncs            []syncPoint
}

// newOffsetMap is the mapping of a partition first seen with source log start src and an
// empty destination whose next offset is dst.
func newOffsetMap(src, dst int64) offsetMap {
	return offsetMap{nextSrc: src, nextDst: dst, syncs: []syncPoint{{Src: src, Dst: dst}}}
}

// record notes that the record at source offset src was written at destination offset
// dst. Records must be recorded in source order.
func (m *offsetMap) record(src, dst int64) error {
	if src < m.nextSrc || dst < m.nextDst {
		return fmt.Errorf("source offset %d written at destination offset %d: out of order (next source %d, next destination %d)",
			src, dst, m.nextSrc, m.nextDst)
	}
	if n := len(m.syncs); n == 0 || m.syncs[n-1].Dst-m.syncs[n-1].Src != dst-src {
		m.syncs = append(m.syncs, syncPoint{Src: src, Dst: dst})
	}
	m.nextSrc, m.nextDst = src+1, dst+1
	return nil
}

// translate maps a source offset, as a consumer position ("next offset to read"), to the
// destination offset of the same position. Only mirrored positions translate: offsets in
// [first sync point, nextSrc) and nextSrc itself (→ nextDst). An offset inside a gap of
// the source (offsets without records, e.g. compacted away) maps to the destination
// offset of the next record.
func (m *offsetMap) translate(src int64) (int64, bool) {
	if src == m.nextSrc {
		return m.nextDst, true
	}
	if src > m.nextSrc || len(m.syncs) == 0 || src < m.syncs[0].Src {
		return 0, false
	}
	// Last sync point at or before src (binary search: syncs is sorted by Src).
	lo, hi := 0, len(m.syncs)
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if m.syncs[mid].Src <= src {
			lo = mid
		} else {
			hi = mid
		}
	}
	sp := m.syncs[lo]
	next := syncPoint{Src: m.nextSrc, Dst: m.nextDst}
	if lo+1 < len(m.syncs) {
		next = m.syncs[lo+1]
	}
	if k := src - sp.Src; k < next.Dst-sp.Dst {
		return sp.Dst + k, true
	}
	return next.Dst, true
}

// resume compares a partition's checkpoint with the destination's high watermark hwm and
// returns how many source records, from the checkpoint's next source offset on, are
// already in the destination and must be skipped (they were produced and acknowledged
// after the last checkpoint: records map one to one, in order).
func (m *offsetMap) resume(hwm int64) (skip int64, err error) {
	switch {
	case hwm == m.nextDst:
		return 0, nil
	case hwm > m.nextDst:
		return hwm - m.nextDst, nil
	default:
		return 0, fmt.Errorf("destination lost records: its high watermark is %d but %d records up to offset %d were mirrored",
			hwm, m.nextDst-hwm, m.nextDst-1)
	}
}

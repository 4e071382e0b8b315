package walcodec

import (
	"strconv"
	"strings"
)

// SegmentName is the file name of segment seq of a partition:
// "wal_<partition>_<seq zero-padded to 8 digits>.log" (e.g. wal_0_00000001.log).
// Sequence numbers start at 1; partition must not be negative.
func SegmentName(partition int32, seq uint64) string {
	s := strconv.FormatUint(seq, 10)
	if len(s) < 8 {
		s = strings.Repeat("0", 8-len(s)) + s
	}
	return "wal_" + strconv.FormatInt(int64(partition), 10) + "_" + s + ".log"
}

// ParseSegmentName parses a name produced by SegmentName. It accepts only the
// canonical spelling (no sign, no extra leading zeros, at least 8 sequence
// digits), so ok implies SegmentName(partition, seq) == name.
func ParseSegmentName(name string) (partition int32, seq uint64, ok bool) {
	rest, found := strings.CutPrefix(name, "wal_")
	if !found {
		return 0, 0, false
	}
	rest, found = strings.CutSuffix(rest, ".log")
	if !found {
		return 0, 0, false
	}
	ps, ss, found := strings.Cut(rest, "_")
	if !found || !allDigits(ps) || !allDigits(ss) {
		return 0, 0, false
	}
	p, err := strconv.ParseInt(ps, 10, 32)
	if err != nil {
		return 0, 0, false
	}
	s, err := strconv.ParseUint(ss, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	if SegmentName(int32(p), s) != name {
		return 0, 0, false
	}
	return int32(p), s, true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

package walcodec_test

import (
	"math"
	"testing"

	"github.com/chronik-stream/chronik/walcodec"
)

func TestSegmentName(t *testing.T) {
	for _, tc := range []struct {
		partition int32
		seq       uint64
		name      string
	}{
		{0, 1, "wal_0_00000001.log"},
		{0, 0, "wal_0_00000000.log"},
		{7, 12345678, "wal_7_12345678.log"},
		{12, 123456789, "wal_12_123456789.log"},
		{math.MaxInt32, math.MaxUint64, "wal_2147483647_18446744073709551615.log"},
	} {
		if got := walcodec.SegmentName(tc.partition, tc.seq); got != tc.name {
			t.Errorf("SegmentName(%d, %d) = %q, want %q", tc.partition, tc.seq, got, tc.name)
		}
		p, s, ok := walcodec.ParseSegmentName(tc.name)
		if !ok || p != tc.partition || s != tc.seq {
			t.Errorf("ParseSegmentName(%q) = %d, %d, %v", tc.name, p, s, ok)
		}
	}
}

func TestParseSegmentNameRejects(t *testing.T) {
	for _, name := range []string{
		"", "wal_0_00000001", "wal_0_00000001.log.tmp", "WAL_0_00000001.log", "seg_0_00000001.log",
		"wal_0_1.log", "wal_0_0000001.log", "wal_0_000000001.log", "wal_00_00000001.log", "wal_01_00000001.log",
		"wal_-1_00000001.log", "wal_+1_00000001.log", "wal_0_+0000001.log", "wal__00000001.log", "wal_0_.log",
		"wal_0_00000001_2.log", "wal_x_00000001.log", "wal_0_0000000a.log", "wal_2147483648_00000001.log",
		"wal_0_18446744073709551616.log", "raft_00000001.log",
	} {
		if p, s, ok := walcodec.ParseSegmentName(name); ok {
			t.Errorf("ParseSegmentName(%q) = %d, %d, true; want false", name, p, s)
		}
	}
}

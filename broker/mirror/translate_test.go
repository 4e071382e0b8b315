package mirror

import (
	"strings"
	"testing"
)

// build records (src, dst) pairs into a map started at (start, dstStart).
func build(t *testing.T, start, dstStart int64, recs ...[2]int64) offsetMap {
	t.Helper()
	m := newOffsetMap(start, dstStart)
	for _, r := range recs {
		if err := m.record(r[0], r[1]); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func TestTranslate(t *testing.T) {
	contiguous := build(t, 0, 0, [2]int64{0, 0}, [2]int64{1, 1}, [2]int64{2, 2}, [2]int64{3, 3})
	// Source log start 10 (older records deleted) into an empty destination.
	shifted := build(t, 10, 0, [2]int64{10, 0}, [2]int64{11, 1}, [2]int64{12, 2})
	// Source records 0,1,2 then a gap (3,4 compacted away) then 5,6.
	gap := build(t, 0, 0, [2]int64{0, 0}, [2]int64{1, 1}, [2]int64{2, 2}, [2]int64{5, 3}, [2]int64{6, 4})
	// First record after the starting point is not at it (leading gap).
	leading := build(t, 0, 0, [2]int64{3, 0}, [2]int64{4, 1})
	empty := newOffsetMap(7, 0)

	tests := []struct {
		name   string
		m      offsetMap
		src    int64
		want   int64
		wantOK bool
	}{
		{"contiguous start", contiguous, 0, 0, true},
		{"contiguous middle", contiguous, 2, 2, true},
		{"contiguous next", contiguous, 4, 4, true},
		{"contiguous past next", contiguous, 5, 0, false},
		{"contiguous before start", contiguous, -1, 0, false},
		{"shifted before start", shifted, 9, 0, false},
		{"shifted start", shifted, 10, 0, true},
		{"shifted middle", shifted, 12, 2, true},
		{"shifted next", shifted, 13, 3, true},
		{"gap before", gap, 2, 2, true},
		{"gap inside first", gap, 3, 3, true},
		{"gap inside second", gap, 4, 3, true},
		{"gap after", gap, 5, 3, true},
		{"gap last", gap, 6, 4, true},
		{"gap next", gap, 7, 5, true},
		{"leading gap start", leading, 0, 0, true},
		{"leading gap inside", leading, 2, 0, true},
		{"leading gap first record", leading, 3, 0, true},
		{"leading gap next", leading, 5, 2, true},
		{"empty next", empty, 7, 0, true},
		{"empty before", empty, 6, 0, false},
		{"empty after", empty, 8, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.m.translate(tc.src)
			if ok != tc.wantOK || (ok && got != tc.want) {
				t.Fatalf("translate(%d) = %d, %v; want %d, %v", tc.src, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestRecordSyncPoints(t *testing.T) {
	tests := []struct {
		name      string
		start     [2]int64
		recs      [][2]int64
		wantSyncs []syncPoint
	}{
		{"same offsets", [2]int64{0, 0}, [][2]int64{{0, 0}, {1, 1}, {2, 2}}, []syncPoint{{0, 0}}},
		{"constant shift", [2]int64{10, 0}, [][2]int64{{10, 0}, {11, 1}}, []syncPoint{{10, 0}}},
		{"gap adds one", [2]int64{0, 0}, [][2]int64{{0, 0}, {5, 1}, {6, 2}}, []syncPoint{{0, 0}, {5, 1}}},
		{"leading gap", [2]int64{0, 0}, [][2]int64{{3, 0}}, []syncPoint{{0, 0}, {3, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := build(t, tc.start[0], tc.start[1], tc.recs...)
			if len(m.syncs) != len(tc.wantSyncs) {
				t.Fatalf("syncs = %v, want %v", m.syncs, tc.wantSyncs)
			}
			for i := range m.syncs {
				if m.syncs[i] != tc.wantSyncs[i] {
					t.Fatalf("syncs = %v, want %v", m.syncs, tc.wantSyncs)
				}
			}
			last := tc.recs[len(tc.recs)-1]
			if m.nextSrc != last[0]+1 || m.nextDst != last[1]+1 {
				t.Fatalf("next = %d→%d, want %d→%d", m.nextSrc, m.nextDst, last[0]+1, last[1]+1)
			}
		})
	}
}

func TestRecordOutOfOrder(t *testing.T) {
	m := build(t, 0, 0, [2]int64{0, 0}, [2]int64{1, 1})
	for _, r := range [][2]int64{{0, 2}, {2, 1}} {
		if err := m.record(r[0], r[1]); err == nil {
			t.Fatalf("record(%d, %d) after 1→1 succeeded", r[0], r[1])
		}
	}
}

func TestResume(t *testing.T) {
	m := build(t, 0, 0, [2]int64{0, 0}, [2]int64{1, 1}, [2]int64{2, 2}) // next dest 3
	tests := []struct {
		hwm      int64
		wantSkip int64
		wantErr  string
	}{
		{3, 0, ""},
		{5, 2, ""},
		{2, 0, "destination lost records"},
		{0, 0, "destination lost records"},
	}
	for _, tc := range tests {
		skip, err := m.resume(tc.hwm)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("resume(%d) error = %v, want %q", tc.hwm, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || skip != tc.wantSkip):
			t.Errorf("resume(%d) = %d, %v; want %d", tc.hwm, skip, err, tc.wantSkip)
		}
	}
}

func TestTopicMatcher(t *testing.T) {
	tests := []struct {
		expr  string
		topic string
		want  bool
	}{
		{"", "orders", true},
		{"", "__consumer_offsets", false},
		{".*", "orders", true},
		{".*", "__meta", false},
		{"orders", "orders", true},
		{"orders", "orders-v2", false}, // whole name, as Kafka whitelists
		{"orders|payments", "payments", true},
		{"orders.*", "orders-v2", true},
		{"__.*", "__meta", false},
	}
	for _, tc := range tests {
		match, err := topicMatcher(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := match(tc.topic); got != tc.want {
			t.Errorf("regex %q on %q = %v, want %v", tc.expr, tc.topic, got, tc.want)
		}
	}
	if _, err := topicMatcher("orders("); err == nil || !strings.Contains(err.Error(), "orders(") {
		t.Fatalf("bad regex error = %v, want one naming the regex", err)
	}
}

func TestSplitSeedsAndIDs(t *testing.T) {
	if got := splitSeeds(" a:1, b:2 ,,"); len(got) != 2 || got[0] != "a:1" || got[1] != "b:2" {
		t.Fatalf("splitSeeds = %q", got)
	}
	if compareIDs("mirror-2", "mirror-10") >= 0 || compareIDs("mirror-10", "mirror-9") <= 0 {
		t.Fatal("mirror ids must sort numerically")
	}
}

package console

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestEventsRing(t *testing.T) {
	now := time.Unix(1000, 0)
	e := NewEvents(3, func() time.Time { return now })
	ch := e.Changed()
	for _, m := range []string{"a", "b", "c", "d"} {
		e.Append(slog.LevelInfo, m)
	}
	select {
	case <-ch:
	default:
		t.Fatal("Changed not closed by Append")
	}
	msgs := func(evs []Event) string {
		var s []string
		for _, ev := range evs {
			s = append(s, ev.Message)
		}
		return strings.Join(s, ",")
	}
	for _, tt := range []struct {
		since uint64
		max   int
		want  string
	}{
		{0, 0, "b,c,d"}, // "a" was dropped: capacity 3
		{0, 2, "c,d"},
		{2, 0, "c,d"},
		{4, 0, ""},
	} {
		if got := msgs(e.Since(tt.since, tt.max)); got != tt.want {
			t.Errorf("Since(%d, %d) = %q, want %q", tt.since, tt.max, got, tt.want)
		}
	}
	if e.LastSeq() != 4 {
		t.Fatalf("LastSeq %d", e.LastSeq())
	}
	if n, _ := e.ErrorStats(); n != 0 {
		t.Fatalf("errors %d", n)
	}
	e.Append(slog.LevelError, "boom")
	if n, last := e.ErrorStats(); n != 1 || last.Message != "boom" || !last.Time.Equal(now) {
		t.Fatalf("ErrorStats = %d, %v", n, last)
	}
}

func TestEventsHandler(t *testing.T) {
	e := NewEvents(10, nil)
	var out bytes.Buffer
	next := slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelWarn})
	l := slog.New(e.Handler(next, slog.LevelInfo))
	l.Debug("hidden")
	l.With("component", "kafka").Info("topic created", "topic", "orders", "partitions", 3)
	l.WithGroup("raft").Warn("slow", "took", 2*time.Second, slog.Group("peer", "id", 2))
	l.Info("quoted", "path", "a b", "empty", "")

	want := []string{
		"topic created component=kafka topic=orders partitions=3",
		"slow raft.took=2s raft.peer.id=2",
		`quoted path="a b" empty=""`,
	}
	got := e.Since(0, 0)
	if len(got) != len(want) {
		t.Fatalf("events %v, want %q", got, want)
	}
	for i := range want {
		if got[i].Message != want[i] {
			t.Errorf("event %d = %q, want %q", i, got[i].Message, want[i])
		}
	}
	// next only saw what its level allows.
	if s := out.String(); strings.Contains(s, "topic created") || !strings.Contains(s, "slow") {
		t.Fatalf("next handler got %q", s)
	}
	if !l.Handler().Enabled(context.Background(), slog.LevelInfo) || l.Handler().Enabled(context.Background(), slog.LevelDebug) {
		t.Fatal("Enabled: want INFO on (recorded as event), DEBUG off")
	}
}

func TestRateHist(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	type step struct {
		t                  float64
		hwm, committed     int64
		wantProd, wantCons float64
	}
	for name, steps := range map[string][]step{
		"first sample has no rate": {{0, 100, 0, 0, 0}},
		"steady": {
			{0, 0, 0, 0, 0}, {1, 100, 50, 100, 50}, {2, 200, 100, 100, 50},
		},
		"window slides, old baseline kept": {
			{0, 0, 0, 0, 0}, {4, 400, 0, 100, 0}, {10, 400, 0, 0, 0},
		},
		"truncation restarts": {
			{0, 100, 0, 0, 0}, {1, 50, 0, 0, 0}, {2, 150, 0, 100, 0},
		},
		"gap longer than two windows": {
			{0, 0, 0, 0, 0}, {11, 1000, 0, 0, 0},
		},
	} {
		h := &rateHist{}
		for _, s := range steps {
			p, c := h.add(at(s.t), s.hwm, s.committed, 5*time.Second)
			if p != s.wantProd || c != s.wantCons {
				t.Errorf("%s: at %gs hwm %d committed %d: rates %g/%g, want %g/%g", name, s.t, s.hwm, s.committed, p, c, s.wantProd, s.wantCons)
			}
		}
	}
}

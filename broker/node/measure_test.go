package node

import (
	"strings"
	"testing"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// TestConsoleMeasureProduceAndPerformanceCheck: MeasureProduce writes for real and reports
// what was acknowledged; the performance criterion compares a new measurement with a
// baseline (passes against a tiny one, fails against an impossible one).
func TestConsoleMeasureProduceAndPerformanceCheck(t *testing.T) {
	n := consoleNode(t)
	c := consoleClient(t, n)
	ctx := withToken(testCtx(t), consoleTestToken)
	resp, err := c.MeasureProduce(ctx, &consolepb.MeasureProduceRequest{Topic: "perf", DurationMs: 500, RecordBytes: 512})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetRecords() <= 0 || resp.GetBytes() != resp.GetRecords()*512 || resp.GetRecordsPerSec() <= 0 || resp.GetBootstrap() == "" {
		t.Fatalf("MeasureProduce = %v", resp)
	}
	t.Logf("MeasureProduce: %.0f records/s, %.1f MiB/s (512-byte records, 0.5 s)", resp.GetRecordsPerSec(), resp.GetMbPerSec())
	l, ok := n.logs.Get("perf", 0)
	if !ok || l.HighWatermark() != resp.GetRecords()+1 { // +1: the record that creates the topic
		t.Fatalf("perf/0 holds %d records, MeasureProduce reported %d (+1)", l.HighWatermark(), resp.GetRecords())
	}
	for _, tt := range []struct {
		baseline float64
		want     consolepb.CheckStatus
	}{
		{1, consolepb.CheckStatus_CHECK_STATUS_PASS},
		{1e12, consolepb.CheckStatus_CHECK_STATUS_FAIL},
	} {
		v, err := c.RunValidation(ctx, &consolepb.RunValidationRequest{ProduceConsumeTopic: "perf", BaselineRecordsPerSec: tt.baseline, BaselineRecordBytes: 512})
		if err != nil {
			t.Fatal(err)
		}
		perf := checksByID(v.GetChecks())["performance"]
		if perf.GetStatus() != tt.want || !strings.Contains(perf.GetDetail(), "of the baseline") {
			t.Fatalf("baseline %.0f: performance = %v %q", tt.baseline, perf.GetStatus(), perf.GetDetail())
		}
	}
	if _, err := c.MeasureProduce(ctx, &consolepb.MeasureProduceRequest{Topic: "perf", DurationMs: 60_000}); err == nil ||
		!strings.Contains(err.Error(), "at most 30s") {
		t.Fatalf("a 60 s measurement = %v", err)
	}
}

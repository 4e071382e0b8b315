package tui

import (
	"strings"
	"testing"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// TestBlueGreenWorkflow walks the blue-green plan against a fake green node: the mirror starts
// from the typed blue brokers, blue's throughput is measured through the mirror's source, the
// parity step waits for lag 0 and equal high watermarks and records blue's as the baseline,
// which the validation then receives.
func TestBlueGreenWorkflow(t *testing.T) {
	f := &fakeConsole{states: make(chan *consolepb.ClusterState)}
	m := connectedModel(t, f, "tok", false)
	m = withState(t, m, clusterState(2, 300))
	m = press(t, m, "4", "l", "x", "y") // 1: bootstrap green (confirmed)
	m = press(t, m, "x")                // 2: green up: observed at once
	if s := stepOf(m, 1); s.status != statusDone || !strings.Contains(s.summary, "3 voters") {
		t.Fatalf("green up: %v %q", s.status, s.summary)
	}
	m = press(t, m, "x") // 3: preflight
	m = press(t, m, "x", "b", "l", "u", "e", ":", "9", "0", "9", "2", "enter", "y")
	if s := stepOf(m, 3); s.status != statusDone || s.input != "blue:9092" || len(f.mirrorCalls) != 1 || f.mirrorCalls[0] != "start blue:9092" {
		t.Fatalf("mirror: %v %q calls %v", s.status, s.summary, f.mirrorCalls)
	}
	m = press(t, m, "x") // 5: blue's throughput, through the mirror's source
	if s := stepOf(m, 4); s.status != statusDone || !strings.Contains(s.summary, "via blue-1:9092") {
		t.Fatalf("throughput: %v %q", s.status, s.summary)
	}
	m = press(t, m, "x") // 6: parity waits while the mirror lags
	if s := stepOf(m, 5); s.status != statusRunning || !strings.Contains(s.summary, "mirror lag 300, 1 of 3 partitions differ (orders/1: blue 1200, green 900)") {
		t.Fatalf("parity while lagging: %v %q", s.status, s.summary)
	}
	m = withState(t, m, clusterState(3, 0))
	if s := stepOf(m, 5); s.status != statusDone || !strings.Contains(s.summary, "parity: 3 partitions") {
		t.Fatalf("parity: %v %q", s.status, s.summary)
	}
	b := m.flows.baselines[m.flows.cur]
	if b == nil || len(b.hwms) != 3 || strings.Join(b.topics, ",") != "orders,payments" || b.recordsPerSec != 50000 || b.measuredOn != "blue-1:9092" {
		t.Fatalf("blue baseline: %+v", b)
	}
	m = press(t, m, "x") // 7: validation gets blue's baseline, the failover test and the throughput
	if len(f.validations) != 1 {
		t.Fatalf("%d validations", len(f.validations))
	}
	v := f.validations[0]
	if v.GetExpectedNodes() != 3 || len(v.GetExpectedHighWatermarks()) != 3 || v.GetBaselineRecordsPerSec() != 50000 ||
		!v.GetFailoverTest() || v.GetProduceConsumeTopic() != "chronik-validation" {
		t.Fatalf("validation request %v", v)
	}
	m = press(t, m, "s", "y", "j", "x", "y") // the fake fails node count: skip; 8: cut over (confirmed)
	m = press(t, m, "x", "y")                // 9: stop the mirrors
	if s := stepOf(m, 8); s.status != statusDone || f.mirrorCalls[len(f.mirrorCalls)-1] != "stop mirror-1" {
		t.Fatalf("stop mirror: %v %q calls %v", s.status, s.summary, f.mirrorCalls)
	}
	m = press(t, m, "x", "b", "l", "u", "e", "-", "1", ":", "9", "0", "9", "2", "enter") // 10: irreversible: typed name
	if s := stepOf(m, 9); s.status != statusDone {
		t.Fatalf("decommission: %v %q", s.status, s.summary)
	}
}

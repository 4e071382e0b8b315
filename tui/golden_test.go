package tui

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// TestGoldenViews renders every tab at 80×24 and 160×48 through a real Bubble Tea program and
// compares the final model's View with testdata/TestGoldenViews/<tab>_<size>.golden
// (regenerate with go test ./tui -run TestGoldenViews -update).
func TestGoldenViews(t *testing.T) {
	markers := map[tab]string{
		tabOverview: "Members (1)", tabPartitions: "LOG START", tabMigration: "WAL format migration",
		tabWorkflows: "Workflow:", tabEvents: "events · following",
	}
	for _, sz := range [][2]int{{80, 24}, {160, 48}} {
		for tb := range numTabs {
			t.Run(fmt.Sprintf("%s_%dx%d", tab(tb), sz[0], sz[1]), func(t *testing.T) {
				tm := teatest.NewTestModel(t, testModel(Options{}), teatest.WithInitialTermSize(sz[0], sz[1]))
				for seq, r := range []float64{100, 400, 250} { // a little history for the sparklines
					st := sampleState(uint64(seq + 1))
					st.Topics[0].Partitions[0].ProduceRate = r
					tm.Send(stateMsg{gen: 0, state: st, at: testEpoch})
				}
				tm.Send(keyMsg(fmt.Sprint(int(tb) + 1)))
				teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(markers[tab(tb)])) },
					teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
				if err := tm.Quit(); err != nil {
					t.Fatal(err)
				}
				fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(Model)
				teatest.RequireEqualOutput(t, []byte(fm.View()))
			})
		}
	}
}

// TestGoldenWorkflowBlocked: the in-place plan after a few steps against a fake node, with a
// blocked (UNIMPLEMENTED) step selected.
func TestGoldenWorkflowBlocked(t *testing.T) {
	f := &fakeConsole{states: make(chan *consolepb.ClusterState)}
	m := connectedModel(t, f, "tok", false)
	m = press(t, m, "4", "x", "x", "x", "x", "y", "x", "enter", "1", "2", "7", ".", "0", ".", "0", ".", "1", ":", "9", "0", "9", "3", "enter")
	teatest.RequireEqualOutput(t, []byte(m.View()))
}

package tui

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// Steps and plans: what a workflow is made of, and how a step's run becomes an outcome.

type stepKind int

const (
	kindRPC     stepKind = iota // the console calls an RPC
	kindLocal                   // the console computes something itself (baseline)
	kindManual                  // the operator runs a command; the console records their confirmation
	kindObserve                 // done when the live cluster state satisfies a condition
)

func (k stepKind) verb() string {
	switch k {
	case kindRPC:
		return "Runs"
	case kindLocal:
		return "Does"
	case kindManual:
		return "Operator runs"
	case kindObserve:
		return "Waits for"
	}
	return "?"
}

type danger int

const (
	safe         danger = iota
	destructive         // y/n
	irreversible        // typed name
)

type stepStatus int

const (
	statusPending stepStatus = iota
	statusRunning
	statusDone
	statusFailed
	statusBlocked // the node cannot do it (UNIMPLEMENTED) or read-only mode kept it from being sent
	statusSkipped
)

func (s stepStatus) String() string {
	switch s {
	case statusPending:
		return "pending"
	case statusRunning:
		return "running…"
	case statusDone:
		return "done"
	case statusFailed:
		return "FAILED"
	case statusBlocked:
		return "BLOCKED"
	case statusSkipped:
		return "skipped"
	}
	return "?"
}

// baseline is what the in-place and blue-green paths compare against after the migration.
type baseline struct {
	topics []string
	hwms   []*consolepb.PartitionOffset
	// Produce throughput measured before the migration (0 = not measured).
	recordsPerSec float64
	recordBytes   uint32
	measuredOn    string
}

// stepEnv is what a running step may use.
type stepEnv struct {
	client          *Client
	state           *consolepb.ClusterState
	input           string
	baseline        *baseline
	validationTopic string
	now             time.Time
}

type stepOutcome struct {
	status  stepStatus
	summary string
	next    string // what to do now (failed and blocked steps)
	lines   []string
	record  func(*baseline) // records into the baseline (the baseline steps)
}

// step is one step of a workflow plan.
type step struct {
	title        string
	precondition string
	action       string // the RPC or the operator's command
	kind         stepKind
	danger       danger
	inputPrompt  string // ask for a value first ("" = none)
	placeholder  string
	defaultInput string // the value of an empty answer ("" = an answer is required)
	timeout      time.Duration
	run          func(ctx context.Context, env stepEnv) stepOutcome        // kindRPC, kindLocal
	observe      func(st *consolepb.ClusterState) (ok bool, detail string) // kindObserve
	// observed (optional) records into the baseline from the state that satisfied observe.
	observed func(st *consolepb.ClusterState) func(*baseline)
	// aboutBlue: an irreversible step about the blue cluster asks for blue's address.
	aboutBlue bool

	status  stepStatus
	summary string
	next    string
	lines   []string
	input   string        // the value the step last ran with
	started time.Time     // when it last started
	took    time.Duration // how long its last run took
}

// plan is one of the guide's workflows.
type plan struct {
	name    string
	summary string
	steps   []step
}

// confirmWhat names what confirmName asks for, for the step's description.
func (s *step) confirmWhat() string {
	if s.aboutBlue {
		return "the blue brokers' address"
	}
	return "the address of the node the console is connected to"
}

func manualDone() stepOutcome {
	return stepOutcome{status: statusDone, summary: "done (confirmed by the operator; the console did not run it)"}
}

// failure turns an RPC error into an outcome: UNIMPLEMENTED and read-only are "blocked", never done.
func failure(err error) stepOutcome {
	if errors.Is(err, ErrReadOnly) {
		return stepOutcome{status: statusBlocked, summary: "read-only mode: not sent to the node",
			next: "restart chronik-tui without --read-only (and with --token) to run it"}
	}
	st := status.Convert(err)
	o := stepOutcome{status: statusFailed, summary: st.Code().String(), lines: []string{st.Message()},
		next: "fix the cause above, then run the step again (x) or skip it (s)"}
	switch st.Code() {
	case codes.Unimplemented:
		o.status, o.summary = statusBlocked, "blocked: this node cannot do it (UNIMPLEMENTED)"
		o.next = "run the step's command by hand, then skip the step (s)"
	case codes.Unauthenticated:
		o.summary, o.next = "UNAUTHENTICATED: start chronik-tui with --token", "restart chronik-tui with --token <the node's admin_token>"
	case codes.Unavailable:
		o.summary, o.next = "node unreachable", "check that the node runs; the console reconnects by itself, then run the step again (x)"
	case codes.DeadlineExceeded, codes.Canceled:
		o.summary, o.next = "no answer in time", "check the node's log (journalctl -u chronik), then run the step again (x)"
	}
	return o
}

// checksOutcome: failed when any check fails.
func checksOutcome(what string, checks []*consolepb.Check) stepOutcome {
	counts := map[consolepb.CheckStatus]int{}
	var lines []string
	for _, c := range checks {
		counts[c.GetStatus()]++
		lines = append(lines, fmt.Sprintf("%s %s — %s", checkMark(c.GetStatus()), c.GetName(), c.GetDetail()))
	}
	o := stepOutcome{status: statusDone, lines: lines}
	if counts[consolepb.CheckStatus_CHECK_STATUS_FAIL] > 0 {
		o.status = statusFailed
		o.next = "fix what the FAIL lines name, then run the step again (x)"
	}
	o.summary = fmt.Sprintf("%s: %d pass, %d warn, %d fail, %d skipped", what,
		counts[consolepb.CheckStatus_CHECK_STATUS_PASS], counts[consolepb.CheckStatus_CHECK_STATUS_WARN],
		counts[consolepb.CheckStatus_CHECK_STATUS_FAIL], counts[consolepb.CheckStatus_CHECK_STATUS_SKIP])
	return o
}

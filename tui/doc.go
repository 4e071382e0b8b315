// Package tui is chronik-tui, the Bubble Tea (v1) console for a Chronik node or cluster. It
// talks to the cluster only through the generated console API client (api/consolepb).
//
// Shape: a root Model owns the terminal size, keys, help, connection state, the read-only flag
// and the active tab; the tabs (Overview, Partitions, Migration, Workflows, Events) are plain
// structs with Update/View/SetSize. Keys go to an open modal first (a confirmation swallows
// every key), then to a child that is capturing text (the partition filter), then to the global
// bindings, then to the active tab. No global key is bound by bubbles' table or viewport.
//
// Data: WatchCluster runs in a goroutine that feeds a channel; the UI holds exactly one
// tea.Cmd waiting for the next message and re-issues it after each. When the stream ends the
// Model schedules a reconnect with exponential backoff (250 ms … 10 s); a stream silent for
// three heartbeat intervals is treated as dead. `r` reconnects at once.
//
// Safety: Client is the one place that attaches the admin token and enforces read-only mode:
// in read-only mode every mutating RPC fails with ErrReadOnly before reaching the network.
// Workflow steps that change something ask y/n; irreversible ones ask for a typed address. A
// step whose RPC answers UNIMPLEMENTED is shown as blocked with the server's reason, never as
// done.
//
// Workflows, file by file: steps.go (what a step and a plan are, how an RPC's answer becomes an
// outcome), plans.go (the guide's three paths as plans of steps), workflows.go (the tab: order,
// confirmations, running steps as commands, waiting steps completed by pushed states),
// workflows_view.go (the plan and the selected step, fitted to the tab's height) and persist.go
// (progress kept in Options.WorkflowFile, so a workflow resumes after a restart).
package tui

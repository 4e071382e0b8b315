// Package api holds Chronik's public console API: console.proto (package chronik.console.v1) and
// the Go code generated from it in api/consolepb. It is the only contract between the console
// (tui/, or any operator tool) and a node: the node serves it on its gRPC listener
// (cluster.node_addr, 9093 by default) in standalone and cluster mode.
//
// Regenerate with api/generate.sh; drift_test.go regenerates into a temporary directory and
// fails when the committed code differs. Nothing here imports other Chronik packages.
package api

//go:generate bash generate.sh

//go:build !unix

package raftstore

import "errors"

// ErrLogInUse means a raft log directory is open elsewhere (another LogStore or process).
var ErrLogInUse = errors.New("raft log is in use")

// checkUnlocked cannot probe BoltDB's lock on this platform.
func checkUnlocked(string) error { return nil }

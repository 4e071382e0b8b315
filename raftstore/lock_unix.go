//go:build unix

package raftstore

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrLogInUse means a raft log directory is open elsewhere (another LogStore or process).
var ErrLogInUse = errors.New("raft log is in use")

// checkUnlocked fails when another open file description holds BoltDB's lock on path; a missing
// file is fine. The probe lock is released at once: it only turns BoltDB's unbounded wait into
// an error.
func checkUnlocked(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("%s is locked: %w", path, ErrLogInUse)
		}
		return fmt.Errorf("probing lock of %s: %w", path, err)
	}
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}

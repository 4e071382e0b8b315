package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// LockFileName is the file in a data directory that a running broker holds
// an exclusive flock(2) on. Offline tools (backup, migrate-wal) take the same
// lock, so they never read a directory a broker is writing, and a broker never
// starts on a directory a tool is reading.
const LockFileName = ".lock"

// ErrDataDirInUse: another process (a running broker or an offline tool)
// holds the data directory's lock.
var ErrDataDirInUse = errors.New("data dir is in use")

// DataDirLock is a held data-directory lock.
type DataDirLock struct {
	dir string
	f   *os.File
}

// LockDataDir takes the exclusive lock of dataDir without waiting, creating
// the directory and its lock file if needed. When another process holds it
// the error wraps ErrDataDirInUse. The lock goes with the process if it dies.
func LockDataDir(dataDir string) (*DataDirLock, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("locking data dir %s: %w", dataDir, err)
	}
	path := filepath.Join(dataDir, LockFileName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking data dir %s: %w", dataDir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data dir %s: %w (%s is locked by another process)", dataDir, ErrDataDirInUse, path)
		}
		return nil, fmt.Errorf("locking data dir %s: flock %s: %w", dataDir, path, err)
	}
	return &DataDirLock{dir: dataDir, f: f}, nil
}

// Release gives the lock up. It is safe to call on nil and more than once.
func (l *DataDirLock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	// Closing the only descriptor of the open file description drops the flock.
	if err := f.Close(); err != nil {
		return fmt.Errorf("releasing the lock of data dir %s: %w", l.dir, err)
	}
	return nil
}

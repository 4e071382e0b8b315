package backup

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/chronik-stream/chronik/broker/storage"
)

// walDirName is the WAL root under a data directory, and the top directory
// of every archived data file.
const walDirName = "wal"

// checkpointName is the log-start-offset checkpoint of a partition log.
const checkpointName = "log-start-offset"

// Source is the set of files a backup archives.
type Source struct {
	Files  []SourceFile
	Origin string // recorded as the manifest's source
	// expectHWM, when set, is the high watermark each log directory must
	// have (a cut's view), checked against what the archived bytes hold.
	expectHWM map[string]int64
	closers   []io.Closer
	cut       *storage.Cut
}

// SourceFile is one file of a Source.
type SourceFile struct {
	Path string      // archive path, slash-separated: "wal/orders/0/wal_0_00000001.log"
	Size int64       // bytes to archive
	Data io.ReaderAt // the file's first Size bytes
}

// Close releases the source's files.
func (s *Source) Close() error {
	var errs []error
	for _, c := range s.closers {
		if err := c.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if s.cut != nil {
		errs = append(errs, s.cut.Close())
	}
	return errors.Join(errs...)
}

// isTemp reports files a broker or migration is writing: never archived.
func isTemp(name string) bool {
	return strings.HasSuffix(name, ".tmp") || strings.HasSuffix(name, ".migrate-tmp") || strings.Contains(name, ".tmp-")
}

// FromDataDir archives every file under <dataDir>/wal of a stopped broker.
// The caller must make sure no broker uses the directory (see node.LockDataDir).
func FromDataDir(dataDir string) (*Source, error) {
	root := filepath.Join(dataDir, walDirName)
	if st, err := os.Stat(root); err != nil {
		return nil, fmt.Errorf("backup of %s: %w", dataDir, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("backup of %s: %s is not a directory", dataDir, root)
	}
	src := &Source{Origin: "offline data directory " + dataDir}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || isTemp(d.Name()) {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file (%s)", p, d.Type())
		}
		rel, err := filepath.Rel(dataDir, p)
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		src.closers = append(src.closers, f)
		st, err := f.Stat()
		if err != nil {
			return err
		}
		src.Files = append(src.Files, SourceFile{Path: filepath.ToSlash(rel), Size: st.Size(), Data: f})
		return nil
	})
	if err != nil {
		_ = src.Close()
		return nil, fmt.Errorf("backup of %s: %w", dataDir, err)
	}
	sortFiles(src.Files)
	return src, nil
}

// FromCut archives a cut of a running broker whose WAL root is walDir: each
// captured segment up to its size at the cut, and a log-start-offset
// checkpoint holding the captured log start offset for logs that keep one.
// The Source owns the cut, also when FromCut fails: Close closes it.
func FromCut(cut *storage.Cut, walDir string, origin string) (*Source, error) {
	src := &Source{Origin: origin, expectHWM: map[string]int64{}, cut: cut}
	for _, cl := range cut.Logs {
		rel, err := filepath.Rel(walDir, cl.Dir)
		if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
			_ = cut.Close()
			return nil, fmt.Errorf("backup: log directory %s is not under %s", cl.Dir, walDir)
		}
		dir := path.Join(walDirName, filepath.ToSlash(rel))
		src.expectHWM[dir] = cl.HighWatermark
		for _, s := range cl.Segments {
			src.Files = append(src.Files, SourceFile{Path: path.Join(dir, filepath.Base(s.Path)), Size: s.Size, Data: s.Reader()})
		}
		if cl.HasCheckpoint {
			b := []byte(strconv.FormatInt(cl.LogStartOffset, 10) + "\n")
			src.Files = append(src.Files, SourceFile{Path: path.Join(dir, checkpointName), Size: int64(len(b)), Data: bytes.NewReader(b)})
		}
	}
	// The format pin of a live migration (storage.FormatPinFile): a restore writes the same
	// format as the node it came from, as an offline backup (which holds every file) does.
	if b, err := os.ReadFile(filepath.Join(walDir, storage.FormatPinFile)); err == nil {
		src.Files = append(src.Files, SourceFile{Path: path.Join(walDirName, storage.FormatPinFile), Size: int64(len(b)), Data: bytes.NewReader(b)})
	} else if !errors.Is(err, fs.ErrNotExist) {
		_ = cut.Close()
		return nil, fmt.Errorf("backup: reading the WAL format pin: %w", err)
	}
	sortFiles(src.Files)
	return src, nil
}

func sortFiles(files []SourceFile) {
	slices.SortFunc(files, func(a, b SourceFile) int { return strings.Compare(a.Path, b.Path) })
}

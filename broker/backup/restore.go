package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/chronik-stream/chronik/broker/storage"
	"github.com/chronik-stream/chronik/walcodec"
)

// maxManifest bounds the manifest an archive may carry.
const maxManifest = 64 << 20

// Summary is what Restore brought back.
type Summary struct {
	DataDir    string
	Topics     int
	Partitions int
	Groups     int
	Files      int
	Bytes      int64
	Manifest   *Manifest // nil for an archive without manifest.json
	Skipped    []string  // archive entries outside wal/ (e.g. a config file) that were not restored
	Warnings   []string
}

// entry is one extracted regular file.
type entry struct {
	rel    string // slash-separated, relative to the data directory
	size   int64
	sha256 string
}

// archiveReader walks an archive's entries.
type archiveReader struct {
	tr       *tar.Reader
	manifest *Manifest
	skipped  []string
}

// mapPath turns an archive entry name into a data-directory-relative path:
// "wal/…" as is, "<prefix>/wal/…" (a manual `tar -czf … /var/lib/chronik/data/wal`)
// with the prefix removed. ok=false: not data (restored nowhere).
func mapPath(name string) (rel string, ok bool, err error) {
	clean := strings.TrimPrefix(path.Clean("/"+strings.TrimPrefix(name, "./")), "/")
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", false, fmt.Errorf("archive entry %q leaves the data directory", name)
		}
	}
	if clean == "" || clean == "." {
		return "", false, nil
	}
	if clean == ManifestName {
		return clean, true, nil
	}
	parts := strings.Split(clean, "/")
	for i, p := range parts {
		if p == walDirName {
			return strings.Join(parts[i:], "/"), true, nil
		}
	}
	return "", false, nil
}

// next returns the next data entry (directories and files under wal/), or
// io.EOF. The manifest is read into r.manifest.
func (r *archiveReader) next() (*tar.Header, string, error) {
	for {
		hdr, err := r.tr.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, "", io.EOF
			}
			return nil, "", fmt.Errorf("reading the archive: %w", err)
		}
		rel, ok, err := mapPath(hdr.Name)
		if err != nil {
			return nil, "", err
		}
		if !ok {
			if hdr.Typeflag != tar.TypeDir {
				r.skipped = append(r.skipped, hdr.Name)
			}
			continue
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
		case tar.TypeReg:
		default:
			return nil, "", fmt.Errorf("archive entry %q has unsupported type %q", hdr.Name, hdr.Typeflag)
		}
		if rel == ManifestName {
			if r.manifest != nil {
				return nil, "", errors.New("the archive holds two manifests")
			}
			if hdr.Size > maxManifest {
				return nil, "", fmt.Errorf("manifest of %d bytes is too large", hdr.Size)
			}
			var m Manifest
			if err := json.NewDecoder(io.LimitReader(r.tr, hdr.Size)).Decode(&m); err != nil {
				return nil, "", fmt.Errorf("reading %s: %w", ManifestName, err)
			}
			if m.FormatVersion < 1 || m.FormatVersion > FormatVersion {
				return nil, "", fmt.Errorf("%s has format version %d; this build reads versions 1..%d", ManifestName, m.FormatVersion, FormatVersion)
			}
			r.manifest = &m
			continue
		}
		return hdr, rel, nil
	}
}

// checkAgainst compares extracted files with the manifest.
func checkAgainst(m *Manifest, files []entry) error {
	got := map[string]entry{}
	for _, e := range files {
		got[e.rel] = e
	}
	listed := map[string]bool{}
	for _, f := range m.Files {
		listed[f.Path] = true
	}
	for _, e := range files {
		if !listed[e.rel] {
			return fmt.Errorf("%s is in the archive but not in the manifest", e.rel)
		}
	}
	for _, f := range m.Files {
		e, ok := got[f.Path]
		switch {
		case !ok:
			return fmt.Errorf("%s is listed in the manifest but missing from the archive", f.Path)
		case e.size != f.Size:
			return fmt.Errorf("%s has %d bytes, the manifest says %d", f.Path, e.size, f.Size)
		case e.sha256 != f.SHA256:
			return fmt.Errorf("%s has sha256 %s, the manifest says %s", f.Path, e.sha256, f.SHA256)
		}
	}
	return nil
}

func newArchiveReader(r io.Reader) (*archiveReader, func() error, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the archive: not gzip: %w", err)
	}
	return &archiveReader{tr: tar.NewReader(gz)}, gz.Close, nil
}

// Verify reads a whole archive and checks every file against its manifest
// without writing anything. An archive without a manifest is refused.
func Verify(ctx context.Context, r io.Reader) (*Manifest, error) {
	ar, closeGz, err := newArchiveReader(r)
	if err != nil {
		return nil, err
	}
	defer closeGz()
	var files []entry
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, rel, err := ar.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if hdr.Typeflag == tar.TypeDir {
			continue
		}
		h := sha256.New()
		n, err := io.Copy(h, ar.tr)
		if err != nil {
			return nil, fmt.Errorf("reading %s from the archive: %w", hdr.Name, err)
		}
		files = append(files, entry{rel: rel, size: n, sha256: hex.EncodeToString(h.Sum(nil))})
	}
	if ar.manifest == nil {
		return nil, fmt.Errorf("the archive has no %s", ManifestName)
	}
	if err := checkAgainst(ar.manifest, files); err != nil {
		return nil, fmt.Errorf("the archive does not match its manifest: %w", err)
	}
	return ar.manifest, nil
}

// Restore extracts a backup archive into dataDir, which must be empty or
// not exist. Everything is extracted into a temporary directory next to it
// and verified — every file's size and SHA-256 against the manifest, or, for
// an archive without one, every WAL segment's record checksums — fsynced,
// and then renamed to dataDir. On any failure dataDir is left as it was.
func Restore(ctx context.Context, r io.Reader, dataDir string) (sum Summary, err error) {
	sum.DataDir = dataDir
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return sum, err
	}
	switch des, err := os.ReadDir(abs); {
	case err == nil && len(des) > 0:
		return sum, fmt.Errorf("restore into %s: the directory is not empty (it holds %s): restore only into an empty or new data directory", dataDir, des[0].Name())
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return sum, fmt.Errorf("restore into %s: %w", dataDir, err)
	}
	parent := filepath.Dir(abs)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return sum, fmt.Errorf("restore into %s: %w", dataDir, err)
	}
	tmp, err := os.MkdirTemp(parent, filepath.Base(abs)+".tmp-")
	if err != nil {
		return sum, fmt.Errorf("restore into %s: %w", dataDir, err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return sum, err
	}
	files, ar, err := extract(ctx, r, tmp)
	if err != nil {
		return sum, fmt.Errorf("restore into %s: %w", dataDir, err)
	}
	sum.Skipped = ar.skipped
	if ar.manifest != nil {
		if err := checkAgainst(ar.manifest, files); err != nil {
			return sum, fmt.Errorf("restore into %s: the archive does not match its manifest: %w", dataDir, err)
		}
		m := ar.manifest
		sum.Manifest = m
		sum.Topics, sum.Partitions, sum.Groups = len(m.Topics), len(m.Partitions), len(m.Groups)
	} else {
		warnings, topics, partitions, err := verifySegments(tmp, files)
		if err != nil {
			return sum, fmt.Errorf("restore into %s: %w", dataDir, err)
		}
		sum.Warnings = append(warnings, fmt.Sprintf("the archive has no %s: WAL record checksums were verified instead", ManifestName))
		sum.Topics, sum.Partitions = topics, partitions
	}
	if len(files) == 0 {
		return sum, fmt.Errorf("restore into %s: the archive holds no wal/ files", dataDir)
	}
	for _, f := range files {
		sum.Files++
		sum.Bytes += f.size
	}
	if err := syncTree(tmp); err != nil {
		return sum, fmt.Errorf("restore into %s: %w", dataDir, err)
	}
	// rename(2), unlike os.Rename, replaces an empty directory.
	if err := syscall.Rename(tmp, abs); err != nil {
		return sum, fmt.Errorf("restore into %s: the directory was created or filled meanwhile: %w", dataDir, err)
	}
	if err := storage.SyncDir(parent); err != nil {
		return sum, fmt.Errorf("restore into %s: %w", dataDir, err)
	}
	return sum, nil
}

// extract writes the archive's wal/ entries under dir, fsyncing each file.
func extract(ctx context.Context, r io.Reader, dir string) ([]entry, *archiveReader, error) {
	ar, closeGz, err := newArchiveReader(r)
	if err != nil {
		return nil, nil, err
	}
	defer closeGz()
	var files []entry
	seen := map[string]bool{}
	for {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		hdr, rel, err := ar.next()
		if errors.Is(err, io.EOF) {
			return files, ar, nil
		}
		if err != nil {
			return nil, nil, err
		}
		target := filepath.Join(dir, filepath.FromSlash(rel))
		if hdr.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return nil, nil, err
			}
			continue
		}
		if seen[rel] {
			return nil, nil, fmt.Errorf("archive entry %q appears twice", hdr.Name)
		}
		seen[rel] = true
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return nil, nil, err
		}
		e, err := writeFile(target, ar.tr)
		if err != nil {
			return nil, nil, fmt.Errorf("extracting %s: %w", hdr.Name, err)
		}
		e.rel = rel
		files = append(files, e)
	}
}

func writeFile(target string, r io.Reader) (e entry, err error) {
	f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return e, err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if err != nil {
		return e, err
	}
	if err := f.Sync(); err != nil {
		return e, err
	}
	return entry{size: n, sha256: hex.EncodeToString(h.Sum(nil))}, nil
}

// verifySegments checks every WAL segment of an archive without manifest
// and counts topics and partitions from the directory layout.
func verifySegments(dir string, files []entry) (warnings []string, topics, partitions int, err error) {
	topicSet, partSet := map[string]bool{}, map[string]bool{}
	for _, f := range files {
		name := path.Base(f.rel)
		if _, _, ok := walcodec.ParseSegmentName(name); !ok {
			continue
		}
		sum, err := walcodec.VerifySegment(filepath.Join(dir, filepath.FromSlash(f.rel)), walcodec.ReadAny)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("verifying %s: %w", f.rel, err)
		}
		if sum.TornTail != nil {
			warnings = append(warnings, fmt.Sprintf("%s ends in a torn record at offset %d (the broker truncates it on open)", f.rel, sum.TornTail.Offset))
		}
		parts := strings.Split(path.Dir(f.rel), "/") // wal/<topic>/<partition>
		if len(parts) == 3 && parts[1] != metaDirName {
			topicSet[parts[1]] = true
			partSet[parts[1]+"/"+parts[2]] = true
		}
	}
	return warnings, len(topicSet), len(partSet), nil
}

// syncTree fsyncs every directory under root (files were fsynced when written).
func syncTree(root string) error {
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	slices.Reverse(dirs) // children first
	for _, d := range dirs {
		if err := storage.SyncDir(d); err != nil {
			return err
		}
	}
	return nil
}

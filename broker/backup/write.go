package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

// copyChunk is how much Write copies between context checks.
const copyChunk = 4 << 20

// Options qualify a backup.
type Options struct {
	ChronikVersion string // recorded in the manifest; "" = the binary's module version
	// WALFormat is recorded when the archive holds no WAL record at all.
	WALFormat uint8
	Now       func() time.Time // nil = time.Now
}

// Write streams a tar.gz backup of src to w: directories, every file in path
// order (each cut at its size in the source, torn final records left out),
// then manifest.json. It reads every WAL segment twice: once to verify it
// and derive the manifest, once to archive it. On error the archive written
// so far is incomplete (no manifest): callers must discard it.
func Write(ctx context.Context, w io.Writer, src *Source, opt Options) (*Manifest, error) {
	a, err := analyze(src)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	m := &Manifest{
		FormatVersion:  FormatVersion,
		CreatedAt:      now().UTC().Truncate(time.Millisecond),
		ChronikVersion: opt.ChronikVersion,
		WALFormat:      opt.WALFormat,
		Source:         src.Origin,
		Files:          []File{},
	}
	if m.ChronikVersion == "" {
		m.ChronikVersion = moduleVersion()
	}
	a.fill(m)
	if m.WALFormat == 0 {
		m.WALFormat = opt.WALFormat
	}

	gz, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(gz)
	mtime := m.CreatedAt
	for _, d := range dirsOf(src.Files) {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: mtime}); err != nil {
			return nil, fmt.Errorf("backup: writing the archive: %w", err)
		}
	}
	for i, f := range src.Files {
		size := a.sizes[i]
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.Path, Mode: 0o644, Size: size, ModTime: mtime}); err != nil {
			return nil, fmt.Errorf("backup: writing the archive: %w", err)
		}
		h := sha256.New()
		dst := io.MultiWriter(tw, h)
		for off := int64(0); off < size; off += copyChunk {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("backup: %w", err)
			}
			n := min(copyChunk, size-off)
			if _, err := io.Copy(dst, io.NewSectionReader(f.Data, off, n)); err != nil {
				return nil, fmt.Errorf("backup: archiving %s: %w", f.Path, err)
			}
		}
		m.Files = append(m.Files, File{Path: f.Path, Size: size, SHA256: hex.EncodeToString(h.Sum(nil))})
	}
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	body = append(body, '\n')
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: ManifestName, Mode: 0o644, Size: int64(len(body)), ModTime: mtime}); err != nil {
		return nil, fmt.Errorf("backup: writing the archive: %w", err)
	}
	if _, err := tw.Write(body); err != nil {
		return nil, fmt.Errorf("backup: writing the archive: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("backup: writing the archive: %w", err)
	}
	if err := gz.Close(); err != nil {
		return nil, fmt.Errorf("backup: writing the archive: %w", err)
	}
	return m, nil
}

// dirsOf lists every directory above the files, parents first.
func dirsOf(files []SourceFile) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range files {
		for d := path.Dir(f.Path); d != "." && d != "/" && !seen[d]; d = path.Dir(d) {
			seen[d] = true
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		return strings.Compare(a, b) // a parent sorts before its children
	})
	return out
}

// moduleVersion is the Chronik version of this binary as far as the build
// info tells: the -X main.version linker value of a release build, else the
// module version ("(devel)" for a local build).
func moduleVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, s := range bi.Settings {
		if s.Key != "-ldflags" {
			continue
		}
		if _, v, found := strings.Cut(s.Value, "main.version="); found {
			if f := strings.Fields(v); len(f) > 0 {
				return "v" + strings.TrimPrefix(strings.Trim(f[0], `'"`), "v")
			}
		}
	}
	return bi.Main.Version
}

package walmigrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chronik-stream/chronik/broker/storage"
	"github.com/chronik-stream/chronik/walcodec"
)

// segmentBatches reads a segment's records: versions and batches.
func segmentBatches(t *testing.T, path string) (versions []uint8, batches [][]byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	sr := walcodec.NewSegmentReader(path, f, st.Size(), walcodec.ReadAny)
	for {
		rec, _, err := sr.Next()
		if errors.Is(err, io.EOF) {
			return versions, batches
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		versions = append(versions, rec.Version)
		for _, c := range rec.Canonical {
			batches = append(batches, c.Batch)
		}
	}
}

// TestConvertSegment converts single sealed segments: V2 and V3 input give a
// V3 segment with the same batches byte for byte; damage of any kind (a torn
// record too: the segment is sealed) is a *DamageError naming path and byte
// offset, and no output is left.
func TestConvertSegment(t *testing.T) {
	tests := []struct {
		name       string
		format     uint8
		damage     func(t *testing.T, path string) string // returns the wanted Reason
		wantFirstV uint8
	}{
		{name: "V2 segment", format: walcodec.V2, wantFirstV: walcodec.V2},
		{name: "V3 segment", format: walcodec.V3, wantFirstV: walcodec.V3},
		{name: "checksum mismatch", format: walcodec.V2, damage: func(t *testing.T, path string) string {
			starts := recordStarts(t, path)
			b, _ := os.ReadFile(path)
			b[starts[1]+walcodec.HeaderSize+20] ^= 0xff
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("InvalidChecksum at offset %d", starts[1])
		}},
		{name: "torn record in a sealed segment", format: walcodec.V2, damage: func(t *testing.T, path string) string {
			starts := recordStarts(t, path)
			b, _ := os.ReadFile(path)
			if err := os.WriteFile(path, b[:len(b)-5], 0o644); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("torn record at offset %d", starts[len(starts)-1])
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "wal")
			buildWAL(t, root, tt.format)
			src := segmentsOf(t, filepath.Join(root, "orders", "0"))[0]
			_, wantBatches := segmentBatches(t, src)
			wantReason := ""
			if tt.damage != nil {
				wantReason = tt.damage(t, src)
			}
			dst := TempPath(src)
			st, err := ConvertSegment(context.Background(), src, dst)
			if wantReason != "" {
				var de *DamageError
				if !errors.As(err, &de) || de.Reason() != wantReason || de.Path != src {
					t.Fatalf("ConvertSegment = %v, want a DamageError %q in %s", err, wantReason, src)
				}
				if _, serr := os.Stat(dst); !errors.Is(serr, os.ErrNotExist) {
					t.Fatalf("output %s left after a failure: %v", dst, serr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			versions, batches := segmentBatches(t, dst)
			if st.FirstVersion != tt.wantFirstV || st.Records != int64(len(versions)) || st.Batches != int64(len(wantBatches)) {
				t.Fatalf("stats %+v for %d records and %d batches", st, len(versions), len(wantBatches))
			}
			if tt.format == walcodec.V2 && st.Converted != st.Records || tt.format == walcodec.V3 && st.Converted != 0 {
				t.Fatalf("converted %d of %d records from format %d", st.Converted, st.Records, tt.format)
			}
			for _, v := range versions {
				if v != walcodec.V3 {
					t.Fatalf("output holds a version %d record", v)
				}
			}
			if len(batches) != len(wantBatches) {
				t.Fatalf("%d batches out, %d in", len(batches), len(wantBatches))
			}
			for i := range batches {
				if !bytes.Equal(batches[i], wantBatches[i]) {
					t.Fatalf("batch %d differs", i)
				}
			}
			if err := RemoveTemps(root); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("RemoveTemps left %s: %v", dst, err)
			}
		})
	}
}

// TestEffectiveFormatPinned: with wal_format = 2 and a V3 pin left by a live migration, the
// start writes V3 and logs the decision; MigrateOnStart at V3 then converts what an
// interrupted live migration left (here: everything); a garbled pin fails with its path.
func TestEffectiveFormatPinned(t *testing.T) {
	root, _ := v2Root(t)
	if f, err := EffectiveFormat(root, walcodec.V2, nil); err != nil || f != walcodec.V2 {
		t.Fatalf("without a pin: %d, %v", f, err)
	}
	if err := storage.WriteFormatPin(root, walcodec.V3); err != nil {
		t.Fatal(err)
	}
	h := &captureHandler{}
	f, err := EffectiveFormat(root, walcodec.V2, slog.New(h))
	if err != nil || f != walcodec.V3 {
		t.Fatalf("with a V3 pin: %d, %v", f, err)
	}
	msgs := strings.Join(h.messages(), "\n")
	if !strings.Contains(msgs, "INFO wal_format = 2 overridden: this WAL directory was migrated to V3 while running; new records stay V3") {
		t.Fatalf("no decision logged:\n%s", msgs)
	}
	if err := MigrateOnStart(context.Background(), root, f, nil); err != nil {
		t.Fatal(err)
	}
	tr, err := scanRoot(root, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range tr.Segments {
		if s.needsConversion() {
			t.Fatalf("%s left V2 after the start", s.Rel)
		}
	}
	if err := os.WriteFile(filepath.Join(root, storage.FormatPinFile), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := EffectiveFormat(root, walcodec.V2, nil); err == nil || !strings.Contains(err.Error(), storage.FormatPinFile) {
		t.Fatalf("garbled pin: %v", err)
	}
}

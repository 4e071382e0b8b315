package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-stream/chronik/walcodec"
)

// addDebugCmds adds `debug wal-dump` and `debug wal-verify`: offline tools
// that read segment files directly and never modify them.
func addDebugCmds(root *cobra.Command) {
	debug := &cobra.Command{
		Use:   "debug",
		Short: "Inspect WAL segments offline (read-only)",
		Args:  cobra.NoArgs,
	}
	debug.AddCommand(newWALDumpCmd(), newWALVerifyCmd())
	root.AddCommand(debug)
}

func newWALDumpCmd() *cobra.Command {
	var opts dumpOptions
	var path string
	cmd := &cobra.Command{
		Use:   "wal-dump --path FILE",
		Short: "Print every record of a WAL segment",
		Long: "Print one line per WAL record: byte offset, format version, record type, timestamp (unix ms),\n" +
			"number of Kafka batches and records, offset range and raft_metadata. A torn final record is\n" +
			"reported at the end; a corrupt record stops the dump with an error naming its byte offset.",
		Example: "  chronik-server debug wal-dump --path /var/lib/chronik/data/wal/__meta/wal_0_00000001.log | grep raft_metadata",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SilenceUsage = true // flags were fine: do not bury the error under the usage text
			return dumpSegment(cmd.OutOrStdout(), path, opts)
		},
	}
	cmd.Flags().StringVar(&path, "path", "", "segment file (wal_<partition>_<seq>.log)")
	cmd.Flags().BoolVar(&opts.batches, "batches", false, "also print one line per Kafka RecordBatch")
	_ = cmd.MarkFlagRequired("path")
	return cmd
}

func newWALVerifyCmd() *cobra.Command {
	var path string
	var v2Only bool
	cmd := &cobra.Command{
		Use:   "wal-verify --path FILE|DIR",
		Short: "Verify the checksums of WAL segments",
		Long: "Verify every record checksum and every Kafka RecordBatch of a segment, or of every *.log\n" +
			"segment under a directory (recursively, in path order). Prints one line per segment and a\n" +
			"total. Exits non-zero naming each bad segment and byte offset. A torn final record alone is a\n" +
			"warning (it is truncated when the broker opens the log) and does not fail the check.\n" +
			"--v2-only reads as a v1.x broker would: it fails on V3 records (use it before a rollback).",
		Example: "  chronik-server debug wal-verify --path /var/lib/chronik/data/wal",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SilenceUsage = true
			mode := walcodec.ReadAny
			if v2Only {
				mode = walcodec.ReadV2Only
			}
			return verifyPath(cmd.OutOrStdout(), path, mode)
		},
	}
	cmd.Flags().StringVar(&path, "path", "", "segment file, or a directory searched recursively for *.log segments")
	cmd.Flags().BoolVar(&v2Only, "v2-only", false, "refuse V3 records like a v1.x reader")
	_ = cmd.MarkFlagRequired("path")
	return cmd
}

type dumpOptions struct {
	batches bool // one extra line per Kafka RecordBatch
}

// dumpSegment prints the records of the segment at path to w.
func dumpSegment(w io.Writer, path string, opts dumpOptions) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("wal-dump: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("wal-dump: %w", err)
	}
	if st.IsDir() {
		return fmt.Errorf("wal-dump: %s is a directory: pass one segment file (wal-verify takes directories)", path)
	}
	sr := walcodec.NewSegmentReader(path, f, st.Size(), walcodec.ReadAny)
	var records, batches int
	var kafkaRecords int64
	for {
		rec, pos, err := sr.Next()
		var torn *walcodec.TornTailError
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			_, err := fmt.Fprintf(w, "end of segment at offset %d: %d records, %d batches, %d kafka records\n", pos, records, batches, kafkaRecords)
			return err
		case errors.As(err, &torn):
			_, err := fmt.Fprintf(w, "end of segment at offset %d: %d records, %d batches, %d kafka records\n%s\n",
				pos, records, batches, kafkaRecords, tornNotice(torn))
			return err
		default:
			return fmt.Errorf("wal-dump: stopped after %d records: %w", records, err)
		}
		records++
		batches += len(rec.Canonical)
		n := int64(0)
		for i := range rec.Canonical {
			n += int64(batchRecordCount(rec.Canonical[i].Batch))
		}
		kafkaRecords += n
		offsets := "-"
		if c := rec.Canonical; len(c) > 0 {
			offsets = fmt.Sprintf("%d..%d", c[0].BaseOffset, c[len(c)-1].LastOffset())
		}
		if _, err := fmt.Fprintf(w, "offset=%d version=%d type=%s timestamp=%d batches=%d records=%d offsets=%s bytes=%d raft_metadata: %s\n",
			pos, rec.Version, rec.Type, rec.Timestamp, len(rec.Canonical), n, offsets, walcodec.EncodedSize(&rec), rec.Raft); err != nil {
			return err
		}
		if opts.batches {
			for i := range rec.Canonical {
				if _, err := fmt.Fprintf(w, "  batch at offset=%d %s\n", pos+int64(rec.Canonical[i].BatchPos), describeBatch(&rec.Canonical[i])); err != nil {
					return err
				}
			}
		}
	}
}

func tornNotice(t *walcodec.TornTailError) string {
	return fmt.Sprintf("torn tail at offset %d (will be truncated on open): %d bytes of an incomplete final record", t.Offset, t.Have)
}

// batchRecordCount is a RecordBatch's num_records, 0 if the header is unreadable.
func batchRecordCount(b []byte) int32 {
	var rb kmsg.RecordBatch
	if err := rb.UnsafeReadFrom(b); err != nil {
		return 0
	}
	return rb.NumRecords
}

// codecName names a RecordBatch's compression codec (attribute bits 0..2).
func codecName(attrs int16) string {
	switch attrs & 7 {
	case 0:
		return "none"
	case 1:
		return "gzip"
	case 2:
		return "snappy"
	case 3:
		return "lz4"
	case 4:
		return "zstd"
	default:
		return fmt.Sprintf("unknown(%d)", attrs&7)
	}
}

func describeBatch(c *walcodec.CanonicalRecord) string {
	var rb kmsg.RecordBatch
	if err := rb.UnsafeReadFrom(c.Batch); err != nil {
		return fmt.Sprintf("base_offset=%d last_offset=%d bytes=%d unreadable RecordBatch: %v", c.BaseOffset, c.LastOffset(), len(c.Batch), err)
	}
	return fmt.Sprintf("base_offset=%d last_offset=%d records=%d max_timestamp=%d producer_id=%d producer_epoch=%d base_sequence=%d compression=%s bytes=%d",
		c.BaseOffset, c.LastOffset(), rb.NumRecords, c.MaxTimestamp, c.ProducerID, c.ProducerEpoch, c.BaseSequence, codecName(rb.Attributes), len(c.Batch))
}

// verifyPath verifies one segment, or every *.log file under a directory,
// printing a line per segment and a total line to w. The error names every
// failed segment and byte offset; torn tails alone do not fail.
func verifyPath(w io.Writer, path string, mode walcodec.Mode) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("wal-verify: %w", err)
	}
	segments := []string{path}
	if st.IsDir() {
		if segments, err = findSegments(path); err != nil {
			return fmt.Errorf("wal-verify: %w", err)
		}
		if len(segments) == 0 {
			return fmt.Errorf("wal-verify: no *.log segments under %s", path)
		}
	}
	var total walcodec.SegmentSummary
	var torn int
	var failures []string
	for _, seg := range segments {
		sum, err := walcodec.VerifySegment(seg, mode)
		total.Records += sum.Records
		total.Batches += sum.Batches
		total.KafkaRecords += sum.KafkaRecords
		total.Size += sum.Size
		status, detail := "OK  ", ""
		switch {
		case errors.Is(err, walcodec.ErrV3InV2Mode): // a v1.x broker could not read this data
			status, detail = "FAIL", "; "+v2OnlyRefusal(seg, sum.ValidBytes)
			failures = append(failures, v2OnlyRefusal(seg, sum.ValidBytes))
		case err != nil:
			status, detail = "FAIL", "; "+describeFailure(err)
			failures = append(failures, seg+": "+describeFailure(err))
		case sum.TornTail != nil:
			status = "WARN"
			torn++
		}
		if sum.TornTail != nil {
			detail += "; " + tornNotice(sum.TornTail)
		}
		if _, err := fmt.Fprintf(w, "%s %s %s%s\n", status, seg, summaryFields(sum), detail); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprintf(w, "total: segments=%d ok=%d torn=%d failed=%d records=%d batches=%d kafka_records=%d bytes=%d\n",
		len(segments), len(segments)-torn-len(failures), torn, len(failures), total.Records, total.Batches, total.KafkaRecords, total.Size); err != nil {
		return err
	}
	if len(failures) > 0 {
		return fmt.Errorf("wal-verify: %d of %d segments failed: %s", len(failures), len(segments), strings.Join(failures, "; "))
	}
	return nil
}

func summaryFields(s walcodec.SegmentSummary) string {
	offsets := "-"
	if s.Batches > 0 {
		offsets = fmt.Sprintf("%d..%d", s.FirstOffset, s.LastOffset)
	}
	return fmt.Sprintf("records=%d batches=%d kafka_records=%d offsets=%s v2=%d v3=%d raft=%d bytes=%d",
		s.Records, s.Batches, s.KafkaRecords, offsets, s.V2Records, s.V3Records, s.RaftRecords, s.Size)
}

// describeFailure says what is wrong and where, without repeating the path.
func describeFailure(err error) string {
	var ce *walcodec.CorruptError
	var be *walcodec.BatchError
	switch {
	case errors.As(err, &ce):
		return ce.Reason()
	case errors.As(err, &be):
		return fmt.Sprintf("bad kafka batch at offset %d (record at offset %d): %v", be.Offset, be.Record, be.Err)
	default:
		return err.Error()
	}
}

// findSegments lists the *.log files under dir, recursively, sorted by path.
func findSegments(dir string) ([]string, error) {
	var segs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".log") {
			segs = append(segs, p)
		}
		return nil
	})
	sort.Strings(segs)
	return segs, err
}

package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-stream/chronik/broker/meta"
	"github.com/chronik-stream/chronik/walcodec"
)

// genOptions shape a generated v1.x data directory.
type genOptions struct {
	dataDir      string
	size         int64 // partition bytes to write, in total
	topic        string
	partitions   int32
	segmentBytes int64
	recordSize   int // Kafka record value size
	batchRecords int // records per Kafka batch
	walBatches   int // Kafka batches per WAL record (a group commit)
}

// newGenV2Cmd is the hidden `debug gen-v2`: it writes a v1.x (V2) data
// directory of a given size quickly, for scripts/bench-migrate.sh. Segments
// are written directly with walcodec (no fsync); every Kafka batch is valid
// (same records, its own base offset), and the metadata log holds the topic.
func newGenV2Cmd() *cobra.Command {
	o := genOptions{}
	var size, segBytes string
	cmd := &cobra.Command{
		Use:    "gen-v2 --data-dir DIR --size 2GiB",
		Short:  "Generate a V2 (v1.x) data directory for benchmarks",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SilenceUsage = true
			n, err := parseSize(size)
			if err != nil {
				return err
			}
			o.size = n
			if o.segmentBytes, err = parseSize(segBytes); err != nil {
				return err
			}
			segs, err := genV2(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "generated %s: topic %s, %d partitions, %d segments, %d bytes of partition data\n",
				o.dataDir, o.topic, o.partitions, segs, o.size)
			return nil
		},
	}
	cmd.Flags().StringVar(&o.dataDir, "data-dir", "", "data directory to create (must not exist)")
	cmd.Flags().StringVar(&size, "size", "2GiB", "partition data to write (bytes, or with KiB/MiB/GiB)")
	cmd.Flags().StringVar(&o.topic, "topic", "bench", "topic name")
	cmd.Flags().Int32Var(&o.partitions, "partitions", 4, "partitions")
	cmd.Flags().StringVar(&segBytes, "segment-bytes", "128MiB", "segment size (bytes, or with KiB/MiB/GiB)")
	cmd.Flags().IntVar(&o.recordSize, "record-size", 1024, "Kafka record value size")
	cmd.Flags().IntVar(&o.batchRecords, "batch-records", 16, "records per Kafka batch")
	cmd.Flags().IntVar(&o.walBatches, "wal-batches", 16, "Kafka batches per WAL record")
	_ = cmd.MarkFlagRequired("data-dir")
	return cmd
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if t, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = t, u.m
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number of bytes, KiB, MiB or GiB", s)
	}
	return n * mult, nil
}

func genV2(ctx context.Context, o genOptions) (segments int, err error) {
	if _, err := os.Stat(o.dataDir); err == nil {
		return 0, fmt.Errorf("gen-v2: %s exists", o.dataDir)
	}
	if o.partitions < 1 || o.batchRecords < 1 || o.walBatches < 1 || o.recordSize < 0 {
		return 0, fmt.Errorf("gen-v2: partitions, batch-records and wal-batches must be positive")
	}
	walDir := filepath.Join(o.dataDir, "wal")
	st, err := meta.Open(filepath.Join(walDir, "__meta"), walcodec.V2, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		return 0, err
	}
	_, err = st.CreateTopic(ctx, o.topic, o.partitions, 1, nil)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	template := genBatch(o.batchRecords, o.recordSize)
	perPartition := o.size / int64(o.partitions)
	for p := int32(0); p < o.partitions; p++ {
		n, err := genPartition(ctx, filepath.Join(walDir, o.topic, strconv.Itoa(int(p))), p, perPartition, template, o)
		if err != nil {
			return segments, err
		}
		segments += n
	}
	return segments, nil
}

// genBatch is one valid uncompressed RecordBatch of n records with random
// values; copies of it with another base offset stay valid (the CRC does not
// cover the base offset).
func genBatch(n, valueSize int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var recs []byte
	for i := 0; i < n; i++ {
		v := make([]byte, valueSize)
		for j := range v {
			v[j] = byte(rng.Uint32())
		}
		r := kmsg.Record{OffsetDelta: int32(i), TimestampDelta64: int64(i), Key: []byte("key-" + strconv.Itoa(i)), Value: v}
		body := r.AppendTo(nil)
		r.Length = int32(len(body) - 1)
		recs = r.AppendTo(recs)
	}
	const ts = 1700000000000
	b := kmsg.RecordBatch{PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: int32(n - 1), FirstTimestamp: ts, MaxTimestamp: ts + int64(n-1),
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(n), Records: recs}
	raw := b.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}

// genPartition writes about total bytes of V2 segments into dir.
func genPartition(ctx context.Context, dir string, partition int32, total int64, template []byte, o genOptions) (segments int, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	n := int64(o.batchRecords)
	var (
		f       *os.File
		bw      *bufio.Writer
		w       *walcodec.Writer
		written int64
		segSize int64
		offset  int64
	)
	closeSeg := func() error {
		if f == nil {
			return nil
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		return f.Close()
	}
	batches := make([][]byte, o.walBatches)
	for i := range batches {
		batches[i] = append([]byte(nil), template...)
	}
	canon := make([]walcodec.CanonicalRecord, o.walBatches)
	for written < total {
		if err := ctx.Err(); err != nil {
			return segments, err
		}
		if f == nil || segSize >= o.segmentBytes {
			if err := closeSeg(); err != nil {
				return segments, err
			}
			segments++
			if f, err = os.Create(filepath.Join(dir, walcodec.SegmentName(partition, uint64(segments)))); err != nil {
				return segments, err
			}
			bw = bufio.NewWriterSize(f, 4<<20)
			w, segSize = walcodec.NewWriter(bw), 0
		}
		for i := range canon {
			binary.BigEndian.PutUint64(batches[i], uint64(offset))
			canon[i] = walcodec.CanonicalRecord{BaseOffset: offset, LastOffsetDelta: int32(n - 1), MaxTimestamp: 1700000000000 + n - 1,
				ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, Batch: batches[i]}
			offset += n
		}
		k, err := w.Append(&walcodec.Record{Version: walcodec.V2, Type: walcodec.RecordData, Timestamp: 1700000000000, Canonical: canon})
		if err != nil {
			return segments, err
		}
		written += int64(k)
		segSize += int64(k)
	}
	return segments, closeSeg()
}

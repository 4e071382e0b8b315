package storage

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestParseBatchHeaderMatchesKmsg(t *testing.T) {
	raw := makeBatch(t, spec{records: 4, valueSize: 50, ts: 1700000000000, idem: true, pid: 77, epoch: 3, seq: 12})
	raw = append(raw, 0xde, 0xad) // bytes after the batch are not its business
	h, err := ParseBatchHeader(raw)
	if err != nil {
		t.Fatal(err)
	}
	var want kmsg.RecordBatch
	if err := want.ReadFrom(raw[:len(raw)-2]); err != nil {
		t.Fatal(err)
	}
	got := BatchHeader{
		BaseOffset: want.FirstOffset, Length: want.Length, PartitionLeaderEpoch: want.PartitionLeaderEpoch,
		Magic: want.Magic, CRC: uint32(want.CRC), Attributes: want.Attributes, LastOffsetDelta: want.LastOffsetDelta,
		FirstTimestamp: want.FirstTimestamp, MaxTimestamp: want.MaxTimestamp, ProducerID: want.ProducerID,
		ProducerEpoch: want.ProducerEpoch, BaseSequence: want.FirstSequence, NumRecords: want.NumRecords,
	}
	if h != got {
		t.Fatalf("ParseBatchHeader = %+v\nkmsg says        %+v", h, got)
	}
	if h.Size() != len(raw)-2 {
		t.Fatalf("Size %d, want %d", h.Size(), len(raw)-2)
	}
	raw[30] ^= 1 // inside the CRC-covered part
	if _, err := ParseBatchHeader(raw); kerrOf(err) != kerr.CorruptMessage {
		t.Fatalf("corrupted batch: %v", err)
	}
}

func TestLastSequenceWraps(t *testing.T) {
	tests := []struct{ first, delta, want int32 }{
		{0, 0, 0}, {5, 3, 8}, {2147483647, 0, 2147483647}, {2147483647, 1, 0}, {2147483646, 4, 2},
	}
	for _, tc := range tests {
		if got := lastSequence(tc.first, tc.delta); got != tc.want {
			t.Errorf("lastSequence(%d, %d) = %d, want %d", tc.first, tc.delta, got, tc.want)
		}
	}
}

package walmigrate

import (
	"strings"
	"testing"

	"github.com/chronik-stream/chronik/walcodec"
)

// TestOutVerifier: the in-memory output check accepts a good V3 buffer and
// refuses a flipped record byte, a flipped batch byte (CRC-32C), a V2 record
// and offsets that do not rise.
func TestOutVerifier(t *testing.T) {
	batch := testBatch(t, 3, "v", -1, 0)
	encode := func(t *testing.T, version uint8, bases ...int64) ([]byte, int) {
		t.Helper()
		var buf []byte
		batchAt := 0
		for _, base := range bases {
			c := append([]byte(nil), batch...)
			binaryPutBase(c, base)
			rec := walcodec.Record{Version: version, Type: 1, Timestamp: 1700000000000, Canonical: []walcodec.CanonicalRecord{{
				BaseOffset: base, LastOffsetDelta: 2, MaxTimestamp: 1700000000002, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, Batch: c}}}
			start := len(buf)
			var err error
			if buf, err = walcodec.AppendRecord(buf, &rec); err != nil {
				t.Fatal(err)
			}
			batchAt = start + rec.Canonical[0].BatchPos
		}
		return buf, batchAt
	}
	tests := []struct {
		name    string
		version uint8
		bases   []int64
		mutate  func(buf []byte, batchAt int)
		wantErr string
	}{
		{name: "good", version: walcodec.V3, bases: []int64{0, 3, 6}},
		{name: "record byte flipped", version: walcodec.V3, bases: []int64{0, 3}, mutate: func(b []byte, _ int) { b[walcodec.HeaderSize+2] ^= 1 }, wantErr: "InvalidChecksum"},
		{name: "batch CRC", version: walcodec.V3, bases: []int64{0}, mutate: func(b []byte, _ int) {
			// flip a batch byte and fix the WAL record checksum, so only the batch CRC catches it
			b[len(b)-1] ^= 1
			putU32(b[9:], walcodec.Checksum(b[walcodec.HeaderSize:]))
		}, wantErr: "CRC-32C"},
		{name: "V2 record", version: walcodec.V2, bases: []int64{0}, wantErr: "want V3"},
		{name: "offsets not rising", version: walcodec.V3, bases: []int64{3, 0}, wantErr: "not after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf, at := encode(t, tt.version, tt.bases...)
			if tt.mutate != nil {
				tt.mutate(buf, at)
			}
			var v outVerifier
			err := v.check(buf, 0)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				res := segResult{Records: int64(len(tt.bases)), Batches: int64(len(tt.bases)), FirstOff: tt.bases[0], LastOff: tt.bases[len(tt.bases)-1] + 2}
				if err := v.matches(&res); err != nil {
					t.Fatal(err)
				}
				res.Batches++
				if err := v.matches(&res); err == nil {
					t.Fatal("count mismatch accepted")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func putU32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}

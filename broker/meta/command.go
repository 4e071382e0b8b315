package meta

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Command kinds (the record key of each command batch).
const (
	kindCreateTopic      = "create_topic"
	kindDeleteTopic      = "delete_topic"
	kindCreatePartitions = "create_partitions"
	kindSetTopicConfigs  = "set_topic_configs"
	kindCommitOffsets    = "commit_offsets"
	kindDeleteOffsets    = "delete_offsets"
	kindPutGroup         = "put_group"
	kindDeleteGroup      = "delete_group"
	kindAllocProducerID  = "allocate_producer_id"
	kindSnapshot         = "snapshot"
)

// Command bodies. Req identifies the proposal so the proposing caller can
// collect Apply's result; it does not influence the state.
type (
	createTopicCmd struct {
		Req               uint64            `json:"req,omitempty"`
		Name              string            `json:"name"`
		ID                string            `json:"id"` // UUID text
		Partitions        int32             `json:"partitions"`
		ReplicationFactor int16             `json:"replication_factor"`
		Configs           map[string]string `json:"configs,omitempty"`
	}
	deleteTopicCmd struct {
		Req  uint64 `json:"req,omitempty"`
		Name string `json:"name"`
	}
	createPartitionsCmd struct {
		Req   uint64 `json:"req,omitempty"`
		Name  string `json:"name"`
		Total int32  `json:"total"`
	}
	setTopicConfigsCmd struct {
		Req     uint64            `json:"req,omitempty"`
		Name    string            `json:"name"`
		Configs map[string]string `json:"configs"`
	}
	commitOffsetsCmd struct {
		Req     uint64         `json:"req,omitempty"`
		Group   string         `json:"group"`
		Offsets []OffsetCommit `json:"offsets"`
	}
	deleteOffsetsCmd struct {
		Req        uint64           `json:"req,omitempty"`
		Group      string           `json:"group"`
		Partitions []TopicPartition `json:"partitions"`
	}
	putGroupCmd struct {
		Req   uint64      `json:"req,omitempty"`
		Group GroupRecord `json:"group"`
	}
	deleteGroupCmd struct {
		Req   uint64 `json:"req,omitempty"`
		Group string `json:"group"`
	}
	allocProducerIDCmd struct {
		Req uint64 `json:"req,omitempty"`
	}
	snapshotCmd struct {
		Req            uint64          `json:"req,omitempty"`
		Topics         []topicJSON     `json:"topics"`
		Groups         []GroupRecord   `json:"groups"`
		Offsets        []groupOffsets  `json:"offsets"`
		NextProducerID int64           `json:"next_producer_id"`
		Extra          json.RawMessage `json:"extra,omitempty"` // reserved
	}
	groupOffsets struct {
		Group   string         `json:"group"`
		Offsets []OffsetCommit `json:"offsets"`
	}
	topicJSON struct {
		Name              string            `json:"name"`
		ID                string            `json:"id"`
		Partitions        int32             `json:"partitions"`
		ReplicationFactor int16             `json:"replication_factor"`
		Configs           map[string]string `json:"configs,omitempty"`
	}
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeCommand wraps a command in a Kafka RecordBatch: magic 2, no
// compression, producer id -1, one record with key = kind, value = JSON.
func encodeCommand(kind string, body any, nowMs int64) ([]byte, error) {
	value, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encoding %s command: %w", kind, err)
	}
	rec := kmsg.Record{Key: []byte(kind), Value: value}
	// Length counts the bytes after the length varint; with Length 0 that
	// varint is one byte.
	rec.Length = int32(len(rec.AppendTo(nil)) - 1)
	records := rec.AppendTo(nil)

	batch := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		FirstTimestamp:       nowMs,
		MaxTimestamp:         nowMs,
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
		NumRecords:           1,
		Records:              records,
	}
	batch.Length = int32(batchHeaderAfterLength + len(records))
	b := batch.AppendTo(nil)
	binary.BigEndian.PutUint32(b[crcPos:], crc32.Checksum(b[crcPos+4:], castagnoli))
	return b, nil
}

const (
	// batchHeaderAfterLength: bytes of the batch header after the length field.
	batchHeaderAfterLength = 49
	// crcPos: offset of the CRC in a RecordBatch (base offset 8, length 4, epoch 4, magic 1).
	crcPos = 17
)

// decodeCommand unwraps a command batch into its kind and JSON value.
func decodeCommand(b []byte) (kind string, value []byte, err error) {
	var batch kmsg.RecordBatch
	if err := batch.ReadFrom(b); err != nil {
		return "", nil, fmt.Errorf("decoding command batch: %w", err)
	}
	if batch.Magic != 2 {
		return "", nil, fmt.Errorf("command batch has magic %d, want 2", batch.Magic)
	}
	if int(batch.Length)+12 != len(b) {
		return "", nil, fmt.Errorf("command batch length %d does not match its %d bytes", batch.Length, len(b))
	}
	if got := crc32.Checksum(b[crcPos+4:], castagnoli); got != uint32(batch.CRC) {
		return "", nil, fmt.Errorf("command batch CRC %08x, computed %08x", uint32(batch.CRC), got)
	}
	if batch.Attributes&0x07 != 0 {
		return "", nil, errors.New("command batch is compressed")
	}
	if batch.NumRecords != 1 {
		return "", nil, fmt.Errorf("command batch holds %d records, want 1", batch.NumRecords)
	}
	var rec kmsg.Record
	if err := rec.ReadFrom(batch.Records); err != nil {
		return "", nil, fmt.Errorf("decoding command record: %w", err)
	}
	return string(rec.Key), rec.Value, nil
}

// formatUUID renders a topic id as 8-4-4-4-12 hex.
func formatUUID(id [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], id[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], id[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], id[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], id[8:10])
	b[23] = '-'
	hex.Encode(b[24:], id[10:16])
	return string(b[:])
}

func parseUUID(s string) ([16]byte, error) {
	var id [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, fmt.Errorf("malformed topic id %q", s)
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	if _, err := hex.Decode(id[:], []byte(h)); err != nil {
		return id, fmt.Errorf("malformed topic id %q: %w", s, err)
	}
	return id, nil
}

package raftstore

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Entries of the metadata group. Every raft.LogCommand entry starts with a kind byte and the id of
// the node that proposed it as leader (the leader_id of the raft_meta written to the __meta log):
//
//	kind u8 | leader u64 | payload
//
// entryMeta carries a meta.Store command (a Kafka RecordBatch, see package meta); entryCluster a
// JSON clusterCmd.
const (
	entryMeta    byte = 1
	entryCluster byte = 2
)

const entryHeader = 1 + 8

func encodeEntry(kind byte, leader uint64, payload []byte) []byte {
	b := make([]byte, entryHeader+len(payload))
	b[0] = kind
	binary.BigEndian.PutUint64(b[1:], leader)
	copy(b[entryHeader:], payload)
	return b
}

func decodeEntry(b []byte) (kind byte, leader uint64, payload []byte, err error) {
	if len(b) < entryHeader {
		return 0, 0, nil, fmt.Errorf("raft entry of %d bytes is shorter than its %d byte header", len(b), entryHeader)
	}
	kind = b[0]
	if kind != entryMeta && kind != entryCluster {
		return 0, 0, nil, fmt.Errorf("unknown raft entry kind %d (written by a newer version?)", kind)
	}
	return kind, binary.BigEndian.Uint64(b[1:]), b[entryHeader:], nil
}

// errEntry marks an entry the FSM could not decode or apply (as opposed to a refused command).
var errEntry = errors.New("invalid raft entry")

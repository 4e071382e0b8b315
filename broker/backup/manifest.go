package backup

import (
	"encoding/hex"
	"time"
)

// ManifestName is the manifest's path in an archive.
const ManifestName = "manifest.json"

// FormatVersion is the manifest format this package writes and the newest it
// restores.
const FormatVersion = 1

// Manifest describes a backup archive.
type Manifest struct {
	FormatVersion  int         `json:"format_version"`
	CreatedAt      time.Time   `json:"created_at"`
	ChronikVersion string      `json:"chronik_version"`
	WALFormat      uint8       `json:"wal_format"` // newest record version in the archive (3 if any V3 record), else the configured one
	Source         string      `json:"source"`     // where it was taken from
	Topics         []Topic     `json:"topics"`
	Partitions     []Partition `json:"partitions"`
	Groups         []Group     `json:"groups"`
	Files          []File      `json:"files"`
	Warnings       []string    `json:"warnings,omitempty"`
}

// Topic is one topic as the metadata log records it.
type Topic struct {
	Name              string            `json:"name"`
	ID                string            `json:"id"`
	Partitions        int32             `json:"partitions"`
	ReplicationFactor int16             `json:"replication_factor"`
	Configs           map[string]string `json:"configs,omitempty"`
}

// Partition is one partition log in the archive.
type Partition struct {
	Topic          string `json:"topic"`
	Partition      int32  `json:"partition"`
	HighWatermark  int64  `json:"high_watermark"`
	LogStartOffset int64  `json:"log_start_offset"`
	Segments       int    `json:"segments"`
	Bytes          int64  `json:"bytes"`
}

// Group is a consumer group's committed offsets.
type Group struct {
	Name    string        `json:"name"`
	Offsets []GroupOffset `json:"offsets"`
}

// GroupOffset is one committed offset.
type GroupOffset struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Metadata  string `json:"metadata,omitempty"`
}

// File is one archived file.
type File struct {
	Path   string `json:"path"` // slash-separated, relative to the data directory
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // hex
}

// Bytes is the total size of the archived files.
func (m *Manifest) Bytes() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

func formatUUID(id [16]byte) string {
	h := hex.EncodeToString(id[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

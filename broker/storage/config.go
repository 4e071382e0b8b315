package storage

import (
	"fmt"

	"github.com/chronik-stream/chronik/walcodec"
)

// Defaults of LogConfig.
const (
	DefaultSegmentBytes int64 = 1 << 30
	DefaultSegmentMs    int64 = 7 * 24 * 60 * 60 * 1000
	DefaultRetentionMs  int64 = 7 * 24 * 60 * 60 * 1000
)

// LogConfig is the per-log configuration. Zero Format, RecordType,
// SegmentBytes and SegmentMs mean their defaults; RetentionMs and
// RetentionBytes are taken literally (-1 = unlimited).
type LogConfig struct {
	Format         uint8               // walcodec.V2 or walcodec.V3: version of records written
	RecordType     walcodec.RecordType // RecordData for partitions, RecordMetadata for __meta
	SegmentBytes   int64               // roll the open segment past this size (default 1 GiB)
	SegmentMs      int64               // roll the open segment past this age (default 7 days)
	RetentionMs    int64               // -1 = unlimited (default 7 days)
	RetentionBytes int64               // -1 = unlimited (default)
}

// DefaultLogConfig is V3 data records, 1 GiB / 7 day segments, 7 day time
// retention and no size retention.
func DefaultLogConfig() LogConfig {
	return LogConfig{
		Format:         walcodec.V3,
		RecordType:     walcodec.RecordData,
		SegmentBytes:   DefaultSegmentBytes,
		SegmentMs:      DefaultSegmentMs,
		RetentionMs:    DefaultRetentionMs,
		RetentionBytes: -1,
	}
}

// Validate reports a configuration OpenLog refuses.
func (c LogConfig) Validate() error {
	switch c.Format {
	case 0, walcodec.V2, walcodec.V3:
	default:
		return fmt.Errorf("storage: log format %d: want %d or %d", c.Format, walcodec.V2, walcodec.V3)
	}
	if c.SegmentBytes < 0 {
		return fmt.Errorf("storage: segment bytes %d is negative", c.SegmentBytes)
	}
	if c.SegmentMs < 0 {
		return fmt.Errorf("storage: segment ms %d is negative", c.SegmentMs)
	}
	if c.RetentionMs < -1 {
		return fmt.Errorf("storage: retention ms %d: want -1 (unlimited) or more", c.RetentionMs)
	}
	if c.RetentionBytes < -1 {
		return fmt.Errorf("storage: retention bytes %d: want -1 (unlimited) or more", c.RetentionBytes)
	}
	return nil
}

// withDefaults fills the zero fields that have defaults.
func (c LogConfig) withDefaults() LogConfig {
	if c.Format == 0 {
		c.Format = walcodec.V3
	}
	if c.RecordType == 0 {
		c.RecordType = walcodec.RecordData
	}
	if c.SegmentBytes <= 0 {
		c.SegmentBytes = DefaultSegmentBytes
	}
	if c.SegmentMs <= 0 {
		c.SegmentMs = DefaultSegmentMs
	}
	return c
}

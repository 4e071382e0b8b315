package kafka

import (
	"errors"
	"fmt"
	"time"

	"github.com/chronik-stream/chronik/walcodec"
)

// Defaults applied by NewServer to zero-valued Config fields.
const (
	DefaultMaxRequestBytes    = 100 << 20
	DefaultMaxInFlightPerConn = 32
	DefaultShutdownTimeout    = 10 * time.Second
	// minRequestBytes is the smallest request frame: api key, version, correlation id.
	minRequestBytes = 2 + 2 + 4
)

// Config configures the Kafka protocol server.
type Config struct {
	NodeID int32
	// AdvertisedHost and AdvertisedPort are what Metadata, FindCoordinator and DescribeCluster
	// answer. Empty host / zero port: taken from the listener passed to Serve (an unspecified
	// bind address such as 0.0.0.0 advertises 127.0.0.1).
	AdvertisedHost string
	AdvertisedPort int32
	ClusterID      string
	// AutoCreateTopics lets Metadata create unknown topics (when the request allows it).
	AutoCreateTopics         bool
	DefaultPartitions        int32 // partitions of auto-created topics and of num_partitions = -1 (default 1)
	DefaultReplicationFactor int16 // replication_factor = -1 (default 1)
	WALFormat                uint8 // walcodec.V2 or walcodec.V3 (default V3)
	MaxRequestBytes          int32 // largest request frame accepted (default 100 MiB)
	MaxInFlightPerConn       int   // requests processed concurrently per connection (default 32)

	// Broker-wide defaults of topic log settings (0 = storage default). Topic configs
	// (segment.bytes, segment.ms, retention.ms, retention.bytes) override them.
	SegmentBytes   int64
	SegmentMs      int64
	RetentionMs    int64
	RetentionBytes int64
	// ShutdownTimeout bounds how long Serve waits for in-flight requests after ctx is done
	// before it closes connections forcibly (default 10 s).
	ShutdownTimeout time.Duration
}

// withDefaults returns c with zero values replaced by defaults.
func (c Config) withDefaults() Config {
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if c.MaxInFlightPerConn == 0 {
		c.MaxInFlightPerConn = DefaultMaxInFlightPerConn
	}
	if c.DefaultPartitions == 0 {
		c.DefaultPartitions = 1
	}
	if c.DefaultReplicationFactor == 0 {
		c.DefaultReplicationFactor = 1
	}
	if c.WALFormat == 0 {
		c.WALFormat = walcodec.V3
	}
	if c.ClusterID == "" {
		c.ClusterID = "chronik"
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	return c
}

// Validate reports every invalid field, naming it. NewServer applies defaults to zero fields
// before validating.
func (c *Config) Validate() error {
	var errs []error
	if c.NodeID < 0 {
		errs = append(errs, fmt.Errorf("node id %d: must not be negative", c.NodeID))
	}
	if c.AdvertisedPort < 0 || c.AdvertisedPort > 65535 {
		errs = append(errs, fmt.Errorf("advertised port %d: out of range", c.AdvertisedPort))
	}
	if c.DefaultPartitions < 1 {
		errs = append(errs, fmt.Errorf("default partitions %d: must be at least 1", c.DefaultPartitions))
	}
	if c.DefaultReplicationFactor < 1 {
		errs = append(errs, fmt.Errorf("default replication factor %d: must be at least 1", c.DefaultReplicationFactor))
	}
	if c.WALFormat != walcodec.V2 && c.WALFormat != walcodec.V3 {
		errs = append(errs, fmt.Errorf("wal format %d: must be 2 or 3", c.WALFormat))
	}
	if c.MaxRequestBytes < 1024 {
		errs = append(errs, fmt.Errorf("max request bytes %d: must be at least 1024", c.MaxRequestBytes))
	}
	if c.MaxInFlightPerConn < 1 {
		errs = append(errs, fmt.Errorf("max in-flight per connection %d: must be at least 1", c.MaxInFlightPerConn))
	}
	if c.ShutdownTimeout < 0 {
		errs = append(errs, fmt.Errorf("shutdown timeout %s: must not be negative", c.ShutdownTimeout))
	}
	return errors.Join(errs...)
}

package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
)

// DefaultPath is the file Load reads when no path is given, if it exists.
const DefaultPath = "/etc/chronik/chronik.toml"

// Config is the whole server configuration. Field tags name the TOML keys.
type Config struct {
	KafkaPort      int    `toml:"kafka_port"`
	HTTPPort       int    `toml:"http_port"`
	DataDir        string `toml:"data_dir"`
	BindHost       string `toml:"bind_host"`
	AdvertisedHost string `toml:"advertised_host"` // "" → see EffectiveAdvertisedHost
	WALFormat      uint8  `toml:"wal_format"`      // 2 or 3
	AdminToken     string `toml:"admin_token"`
	LogLevel       string `toml:"log_level"` // debug|info|warn|error

	AutoCreateTopics         bool  `toml:"auto_create_topics"`
	DefaultPartitions        int32 `toml:"default_partitions"`
	DefaultReplicationFactor int16 `toml:"default_replication_factor"`
	SegmentBytes             int64 `toml:"segment_bytes"`
	SegmentMs                int64 `toml:"segment_ms"`
	RetentionMs              int64 `toml:"retention_ms"`    // -1 = unlimited
	RetentionBytes           int64 `toml:"retention_bytes"` // -1 = unlimited

	Cluster Cluster `toml:"cluster"`
}

// Cluster is the [cluster] section.
type Cluster struct {
	Enabled            bool     `toml:"enabled"`
	NodeID             uint64   `toml:"node_id"` // 0 = unset (standalone answers Kafka as node 1)
	NodeAddr           string   `toml:"node_addr"`
	AdvertisedNodeAddr string   `toml:"advertised_node_addr"`
	SeedNodes          []string `toml:"seed_nodes"` // "ID@host:port"; empty = bootstrap
	Raft               Raft     `toml:"raft"`
}

// Raft is the [cluster.raft] section.
type Raft struct {
	EnablePipeline       bool `toml:"enable_pipeline"`
	MaxInFlight          int  `toml:"max_in_flight"`
	HeartbeatTimeoutMs   int  `toml:"heartbeat_timeout_ms"`
	ElectionTimeoutMs    int  `toml:"election_timeout_ms"`
	LeaderLeaseTimeoutMs int  `toml:"leader_lease_timeout_ms"`
}

// Default returns the built-in defaults.
func Default() Config {
	return Config{
		KafkaPort:                9092,
		HTTPPort:                 8080,
		DataDir:                  "./data",
		BindHost:                 "0.0.0.0",
		WALFormat:                3,
		LogLevel:                 "info",
		AutoCreateTopics:         true,
		DefaultPartitions:        1,
		DefaultReplicationFactor: 3,
		SegmentBytes:             1 << 30,
		SegmentMs:                7 * 24 * 3600 * 1000,
		RetentionMs:              7 * 24 * 3600 * 1000,
		RetentionBytes:           -1,
		Cluster: Cluster{
			NodeAddr:  "0.0.0.0:9093",
			SeedNodes: []string{},
			Raft: Raft{
				EnablePipeline:       true,
				MaxInFlight:          128,
				HeartbeatTimeoutMs:   200,
				ElectionTimeoutMs:    200,
				LeaderLeaseTimeoutMs: 100,
			},
		},
	}
}

// Validate checks every key's value and the rules between keys. Errors name
// the key and the value; all problems are reported (errors.Join).
func (c *Config) Validate() error {
	var errs []error
	for _, b := range c.bindings() {
		if err := b.check(); err != nil {
			errs = append(errs, fmt.Errorf("invalid value %s for config key %q: %w", b.render(), b.info.Key, err))
		}
	}
	r := c.Cluster.Raft
	if r.LeaderLeaseTimeoutMs > r.HeartbeatTimeoutMs {
		errs = append(errs, fmt.Errorf("invalid value %d for config key %q: must not exceed cluster.raft.heartbeat_timeout_ms (%d)",
			r.LeaderLeaseTimeoutMs, "cluster.raft.leader_lease_timeout_ms", r.HeartbeatTimeoutMs))
	}
	if r.HeartbeatTimeoutMs > r.ElectionTimeoutMs {
		errs = append(errs, fmt.Errorf("invalid value %d for config key %q: must not exceed cluster.raft.election_timeout_ms (%d)",
			r.HeartbeatTimeoutMs, "cluster.raft.heartbeat_timeout_ms", r.ElectionTimeoutMs))
	}
	if c.Cluster.Enabled && c.Cluster.NodeID == 0 {
		errs = append(errs, fmt.Errorf("invalid value 0 for config key %q: must be set (>= 1) when cluster.enabled is true", "cluster.node_id"))
	}
	return errors.Join(errs...)
}

// Seeds parses cluster.seed_nodes.
func (c *Config) Seeds() ([]Seed, error) { return parseSeedList(c.Cluster.SeedNodes) }

// KafkaNodeID is the broker id announced to Kafka clients: cluster.node_id,
// or 1 when it is unset (standalone).
func (c *Config) KafkaNodeID() int32 {
	if c.Cluster.NodeID == 0 {
		return 1
	}
	return int32(c.Cluster.NodeID)
}

// EffectiveAdvertisedHost is the host announced to Kafka clients:
// advertised_host when set, else bind_host, except that an unspecified bind
// address (0.0.0.0, ::, "") is replaced by 127.0.0.1. Multi-host deployments
// must set advertised_host.
func (c *Config) EffectiveAdvertisedHost() string {
	if c.AdvertisedHost != "" {
		return c.AdvertisedHost
	}
	if isUnspecifiedHost(c.BindHost) {
		return "127.0.0.1"
	}
	return c.BindHost
}

// EffectiveAdvertisedNodeAddr is the cluster (gRPC) address announced to
// other nodes: advertised_node_addr when set, else node_addr with an
// unspecified host replaced by EffectiveAdvertisedHost.
func (c *Config) EffectiveAdvertisedNodeAddr() string {
	if c.Cluster.AdvertisedNodeAddr != "" {
		return c.Cluster.AdvertisedNodeAddr
	}
	host, port, err := net.SplitHostPort(c.Cluster.NodeAddr)
	if err != nil {
		return c.Cluster.NodeAddr
	}
	if isUnspecifiedHost(host) {
		host = c.EffectiveAdvertisedHost()
	}
	return net.JoinHostPort(host, port)
}

// KafkaAddr is the Kafka listener address (bind_host:kafka_port).
func (c *Config) KafkaAddr() string { return net.JoinHostPort(c.BindHost, strconv.Itoa(c.KafkaPort)) }

// HTTPAddr is the HTTP listener address (bind_host:http_port).
func (c *Config) HTTPAddr() string { return net.JoinHostPort(c.BindHost, strconv.Itoa(c.HTTPPort)) }

// EffectiveReplicationFactor caps default_replication_factor at the number
// of nodes able to hold a replica (1 in standalone).
func (c *Config) EffectiveReplicationFactor(nodes int) int16 {
	rf := int(c.DefaultReplicationFactor)
	if nodes < 1 {
		nodes = 1
	}
	return int16(min(rf, nodes, math.MaxInt16))
}

func isUnspecifiedHost(h string) bool {
	if h == "" {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsUnspecified()
}

// checkHostPort validates "host:port" with a valid port; requireHost also
// rejects an empty or unspecified host (addresses others must dial).
func checkHostPort(s string, requireHost bool) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return errors.New("must be host:port")
	}
	if err := checkPortString(port); err != nil {
		return err
	}
	if requireHost && isUnspecifiedHost(host) {
		return errors.New("host must be a name or address others can dial (not empty, 0.0.0.0 or ::)")
	}
	return nil
}

func checkPortString(p string) error {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q must be between 1 and 65535", p)
	}
	return nil
}

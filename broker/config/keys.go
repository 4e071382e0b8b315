package config

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// KeyInfo describes one configuration key.
type KeyInfo struct {
	Key      string // TOML key, dotted for sections: "kafka_port", "cluster.node_id"
	Flag     string // command-line flag: "--kafka-port"
	FlagName string // the flag without dashes, for flag registration: "kafka-port"
	Env      string // environment variable: "CHRONIK_KAFKA_PORT"
	Type     string // "int", "string", "bool" or "list" (comma-separated on flags and env)
	Default  string // the default as flag text ("" for an empty string or list)
	Doc      string
}

// binding ties a KeyInfo to a field of one Config.
type binding struct {
	info     KeyInfo
	render   func() string      // current value for messages: quoted strings, [..] lists
	text     func() string      // current value as flag text
	parse    func(string) error // flag/env text → field (syntax errors only)
	fromTOML func(any) error    // decoded TOML value → field (type errors only)
	check    func() error       // range/enum rules of the current value
}

// sections are the TOML tables that hold keys.
var sections = []string{"cluster", "cluster.raft"}

func envName(key string) string {
	return "CHRONIK_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

func info(key, flag, typ, doc string) KeyInfo {
	return KeyInfo{Key: key, Flag: "--" + flag, FlagName: flag, Env: envName(key), Type: typ, Doc: doc}
}

// bindings lists every key bound to c's fields, in documentation order.
func (c *Config) bindings() []binding {
	cl, r := &c.Cluster, &c.Cluster.Raft
	return []binding{
		intKey(info("kafka_port", "kafka-port", "int", "Kafka protocol listener port."), &c.KafkaPort, checkPort),
		intKey(info("http_port", "http-port", "int", "HTTP listener port (/health, /metrics, /admin/...)."), &c.HTTPPort, checkPort),
		stringKey(info("data_dir", "data-dir", "string", "Data directory; the WAL lives in <data_dir>/wal."), &c.DataDir, checkNonEmpty),
		stringKey(info("bind_host", "bind-host", "string", "Address the Kafka and HTTP listeners bind to."), &c.BindHost, checkNonEmpty),
		stringKey(info("advertised_host", "advertised-host", "string",
			"Host announced to Kafka clients. Empty: bind_host, or 127.0.0.1 when bind_host is 0.0.0.0 or :: (set it on multi-host deployments)."),
			&c.AdvertisedHost, checkNoSpace),
		intKey(info("wal_format", "wal-format", "int", "WAL record version written: 3, or 2 to stay readable by v1.x until you switch."),
			&c.WALFormat, checkOneOf(2, 3)),
		stringKey(info("admin_token", "admin-token", "string", "Token required by mutating /admin endpoints (Authorization: Bearer or X-Admin-Token). Empty: mutating endpoints are refused."),
			&c.AdminToken, nil),
		boolKey(info("auto_create_topics", "auto-create-topics", "bool", "Create unknown topics on Metadata and Produce requests."), &c.AutoCreateTopics),
		intKey(info("default_partitions", "default-partitions", "int", "Partitions of auto-created topics and of CreateTopics without a count."),
			&c.DefaultPartitions, checkMin(1)),
		intKey(info("default_replication_factor", "default-replication-factor", "int", "Replication factor of new topics without one; capped at the number of nodes (1 in standalone)."),
			&c.DefaultReplicationFactor, checkMin(1)),
		stringKey(info("log_level", "log-level", "string", "Log level: debug, info, warn or error."),
			&c.LogLevel, checkEnum("debug", "info", "warn", "error")),
		intKey(info("segment_bytes", "segment-bytes", "int", "Broker default segment.bytes: roll a partition segment past this size."),
			&c.SegmentBytes, checkMin(1024)),
		intKey(info("segment_ms", "segment-ms", "int", "Broker default segment.ms: roll a partition segment past this age."),
			&c.SegmentMs, checkMin(1)),
		intKey(info("retention_ms", "retention-ms", "int", "Broker default retention.ms; -1 keeps data forever."),
			&c.RetentionMs, checkUnlimitedOrMin(1)),
		intKey(info("retention_bytes", "retention-bytes", "int", "Broker default retention.bytes per partition; -1 is unlimited."),
			&c.RetentionBytes, checkUnlimitedOrMin(1)),

		boolKey(info("cluster.enabled", "cluster-enabled", "bool", "Run in Raft cluster mode (the cluster subcommand sets it)."), &cl.Enabled),
		intKey(info("cluster.node_id", "node-id", "int", "This node's id (1-based, unique in the cluster); required in cluster mode. Unset in standalone: Kafka node id 1."),
			&cl.NodeID, checkRange(0, math.MaxInt32)),
		stringKey(info("cluster.node_addr", "node-addr", "string", "gRPC listener for Raft traffic and the console API (also used in standalone)."),
			&cl.NodeAddr, func(s string) error { return checkHostPort(s, false) }),
		stringKey(info("cluster.advertised_node_addr", "advertised-node-addr", "string", "host:port other nodes and the console dial. Empty: node_addr with an unspecified host replaced by the advertised host."),
			&cl.AdvertisedNodeAddr, func(s string) error {
				if s == "" {
					return nil
				}
				return checkHostPort(s, true)
			}),
		listKey(info("cluster.seed_nodes", "seed-nodes", "list", `Nodes to join through, "ID@host:port"; empty bootstraps a new cluster (once). This node's own entry is allowed.`),
			&cl.SeedNodes, func(l []string) error { _, err := parseSeedList(l); return err }),
		boolKey(info("cluster.raft.enable_pipeline", "raft-enable-pipeline", "bool", "Pipelined Raft replication."), &r.EnablePipeline),
		intKey(info("cluster.raft.max_in_flight", "raft-max-in-flight", "int", "Maximum Raft append requests in flight per follower."), &r.MaxInFlight, checkMin(1)),
		intKey(info("cluster.raft.heartbeat_timeout_ms", "raft-heartbeat-timeout-ms", "int", "Raft heartbeat timeout; at most election_timeout_ms."), &r.HeartbeatTimeoutMs, checkMin(1)),
		intKey(info("cluster.raft.election_timeout_ms", "raft-election-timeout-ms", "int", "Raft election timeout."), &r.ElectionTimeoutMs, checkMin(1)),
		intKey(info("cluster.raft.leader_lease_timeout_ms", "raft-leader-lease-timeout-ms", "int", "Raft leader lease; at most heartbeat_timeout_ms."), &r.LeaderLeaseTimeoutMs, checkMin(1)),
	}
}

type integer interface {
	~int | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint64
}

func intKey[T integer](ki KeyInfo, p *T, check func(int64) error) binding {
	set := func(v int64) error {
		t := T(v)
		if int64(t) != v || (v < 0) != (t < 0) {
			return errors.New("out of range")
		}
		*p = t
		return nil
	}
	return binding{
		info:   ki,
		render: func() string { return fmt.Sprint(*p) },
		text:   func() string { return fmt.Sprint(*p) },
		parse: func(s string) error {
			v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				return errors.New("not an integer")
			}
			return set(v)
		},
		fromTOML: func(a any) error {
			v, ok := a.(int64)
			if !ok {
				return fmt.Errorf("expected an integer, got %s", tomlType(a))
			}
			return set(v)
		},
		check: func() error {
			if check == nil {
				return nil
			}
			return check(int64(*p))
		},
	}
}

func stringKey(ki KeyInfo, p *string, check func(string) error) binding {
	return binding{
		info:   ki,
		render: func() string { return strconv.Quote(*p) },
		text:   func() string { return *p },
		parse:  func(s string) error { *p = s; return nil },
		fromTOML: func(a any) error {
			v, ok := a.(string)
			if !ok {
				return fmt.Errorf("expected a string, got %s", tomlType(a))
			}
			*p = v
			return nil
		},
		check: func() error {
			if check == nil {
				return nil
			}
			return check(*p)
		},
	}
}

func boolKey(ki KeyInfo, p *bool) binding {
	return binding{
		info:   ki,
		render: func() string { return strconv.FormatBool(*p) },
		text:   func() string { return strconv.FormatBool(*p) },
		parse: func(s string) error {
			v, err := strconv.ParseBool(strings.TrimSpace(s))
			if err != nil {
				return errors.New("not a boolean (true or false)")
			}
			*p = v
			return nil
		},
		fromTOML: func(a any) error {
			v, ok := a.(bool)
			if !ok {
				return fmt.Errorf("expected a boolean, got %s", tomlType(a))
			}
			*p = v
			return nil
		},
		check: func() error { return nil },
	}
}

// listKey binds a list of strings: a TOML array of strings (or one
// comma-separated string), comma-separated on flags and env ("" = empty).
func listKey(ki KeyInfo, p *[]string, check func([]string) error) binding {
	return binding{
		info: ki,
		render: func() string {
			q := make([]string, len(*p))
			for i, s := range *p {
				q[i] = strconv.Quote(s)
			}
			return "[" + strings.Join(q, ", ") + "]"
		},
		text:  func() string { return strings.Join(*p, ",") },
		parse: func(s string) error { *p = splitList(s); return nil },
		fromTOML: func(a any) error {
			switch v := a.(type) {
			case string:
				*p = splitList(v)
				return nil
			case []any:
				l := make([]string, 0, len(v))
				for _, e := range v {
					s, ok := e.(string)
					if !ok {
						return fmt.Errorf("expected an array of strings, found %s", tomlType(e))
					}
					l = append(l, s)
				}
				*p = l
				return nil
			default:
				return fmt.Errorf("expected an array of strings, got %s", tomlType(a))
			}
		},
		check: func() error { return check(*p) },
	}
}

func splitList(s string) []string {
	l := []string{}
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			l = append(l, e)
		}
	}
	return l
}

func tomlType(a any) string {
	switch a.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	default:
		return fmt.Sprintf("%T", a)
	}
}

func checkPort(v int64) error {
	if v < 1 || v > 65535 {
		return errors.New("port must be between 1 and 65535")
	}
	return nil
}

func checkMin(lo int64) func(int64) error {
	return func(v int64) error {
		if v < lo {
			return fmt.Errorf("must be at least %d", lo)
		}
		return nil
	}
}

func checkRange(lo, hi int64) func(int64) error {
	return func(v int64) error {
		if v < lo || v > hi {
			return fmt.Errorf("must be between %d and %d", lo, hi)
		}
		return nil
	}
}

func checkUnlimitedOrMin(lo int64) func(int64) error {
	return func(v int64) error {
		if v != -1 && v < lo {
			return fmt.Errorf("must be -1 (unlimited) or at least %d", lo)
		}
		return nil
	}
}

func checkOneOf(allowed ...int64) func(int64) error {
	return func(v int64) error {
		if !slices.Contains(allowed, v) {
			return fmt.Errorf("must be one of %s", joinInts(allowed))
		}
		return nil
	}
}

func joinInts(l []int64) string {
	s := make([]string, len(l))
	for i, v := range l {
		s[i] = strconv.FormatInt(v, 10)
	}
	return strings.Join(s, ", ")
}

func checkEnum(allowed ...string) func(string) error {
	return func(v string) error {
		if !slices.Contains(allowed, v) {
			return fmt.Errorf("must be one of %s", strings.Join(allowed, ", "))
		}
		return nil
	}
}

func checkNonEmpty(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("must not be empty")
	}
	return nil
}

func checkNoSpace(s string) error {
	if strings.ContainsAny(s, " \t\r\n") {
		return errors.New("must not contain whitespace")
	}
	return nil
}

// Keys describes every configuration key with its default, in documentation order.
func Keys() []KeyInfo {
	d := Default()
	bs := d.bindings()
	out := make([]KeyInfo, len(bs))
	for i, b := range bs {
		out[i] = b.info
		out[i].Default = b.text()
	}
	return out
}

// Set applies one command-line flag by its config key ("kafka_port",
// "cluster.node_id"). The value is flag text: lists are comma-separated and
// "" is an empty list (for cluster.seed_nodes: bootstrap). The key's own
// rules are checked; cross-key rules wait for Validate.
func (c *Config) Set(key, value string) error {
	b, ok := c.binding(key)
	if !ok {
		return fmt.Errorf("unknown config key %q%s", key, suggest(key))
	}
	if err := b.parse(value); err != nil {
		return fmt.Errorf("invalid value %q for %s (config key %q): %w", value, b.info.Flag, key, err)
	}
	if err := b.check(); err != nil {
		return fmt.Errorf("invalid value %q for %s (config key %q): %w", value, b.info.Flag, key, err)
	}
	return nil
}

// Get returns a key's current value as flag text.
func (c *Config) Get(key string) (string, bool) {
	b, ok := c.binding(key)
	if !ok {
		return "", false
	}
	return b.text(), true
}

func (c *Config) binding(key string) (binding, bool) {
	for _, b := range c.bindings() {
		if b.info.Key == key {
			return b, true
		}
	}
	return binding{}, false
}

// suggest names a known key that differs from key only in case, '_', '-' or '.'.
func suggest(key string) string {
	norm := func(s string) string {
		return strings.NewReplacer("_", "", "-", "", ".", "").Replace(strings.ToLower(s))
	}
	n := norm(key)
	for _, k := range Keys() {
		if norm(k.Key) == n {
			return fmt.Sprintf(" (did you mean %q?)", k.Key)
		}
	}
	return ""
}

package kafka

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/chronik-stream/chronik/broker/storage"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Topic config keys the log itself honours.
const (
	cfgCleanupPolicy   = "cleanup.policy"
	cfgMaxMessageBytes = "max.message.bytes"
	cfgRetentionMs     = "retention.ms"
	cfgRetentionBytes  = "retention.bytes"
	cfgSegmentBytes    = "segment.bytes"
	cfgSegmentMs       = "segment.ms"

	defaultMaxMessageBytes = 1048588 // Kafka's message.max.bytes default
)

// configDef describes one topic config key: its type, default, broker-level synonym and
// validation. Values are stored as strings in meta, exactly as the client sent them.
type configDef struct {
	name          string
	typ           kmsg.ConfigType
	def           string
	staticDefault bool   // default comes from the broker's configuration, not Kafka's built-in
	brokerName    string // broker-level synonym (e.g. log.retention.ms)
	doc           string
	min, max      float64  // numeric bounds (inclusive) for int/long/double
	enum          []string // allowed values (each element for lists)
}

// configTable is the set of known topic config keys, in Kafka's alphabetical order.
type configTable struct {
	defs   []configDef
	byName map[string]int
}

func newConfigTable(cfg Config) *configTable {
	lc := storage.DefaultLogConfig()
	long := func(v, fallback int64) (string, bool) {
		if v != 0 {
			return strconv.FormatInt(v, 10), true
		}
		return strconv.FormatInt(fallback, 10), false
	}
	retMs, retMsStatic := long(cfg.RetentionMs, lc.RetentionMs)
	retBytes, retBytesStatic := long(cfg.RetentionBytes, lc.RetentionBytes)
	segBytes, segBytesStatic := long(cfg.SegmentBytes, lc.SegmentBytes)
	segMs, segMsStatic := long(cfg.SegmentMs, lc.SegmentMs)
	maxLong := strconv.FormatInt(math.MaxInt64, 10)
	const (
		i32 = math.MaxInt32
		i64 = math.MaxInt64
	)
	defs := []configDef{
		{name: cfgCleanupPolicy, typ: kmsg.ConfigTypeList, def: "delete", brokerName: "log.cleanup.policy",
			enum: []string{"delete", "compact"}, doc: "Retention policy of old segments (compaction is accepted but not performed)."},
		{name: "compression.type", typ: kmsg.ConfigTypeString, def: "producer", brokerName: "compression.type",
			enum: []string{"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"}, doc: "Compression of stored batches; batches are stored as the producer sent them."},
		{name: "delete.retention.ms", typ: kmsg.ConfigTypeLong, def: "86400000", brokerName: "log.cleaner.delete.retention.ms", min: 0, max: i64},
		{name: "file.delete.delay.ms", typ: kmsg.ConfigTypeLong, def: "60000", brokerName: "log.segment.delete.delay.ms", min: 0, max: i64},
		{name: "flush.messages", typ: kmsg.ConfigTypeLong, def: maxLong, brokerName: "log.flush.interval.messages", min: 1, max: i64},
		{name: "flush.ms", typ: kmsg.ConfigTypeLong, def: maxLong, brokerName: "log.flush.interval.ms", min: 0, max: i64},
		{name: "follower.replication.throttled.replicas", typ: kmsg.ConfigTypeList, def: "", brokerName: "follower.replication.throttled.replicas"},
		{name: "index.interval.bytes", typ: kmsg.ConfigTypeInt, def: "4096", brokerName: "log.index.interval.bytes", min: 0, max: i32},
		{name: "leader.replication.throttled.replicas", typ: kmsg.ConfigTypeList, def: "", brokerName: "leader.replication.throttled.replicas"},
		{name: "max.compaction.lag.ms", typ: kmsg.ConfigTypeLong, def: maxLong, brokerName: "log.cleaner.max.compaction.lag.ms", min: 1, max: i64},
		{name: cfgMaxMessageBytes, typ: kmsg.ConfigTypeInt, def: strconv.Itoa(defaultMaxMessageBytes), brokerName: "message.max.bytes", min: 0, max: i32,
			doc: "Largest record batch the topic accepts."},
		{name: "message.downconversion.enable", typ: kmsg.ConfigTypeBoolean, def: "true", brokerName: "log.message.downconversion.enable"},
		{name: "message.format.version", typ: kmsg.ConfigTypeString, def: "3.0-IV1", brokerName: "log.message.format.version"},
		{name: "message.timestamp.after.max.ms", typ: kmsg.ConfigTypeLong, def: maxLong, brokerName: "log.message.timestamp.after.max.ms", min: 0, max: i64},
		{name: "message.timestamp.before.max.ms", typ: kmsg.ConfigTypeLong, def: maxLong, brokerName: "log.message.timestamp.before.max.ms", min: 0, max: i64},
		{name: "message.timestamp.difference.max.ms", typ: kmsg.ConfigTypeLong, def: maxLong, brokerName: "log.message.timestamp.difference.max.ms", min: 0, max: i64},
		{name: "message.timestamp.type", typ: kmsg.ConfigTypeString, def: "CreateTime", brokerName: "log.message.timestamp.type",
			enum: []string{"CreateTime", "LogAppendTime"}},
		{name: "min.cleanable.dirty.ratio", typ: kmsg.ConfigTypeDouble, def: "0.5", brokerName: "log.cleaner.min.cleanable.ratio", min: 0, max: 1},
		{name: "min.compaction.lag.ms", typ: kmsg.ConfigTypeLong, def: "0", brokerName: "log.cleaner.min.compaction.lag.ms", min: 0, max: i64},
		{name: "min.insync.replicas", typ: kmsg.ConfigTypeInt, def: "1", brokerName: "min.insync.replicas", min: 1, max: i32},
		{name: "preallocate", typ: kmsg.ConfigTypeBoolean, def: "false", brokerName: "log.preallocate"},
		{name: cfgRetentionBytes, typ: kmsg.ConfigTypeLong, def: retBytes, staticDefault: retBytesStatic, brokerName: "log.retention.bytes", min: -1, max: i64,
			doc: "Delete closed segments once the partition is larger than this (-1 = unlimited)."},
		{name: cfgRetentionMs, typ: kmsg.ConfigTypeLong, def: retMs, staticDefault: retMsStatic, brokerName: "log.retention.ms", min: -1, max: i64,
			doc: "Delete closed segments older than this (-1 = unlimited)."},
		{name: cfgSegmentBytes, typ: kmsg.ConfigTypeInt, def: segBytes, staticDefault: segBytesStatic, brokerName: "log.segment.bytes", min: 14, max: i32,
			doc: "Roll the open segment past this size."},
		{name: "segment.index.bytes", typ: kmsg.ConfigTypeInt, def: "10485760", brokerName: "log.index.size.max.bytes", min: 4, max: i32},
		{name: "segment.jitter.ms", typ: kmsg.ConfigTypeLong, def: "0", brokerName: "log.roll.jitter.ms", min: 0, max: i64},
		{name: cfgSegmentMs, typ: kmsg.ConfigTypeLong, def: segMs, staticDefault: segMsStatic, brokerName: "log.roll.ms", min: 1, max: i64,
			doc: "Roll the open segment past this age."},
		{name: "unclean.leader.election.enable", typ: kmsg.ConfigTypeBoolean, def: "false", brokerName: "unclean.leader.election.enable"},
	}
	t := &configTable{defs: defs, byName: make(map[string]int, len(defs))}
	for i := range defs {
		t.byName[defs[i].name] = i
	}
	return t
}

func (t *configTable) lookup(name string) (*configDef, bool) {
	i, ok := t.byName[name]
	if !ok {
		return nil, false
	}
	return &t.defs[i], true
}

// validate checks one key/value pair; the error wraps kerr.InvalidConfig and names the key.
func (t *configTable) validate(name, value string) error {
	d, ok := t.lookup(name)
	if !ok {
		return errorf(kerr.InvalidConfig, "unknown topic config name: %s", name)
	}
	if err := d.check(value); err != "" {
		return errorf(kerr.InvalidConfig, "invalid value %q for configuration %s: %s", value, name, err)
	}
	return nil
}

// validateAll checks every pair of configs.
func (t *configTable) validateAll(configs map[string]string) error {
	names := make([]string, 0, len(configs))
	for k := range configs {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if err := t.validate(k, configs[k]); err != nil {
			return err
		}
	}
	return nil
}

// check returns a reason when value is not acceptable for d, "" otherwise.
func (d *configDef) check(value string) string {
	v := strings.TrimSpace(value)
	switch d.typ {
	case kmsg.ConfigTypeBoolean:
		if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			return "expected true or false"
		}
	case kmsg.ConfigTypeInt, kmsg.ConfigTypeLong:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "expected an integer"
		}
		if f := float64(n); f < d.min || f > d.max {
			return fmt.Sprintf("value must be between %.0f and %.0f", d.min, d.max)
		}
	case kmsg.ConfigTypeDouble:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) {
			return "expected a number"
		}
		if f < d.min || f > d.max {
			return fmt.Sprintf("value must be between %g and %g", d.min, d.max)
		}
	case kmsg.ConfigTypeList:
		if len(d.enum) > 0 {
			items := splitList(v)
			if len(items) == 0 {
				return "expected one or more of " + strings.Join(d.enum, ", ")
			}
			for _, it := range items {
				if !slices.Contains(d.enum, it) {
					return fmt.Sprintf("%q is not one of %s", it, strings.Join(d.enum, ", "))
				}
			}
		}
	default:
		if len(d.enum) > 0 && !slices.Contains(d.enum, v) {
			return "expected one of " + strings.Join(d.enum, ", ")
		}
	}
	return ""
}

// splitList splits a comma-separated list value, trimming blanks and dropping empty items.
func splitList(v string) []string {
	var out []string
	for it := range strings.SplitSeq(v, ",") {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out
}

// intConfig returns the integer value of key in configs, or def when absent or unparsable.
func intConfig(configs map[string]string, key string, def int64) int64 {
	v, ok := configs[key]
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return def
	}
	return n
}

package kafka

// DescribeConfigs (key 32), versions 0–4 (flexible from 4). Topic resources list every known
// topic key with its value and source: DYNAMIC_TOPIC_CONFIG (1) when the topic sets it,
// STATIC_BROKER_CONFIG (4) when the default comes from the broker's configuration, otherwise
// DEFAULT_CONFIG (5); is_default, read_only false, sensitive false. With include_synonyms (v1+)
// each key lists the topic value and its broker-level synonym. v3+ carries config types;
// documentation when asked for. Broker resources (name "" or this node's id) list the
// read-only broker settings AdminClients and UIs look for. Other resource types answer
// INVALID_REQUEST.

import (
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (s *Server) handleDescribeConfigs(r *kmsg.DescribeConfigsRequest) *kmsg.DescribeConfigsResponse {
	resp := r.ResponseKind().(*kmsg.DescribeConfigsResponse)
	resp.Resources = make([]kmsg.DescribeConfigsResponseResource, 0, len(r.Resources))
	for i := range r.Resources {
		rr := &r.Resources[i]
		or := kmsg.NewDescribeConfigsResponseResource()
		or.ResourceType, or.ResourceName = rr.ResourceType, rr.ResourceName
		var err error
		switch rr.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			tp, ok := s.deps.Meta.Topic(rr.ResourceName)
			switch {
			case validateTopicName(rr.ResourceName) != nil:
				err = validateTopicName(rr.ResourceName)
			case !ok:
				err = errorf(kerr.UnknownTopicOrPartition, "topic '%s' does not exist", rr.ResourceName)
			default:
				or.Configs = s.topicConfigs(tp.Configs, rr.ConfigNames, r.IncludeSynonyms, r.IncludeDocumentation)
			}
		case kmsg.ConfigResourceTypeBroker:
			switch rr.ResourceName {
			case "":
				or.Configs = []kmsg.DescribeConfigsResponseResourceConfig{} // no dynamic cluster defaults
			case strconv.Itoa(int(s.cfg.NodeID)):
				or.Configs = s.brokerConfigs(rr.ConfigNames, r.IncludeSynonyms)
			default:
				err = errorf(kerr.InvalidRequest, "unexpected broker id, expected %d or empty string, but received %s", s.cfg.NodeID, rr.ResourceName)
			}
		default:
			err = errorf(kerr.InvalidRequest, "describing configs of resource type %d is not supported", rr.ResourceType)
		}
		if err != nil {
			or.ErrorCode = errCode(err, kerr.UnknownServerError)
			or.ErrorMessage = errMessage(err)
		}
		resp.Resources = append(resp.Resources, or)
	}
	return resp
}

// wanted reports whether name is selected by names (nil or empty = all).
func wanted(names []string, name string) bool {
	if len(names) == 0 {
		return true
	}
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// topicConfigs describes the known topic keys (those in names, or all) of a topic whose
// explicitly set configs are set.
func (s *Server) topicConfigs(set map[string]string, names []string, synonyms, docs bool) []kmsg.DescribeConfigsResponseResourceConfig {
	defs := s.topics.configs.defs
	out := make([]kmsg.DescribeConfigsResponseResourceConfig, 0, len(defs))
	for i := range defs {
		d := &defs[i]
		if !wanted(names, d.name) {
			continue
		}
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name = d.name
		c.ConfigType = d.typ
		defSource := kmsg.ConfigSourceDefaultConfig
		if d.staticDefault {
			defSource = kmsg.ConfigSourceStaticBrokerConfig
		}
		def := d.def
		if v, ok := set[d.name]; ok {
			c.Value = &v
			c.Source = kmsg.ConfigSourceDynamicTopicConfig
			if synonyms {
				c.ConfigSynonyms = append(c.ConfigSynonyms, synonym(d.name, &v, kmsg.ConfigSourceDynamicTopicConfig))
			}
		} else {
			c.Value = &def
			c.Source = defSource
			c.IsDefault = defSource == kmsg.ConfigSourceDefaultConfig
		}
		if synonyms {
			c.ConfigSynonyms = append(c.ConfigSynonyms, synonym(d.brokerName, &def, defSource))
		}
		if docs && d.doc != "" {
			doc := d.doc
			c.Documentation = &doc
		}
		out = append(out, c)
	}
	return out
}

func synonym(name string, value *string, source kmsg.ConfigSource) kmsg.DescribeConfigsResponseResourceConfigConfigSynonym {
	syn := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
	syn.Name, syn.Value, syn.Source = name, value, source
	return syn
}

// brokerConfig is one read-only broker setting.
type brokerConfig struct {
	name   string
	value  string
	typ    kmsg.ConfigType
	static bool // set by the broker's configuration (else Kafka's default)
}

func (s *Server) brokerConfigList() []brokerConfig {
	host, port := s.advertisedAddr()
	node := strconv.Itoa(int(s.cfg.NodeID))
	topicDef := func(key string) (string, bool) {
		d, _ := s.topics.configs.lookup(key)
		return d.def, d.staticDefault
	}
	retMs, retMsStatic := topicDef(cfgRetentionMs)
	retBytes, retBytesStatic := topicDef(cfgRetentionBytes)
	segBytes, segBytesStatic := topicDef(cfgSegmentBytes)
	segMs, segMsStatic := topicDef(cfgSegmentMs)
	retHours := "-1"
	if ms, err := strconv.ParseInt(retMs, 10, 64); err == nil && ms >= 0 {
		retHours = strconv.FormatInt(ms/3_600_000, 10)
	}
	return []brokerConfig{
		{"advertised.listeners", "PLAINTEXT://" + host + ":" + strconv.Itoa(int(port)), kmsg.ConfigTypeString, true},
		{"auto.create.topics.enable", strconv.FormatBool(s.cfg.AutoCreateTopics), kmsg.ConfigTypeBoolean, true},
		{"broker.id", node, kmsg.ConfigTypeInt, true},
		{"compression.type", "producer", kmsg.ConfigTypeString, false},
		{"default.replication.factor", strconv.Itoa(int(s.cfg.DefaultReplicationFactor)), kmsg.ConfigTypeInt, true},
		{"delete.topic.enable", "true", kmsg.ConfigTypeBoolean, false},
		{"log.cleanup.policy", "delete", kmsg.ConfigTypeList, false},
		{"log.message.timestamp.type", "CreateTime", kmsg.ConfigTypeString, false},
		{"log.retention.bytes", retBytes, kmsg.ConfigTypeLong, retBytesStatic},
		{"log.retention.hours", retHours, kmsg.ConfigTypeInt, retMsStatic},
		{"log.retention.ms", retMs, kmsg.ConfigTypeLong, retMsStatic},
		{"log.roll.ms", segMs, kmsg.ConfigTypeLong, segMsStatic},
		{"log.segment.bytes", segBytes, kmsg.ConfigTypeInt, segBytesStatic},
		{"message.max.bytes", strconv.Itoa(defaultMaxMessageBytes), kmsg.ConfigTypeInt, false},
		{"min.insync.replicas", "1", kmsg.ConfigTypeInt, false},
		{"node.id", node, kmsg.ConfigTypeInt, true},
		{"num.partitions", strconv.Itoa(int(s.cfg.DefaultPartitions)), kmsg.ConfigTypeInt, true},
		{"offsets.topic.replication.factor", "1", kmsg.ConfigTypeShort, false},
		{"socket.request.max.bytes", strconv.Itoa(int(s.cfg.MaxRequestBytes)), kmsg.ConfigTypeInt, true},
		{"unclean.leader.election.enable", "false", kmsg.ConfigTypeBoolean, false},
	}
}

// brokerConfigs describes this broker's read-only settings (those in names, or all).
func (s *Server) brokerConfigs(names []string, synonyms bool) []kmsg.DescribeConfigsResponseResourceConfig {
	list := s.brokerConfigList()
	out := make([]kmsg.DescribeConfigsResponseResourceConfig, 0, len(list))
	for _, b := range list {
		if !wanted(names, b.name) {
			continue
		}
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name = b.name
		v := b.value
		c.Value = &v
		c.ReadOnly = true
		c.ConfigType = b.typ
		c.Source = kmsg.ConfigSourceDefaultConfig
		if b.static {
			c.Source = kmsg.ConfigSourceStaticBrokerConfig
		}
		c.IsDefault = !b.static
		if synonyms {
			c.ConfigSynonyms = append(c.ConfigSynonyms, synonym(b.name, &v, c.Source))
		}
		out = append(out, c)
	}
	return out
}

package kafka

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestProduceAndFetchRaw(t *testing.T) {
	b := startBroker(t, nil)
	b.createTopic(t, "raw", 2, nil)
	b.createTopic(t, "small", 1, map[string]string{"max.message.bytes": "100"})
	c := b.dial(t)
	batch := makeBatch(1_700_000_000_000, "a", "b", "c")

	for i, v := range []int16{3, 5, 7, 8} {
		resp := c.roundTrip(produceReq(v, -1, "raw", 1, batch)).(*kmsg.ProduceResponse)
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != 0 || p.BaseOffset != int64(3*i) || p.LogAppendTime != -1 {
			t.Fatalf("produce v%d: %+v", v, p)
		}
		if v >= 5 && p.LogStartOffset != 0 {
			t.Fatalf("produce v%d: log start offset %d", v, p.LogStartOffset)
		}
	}
	for _, v := range []int16{4, 7, 11} {
		f := c.roundTrip(fetchReq(v, "raw", 1, 3, 0, 0)).(*kmsg.FetchResponse)
		p := f.Topics[0].Partitions[0]
		if p.ErrorCode != 0 || p.HighWatermark != 12 || p.LastStableOffset != 12 || p.AbortedTransactions != nil {
			t.Fatalf("fetch v%d: %+v", v, p)
		}
		if v >= 5 && p.LogStartOffset != 0 {
			t.Fatalf("fetch v%d: log start %d", v, p.LogStartOffset)
		}
		// Stored bytes come back as sent, base offset rewritten.
		if len(p.RecordBatches) != 3*len(batch) {
			t.Fatalf("fetch v%d: %d bytes, want %d", v, len(p.RecordBatches), 3*len(batch))
		}
		first := p.RecordBatches[:len(batch)]
		if base := int64(binary.BigEndian.Uint64(first)); base != 3 || !bytes.Equal(first[8:], batch[8:]) {
			t.Fatalf("fetch v%d: first batch base %d or bytes differ", v, base)
		}
		if v >= 7 && f.SessionID != 0 {
			t.Fatalf("fetch v%d: session id %d", v, f.SessionID)
		}
	}

	corrupt := bytes.Clone(batch)
	corrupt[len(corrupt)-1] ^= 0xff
	txn := produceReq(8, 1, "raw", 0, batch)
	txn.TransactionID = kmsg.StringPtr("txn")
	errCases := []struct {
		name string
		req  *kmsg.ProduceRequest
		want *kerr.Error
	}{
		{"unknown topic", produceReq(8, 1, "nope", 0, batch), kerr.UnknownTopicOrPartition},
		{"unknown partition", produceReq(8, 1, "raw", 7, batch), kerr.UnknownTopicOrPartition},
		{"invalid acks", produceReq(8, 2, "raw", 0, batch), kerr.InvalidRequiredAcks},
		{"too large for topic", produceReq(8, 1, "small", 0, makeBatch(1, strings.Repeat("x", 200))), kerr.MessageTooLarge},
		{"bad crc", produceReq(8, 1, "raw", 0, corrupt), kerr.CorruptMessage},
		{"truncated batch", produceReq(8, 1, "raw", 0, batch[:30]), kerr.CorruptMessage},
		{"transactional", txn, kerr.TransactionalIDAuthorizationFailed},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			p := c.roundTrip(tc.req).(*kmsg.ProduceResponse).Topics[0].Partitions[0]
			if p.ErrorCode != tc.want.Code || p.BaseOffset != -1 {
				t.Fatalf("error %v base %d, want %v", kerr.ErrorForCode(p.ErrorCode), p.BaseOffset, tc.want)
			}
			if p.ErrorMessage == nil {
				t.Fatalf("v8 response without error message")
			}
		})
	}
	if hwm := mustLog(t, b, "raw", 0).HighWatermark(); hwm != 0 {
		t.Fatalf("refused produces wrote records: hwm %d", hwm)
	}
}

func mustLog(t *testing.T, b *testBroker, topic string, p int32) PartitionLog {
	t.Helper()
	l, err := b.srv.topics.partition(topic, p)
	if err != nil {
		t.Fatalf("partition %s/%d: %v", topic, p, err)
	}
	return l
}

func TestFetchLimitsAndErrors(t *testing.T) {
	b := startBroker(t, nil)
	b.createTopic(t, "lim", 2, nil)
	c := b.dial(t)
	big := makeBatch(1, strings.Repeat("x", 2000))
	for p := int32(0); p < 2; p++ {
		for i := 0; i < 3; i++ {
			c.roundTrip(produceReq(8, 1, "lim", p, big))
		}
	}

	// KIP-74: partition max bytes below one batch still returns one whole batch for the first
	// partition with data, and nothing for later partitions once the response budget is spent.
	req := fetchReq(11, "lim", 0, 0, 0, 0)
	req.Topics[0].Partitions[0].PartitionMaxBytes = 10
	p1 := kmsg.NewFetchRequestTopicPartition()
	p1.Partition, p1.PartitionMaxBytes = 1, 1<<20
	req.Topics[0].Partitions = append(req.Topics[0].Partitions, p1)
	req.MaxBytes = 100
	f := c.roundTrip(req).(*kmsg.FetchResponse)
	parts := f.Topics[0].Partitions
	if len(parts[0].RecordBatches) != len(big) {
		t.Fatalf("first partition: %d bytes, want exactly one batch (%d)", len(parts[0].RecordBatches), len(big))
	}
	if len(parts[1].RecordBatches) != 0 || parts[1].HighWatermark != 3 {
		t.Fatalf("second partition over budget: %d bytes, hwm %d", len(parts[1].RecordBatches), parts[1].HighWatermark)
	}

	// Out of range offsets.
	f = c.roundTrip(fetchReq(11, "lim", 0, 99, 500, 1)).(*kmsg.FetchResponse)
	if p := f.Topics[0].Partitions[0]; p.ErrorCode != kerr.OffsetOutOfRange.Code || p.HighWatermark != 3 {
		t.Fatalf("offset 99: %+v", p)
	}
	// Unknown partition.
	f = c.roundTrip(fetchReq(11, "lim", 5, 0, 500, 1)).(*kmsg.FetchResponse)
	if p := f.Topics[0].Partitions[0]; p.ErrorCode != kerr.UnknownTopicOrPartition.Code || p.HighWatermark != -1 || p.RecordBatches == nil {
		t.Fatalf("unknown partition: %+v", p)
	}
	// Incremental fetch sessions are not served.
	req = fetchReq(11, "lim", 0, 0, 0, 0)
	req.SessionID, req.SessionEpoch = 1234, 1
	if f = c.roundTrip(req).(*kmsg.FetchResponse); f.ErrorCode != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("session fetch: error %d", f.ErrorCode)
	}
	// A client asking to open a session gets a sessionless full response.
	req = fetchReq(11, "lim", 0, 0, 0, 0)
	req.SessionEpoch = 0
	if f = c.roundTrip(req).(*kmsg.FetchResponse); f.ErrorCode != 0 || f.SessionID != 0 || len(f.Topics[0].Partitions[0].RecordBatches) == 0 {
		t.Fatalf("session-opening fetch: error %d session %d", f.ErrorCode, f.SessionID)
	}
	// read_committed gets an empty (not null) aborted transaction list and LSO = HWM.
	req = fetchReq(11, "lim", 0, 0, 0, 0)
	req.IsolationLevel = 1
	f = c.roundTrip(req).(*kmsg.FetchResponse)
	if p := f.Topics[0].Partitions[0]; p.AbortedTransactions == nil || p.LastStableOffset != 3 {
		t.Fatalf("read_committed: %+v", p)
	}
	// A long poll that times out answers an empty (not null: librdkafka rejects null) record set.
	f = c.roundTrip(fetchReq(11, "lim", 0, 3, 50, 1)).(*kmsg.FetchResponse)
	if p := f.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.RecordBatches == nil || len(p.RecordBatches) != 0 {
		t.Fatalf("timed-out long poll: %+v", p)
	}
}

func metadataReq(version int16, allowCreate bool, topics ...string) *kmsg.MetadataRequest {
	r := kmsg.NewPtrMetadataRequest()
	r.Version = version
	r.AllowAutoTopicCreation = allowCreate
	if topics != nil {
		r.Topics = []kmsg.MetadataRequestTopic{}
	}
	for _, tp := range topics {
		mt := kmsg.NewMetadataRequestTopic()
		mt.Topic = kmsg.StringPtr(tp)
		r.Topics = append(r.Topics, mt)
	}
	return r
}

func TestMetadata(t *testing.T) {
	b := startBroker(t, nil)
	b.createTopic(t, "m1", 3, nil)
	c := b.dial(t)

	// v0: an empty list means all topics; v1+: null means all, empty means none.
	if r := c.roundTrip(metadataReq(0, false, []string{}...)).(*kmsg.MetadataResponse); len(r.Topics) != 1 || *r.Topics[0].Topic != "m1" {
		t.Fatalf("v0 empty list: %d topics", len(r.Topics))
	}
	if r := c.roundTrip(metadataReq(1, false)).(*kmsg.MetadataResponse); len(r.Topics) != 1 {
		t.Fatalf("v1 null list: %d topics", len(r.Topics))
	}
	if r := c.roundTrip(metadataReq(1, false, []string{}...)).(*kmsg.MetadataResponse); len(r.Topics) != 0 {
		t.Fatalf("v1 empty list: %d topics", len(r.Topics))
	}

	r := c.roundTrip(metadataReq(8, false, "m1")).(*kmsg.MetadataResponse)
	if len(r.Brokers) != 1 || r.Brokers[0].NodeID != 1 || r.Brokers[0].Host != "127.0.0.1" || r.ControllerID != 1 || r.ClusterID == nil || *r.ClusterID != "test-cluster" {
		t.Fatalf("brokers %+v controller %d cluster %v", r.Brokers, r.ControllerID, r.ClusterID)
	}
	tp := r.Topics[0]
	if tp.ErrorCode != 0 || len(tp.Partitions) != 3 {
		t.Fatalf("topic m1: %+v", tp)
	}
	for i, p := range tp.Partitions {
		if p.Partition != int32(i) || p.Leader != 1 || p.LeaderEpoch != 0 || len(p.Replicas) != 1 || len(p.ISR) != 1 {
			t.Fatalf("partition %d: %+v", i, p)
		}
	}

	// Auto-creation: not when the v4+ request forbids it, yes when it allows it, always below v4.
	if r := c.roundTrip(metadataReq(8, false, "auto-a")).(*kmsg.MetadataResponse); r.Topics[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("v8 without allow: error %d", r.Topics[0].ErrorCode)
	}
	if r := c.roundTrip(metadataReq(8, true, "auto-a")).(*kmsg.MetadataResponse); r.Topics[0].ErrorCode != 0 || len(r.Topics[0].Partitions) != 1 {
		t.Fatalf("v8 with allow: %+v", r.Topics[0])
	}
	if r := c.roundTrip(metadataReq(1, false, "auto-b")).(*kmsg.MetadataResponse); r.Topics[0].ErrorCode != 0 {
		t.Fatalf("v1 auto-create: error %d", r.Topics[0].ErrorCode)
	}
	if r := c.roundTrip(metadataReq(8, true, "bad/name")).(*kmsg.MetadataResponse); r.Topics[0].ErrorCode != kerr.InvalidTopicException.Code {
		t.Fatalf("invalid name: error %d", r.Topics[0].ErrorCode)
	}

	off := startBroker(t, func(c *Config) { c.AutoCreateTopics = false })
	if r := off.dial(t).roundTrip(metadataReq(8, true, "auto-c")).(*kmsg.MetadataResponse); r.Topics[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("auto-create disabled: error %d", r.Topics[0].ErrorCode)
	}
}

func createTopicsReq(version int16, validateOnly bool, topics ...kmsg.CreateTopicsRequestTopic) *kmsg.CreateTopicsRequest {
	r := kmsg.NewPtrCreateTopicsRequest()
	r.Version = version
	r.ValidateOnly = validateOnly
	r.TimeoutMillis = 5000
	r.Topics = topics
	return r
}

func newTopic(name string, partitions int32, rf int16, configs ...string) kmsg.CreateTopicsRequestTopic {
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = name, partitions, rf
	for i := 0; i+1 < len(configs); i += 2 {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = configs[i], kmsg.StringPtr(configs[i+1])
		t.Configs = append(t.Configs, c)
	}
	return t
}

func TestCreateTopics(t *testing.T) {
	b := startBroker(t, func(c *Config) { c.DefaultPartitions = 4 })
	c := b.dial(t)
	longName := strings.Repeat("a", 250)
	cases := []struct {
		name    string
		topic   kmsg.CreateTopicsRequestTopic
		want    *kerr.Error
		msgHas  string
		parts   int32
		configs map[string]string
	}{
		{"defaults", newTopic("t-default", -1, -1), nil, "", 4, nil},
		{"explicit", newTopic("t-explicit", 2, 1, "retention.ms", "1000", "cleanup.policy", "compact,delete"), nil, "", 2, map[string]string{"retention.ms": "1000", "cleanup.policy": "compact,delete"}},
		{"replication factor above brokers", newTopic("t-rf", 1, 3), kerr.InvalidReplicationFactor, "larger than available brokers", 0, nil},
		{"zero partitions", newTopic("t-zero", 0, 1), kerr.InvalidPartitions, "", 0, nil},
		{"unknown config", newTopic("t-cfg", 1, 1, "retention.mss", "1"), kerr.InvalidConfig, "retention.mss", 0, nil},
		{"bad config value", newTopic("t-cfg2", 1, 1, "segment.bytes", "abc"), kerr.InvalidConfig, "segment.bytes", 0, nil},
		{"bad enum value", newTopic("t-cfg3", 1, 1, "cleanup.policy", "shred"), kerr.InvalidConfig, "cleanup.policy", 0, nil},
		{"illegal character", newTopic("bad name", 1, 1), kerr.InvalidTopicException, "", 0, nil},
		{"dot", newTopic(".", 1, 1), kerr.InvalidTopicException, "", 0, nil},
		{"too long", newTopic(longName, 1, 1), kerr.InvalidTopicException, "249", 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.roundTrip(createTopicsReq(5, false, tc.topic)).(*kmsg.CreateTopicsResponse)
			got := r.Topics[0]
			if tc.want == nil {
				if got.ErrorCode != 0 {
					t.Fatalf("error %v: %v", kerr.ErrorForCode(got.ErrorCode), deref(got.ErrorMessage))
				}
				if got.NumPartitions != tc.parts || got.ReplicationFactor != 1 {
					t.Fatalf("v5 response partitions %d rf %d", got.NumPartitions, got.ReplicationFactor)
				}
				tp, ok := b.meta.Topic(tc.topic.Topic)
				if !ok || tp.Partitions != tc.parts || len(tp.Configs) != len(tc.configs) {
					t.Fatalf("meta: %+v", tp)
				}
				for k, v := range tc.configs {
					if tp.Configs[k] != v {
						t.Fatalf("meta config %s = %q, want %q", k, tp.Configs[k], v)
					}
				}
				for p := int32(0); p < tc.parts; p++ {
					if _, ok := b.logs.Get(tc.topic.Topic, p); !ok {
						t.Fatalf("partition %d log not open", p)
					}
				}
				if len(got.Configs) == 0 {
					t.Fatalf("v5 response without configs")
				}
				return
			}
			if got.ErrorCode != tc.want.Code {
				t.Fatalf("error %v (%s), want %v", kerr.ErrorForCode(got.ErrorCode), deref(got.ErrorMessage), tc.want)
			}
			if !strings.Contains(deref(got.ErrorMessage), tc.msgHas) {
				t.Fatalf("message %q does not mention %q", deref(got.ErrorMessage), tc.msgHas)
			}
			if _, ok := b.meta.Topic(tc.topic.Topic); ok {
				t.Fatalf("refused topic exists in meta")
			}
		})
	}

	r := c.roundTrip(createTopicsReq(2, false, newTopic("t-default", 1, 1))).(*kmsg.CreateTopicsResponse)
	if r.Topics[0].ErrorCode != kerr.TopicAlreadyExists.Code {
		t.Fatalf("existing topic: error %d", r.Topics[0].ErrorCode)
	}
	r = c.roundTrip(createTopicsReq(4, true, newTopic("t-validate", 2, 1))).(*kmsg.CreateTopicsResponse)
	if _, ok := b.meta.Topic("t-validate"); r.Topics[0].ErrorCode != 0 || ok {
		t.Fatalf("validate only: error %d, created %v", r.Topics[0].ErrorCode, ok)
	}
	r = c.roundTrip(createTopicsReq(3, false, newTopic("t-dup", 1, 1), newTopic("t-dup", 1, 1))).(*kmsg.CreateTopicsResponse)
	if r.Topics[0].ErrorCode != kerr.InvalidRequest.Code || r.Topics[1].ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("duplicate names: %+v", r.Topics)
	}
	assigned := newTopic("t-assigned", -1, -1)
	for p := int32(0); p < 2; p++ {
		a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		a.Partition, a.Replicas = p, []int32{1}
		assigned.ReplicaAssignment = append(assigned.ReplicaAssignment, a)
	}
	if r = c.roundTrip(createTopicsReq(0, false, assigned)).(*kmsg.CreateTopicsResponse); r.Topics[0].ErrorCode != 0 {
		t.Fatalf("manual assignment: error %d", r.Topics[0].ErrorCode)
	}
	assigned.Topic = "t-assigned-elsewhere"
	assigned.ReplicaAssignment[1].Replicas = []int32{2}
	if r = c.roundTrip(createTopicsReq(0, false, assigned)).(*kmsg.CreateTopicsResponse); r.Topics[0].ErrorCode != kerr.InvalidReplicaAssignment.Code {
		t.Fatalf("assignment to another broker: error %d", r.Topics[0].ErrorCode)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestDeleteTopicsAndCreatePartitions(t *testing.T) {
	b := startBroker(t, nil)
	b.createTopic(t, "d1", 1, nil)
	b.createTopic(t, "g1", 1, nil)
	c := b.dial(t)

	del := kmsg.NewPtrDeleteTopicsRequest()
	del.Version = 4
	del.TopicNames = []string{"d1", "missing"}
	dr := c.roundTrip(del).(*kmsg.DeleteTopicsResponse)
	if dr.Topics[0].ErrorCode != 0 || dr.Topics[1].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("delete: %+v", dr.Topics)
	}
	if _, ok := b.meta.Topic("d1"); ok {
		t.Fatalf("d1 still in meta")
	}
	if _, ok := b.logs.Get("d1", 0); ok {
		t.Fatalf("d1 log still open")
	}

	cp := kmsg.NewPtrCreatePartitionsRequest()
	cp.Version = 1
	grow := kmsg.NewCreatePartitionsRequestTopic()
	grow.Topic, grow.Count = "g1", 3
	shrink := kmsg.NewCreatePartitionsRequestTopic()
	shrink.Topic, shrink.Count = "g1-missing", 3
	cp.Topics = []kmsg.CreatePartitionsRequestTopic{grow, shrink}
	cr := c.roundTrip(cp).(*kmsg.CreatePartitionsResponse)
	if cr.Topics[0].ErrorCode != 0 || cr.Topics[1].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("create partitions: %+v", cr.Topics)
	}
	if tp, _ := b.meta.Topic("g1"); tp.Partitions != 3 {
		t.Fatalf("g1 has %d partitions", tp.Partitions)
	}
	if _, ok := b.logs.Get("g1", 2); !ok {
		t.Fatalf("new partition log not open")
	}
	cp.Topics = []kmsg.CreatePartitionsRequestTopic{grow}
	if cr = c.roundTrip(cp).(*kmsg.CreatePartitionsResponse); cr.Topics[0].ErrorCode != kerr.InvalidPartitions.Code {
		t.Fatalf("same count again: error %d", cr.Topics[0].ErrorCode)
	}
}

func describeTopic(t *testing.T, c *rawConn, topic string, synonyms bool, names ...string) kmsg.DescribeConfigsResponseResource {
	t.Helper()
	r := kmsg.NewPtrDescribeConfigsRequest()
	r.Version = 4
	r.IncludeSynonyms = synonyms
	res := kmsg.NewDescribeConfigsRequestResource()
	res.ResourceType, res.ResourceName, res.ConfigNames = kmsg.ConfigResourceTypeTopic, topic, names
	r.Resources = append(r.Resources, res)
	return c.roundTrip(r).(*kmsg.DescribeConfigsResponse).Resources[0]
}

func configOf(res kmsg.DescribeConfigsResponseResource, name string) (kmsg.DescribeConfigsResponseResourceConfig, bool) {
	for _, c := range res.Configs {
		if c.Name == name {
			return c, true
		}
	}
	return kmsg.DescribeConfigsResponseResourceConfig{}, false
}

func TestDescribeAndAlterConfigs(t *testing.T) {
	b := startBroker(t, func(c *Config) { c.RetentionBytes = 5 << 30 })
	b.createTopic(t, "cfg", 2, map[string]string{"retention.ms": "60000"})
	c := b.dial(t)

	res := describeTopic(t, c, "cfg", true)
	if res.ErrorCode != 0 || len(res.Configs) < 20 {
		t.Fatalf("describe: error %d, %d configs", res.ErrorCode, len(res.Configs))
	}
	rm, _ := configOf(res, "retention.ms")
	if deref(rm.Value) != "60000" || rm.Source != kmsg.ConfigSourceDynamicTopicConfig || len(rm.ConfigSynonyms) != 2 || rm.ConfigSynonyms[1].Name != "log.retention.ms" {
		t.Fatalf("retention.ms: %+v", rm)
	}
	rb, _ := configOf(res, "retention.bytes")
	if deref(rb.Value) != "5368709120" || rb.Source != kmsg.ConfigSourceStaticBrokerConfig {
		t.Fatalf("retention.bytes from broker config: %+v", rb)
	}
	cp, _ := configOf(res, "cleanup.policy")
	if deref(cp.Value) != "delete" || cp.Source != kmsg.ConfigSourceDefaultConfig || cp.ConfigType != kmsg.ConfigTypeList {
		t.Fatalf("cleanup.policy: %+v", cp)
	}
	if only := describeTopic(t, c, "cfg", false, "segment.ms"); len(only.Configs) != 1 {
		t.Fatalf("named config: %d configs", len(only.Configs))
	}
	if missing := describeTopic(t, c, "nope", false); missing.ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("unknown topic: error %d", missing.ErrorCode)
	}

	br := kmsg.NewPtrDescribeConfigsRequest()
	brr := kmsg.NewDescribeConfigsRequestResource()
	brr.ResourceType, brr.ResourceName = kmsg.ConfigResourceTypeBroker, "1"
	br.Resources = append(br.Resources, brr)
	brr.ResourceName = "7"
	br.Resources = append(br.Resources, brr)
	bres := c.roundTrip(br).(*kmsg.DescribeConfigsResponse)
	if bres.Resources[0].ErrorCode != 0 || bres.Resources[1].ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("broker describe: %d / %d", bres.Resources[0].ErrorCode, bres.Resources[1].ErrorCode)
	}
	if v, ok := configOf(bres.Resources[0], "auto.create.topics.enable"); !ok || deref(v.Value) != "true" || !v.ReadOnly {
		t.Fatalf("broker auto.create.topics.enable: %+v", v)
	}

	// Incremental: SET, APPEND, DELETE; the open logs see the new retention.
	inc := kmsg.NewPtrIncrementalAlterConfigsRequest()
	inc.Version = 1
	ir := kmsg.NewIncrementalAlterConfigsRequestResource()
	ir.ResourceType, ir.ResourceName = kmsg.ConfigResourceTypeTopic, "cfg"
	add := func(name string, op kmsg.IncrementalAlterConfigOp, value *string) {
		cfg := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		cfg.Name, cfg.Op, cfg.Value = name, op, value
		ir.Configs = append(ir.Configs, cfg)
	}
	add("retention.ms", kmsg.IncrementalAlterConfigOpDelete, nil)
	add("retention.bytes", kmsg.IncrementalAlterConfigOpSet, kmsg.StringPtr("12345"))
	add("cleanup.policy", kmsg.IncrementalAlterConfigOpAppend, kmsg.StringPtr("compact"))
	inc.Resources = append(inc.Resources, ir)
	if r := c.roundTrip(inc).(*kmsg.IncrementalAlterConfigsResponse); r.Resources[0].ErrorCode != 0 {
		t.Fatalf("incremental alter: %d %s", r.Resources[0].ErrorCode, deref(r.Resources[0].ErrorMessage))
	}
	tp, _ := b.meta.Topic("cfg")
	if len(tp.Configs) != 2 || tp.Configs["retention.bytes"] != "12345" || tp.Configs["cleanup.policy"] != "delete,compact" {
		t.Fatalf("configs after incremental alter: %v", tp.Configs)
	}
	l, _ := b.logs.Get("cfg", 1)
	if got := l.Config().RetentionBytes; got != 12345 {
		t.Fatalf("log retention bytes %d, want 12345", got)
	}

	ir.Configs = nil
	add("segment.ms", kmsg.IncrementalAlterConfigOpAppend, kmsg.StringPtr("1"))
	inc.Resources[0] = ir
	if r := c.roundTrip(inc).(*kmsg.IncrementalAlterConfigsResponse); r.Resources[0].ErrorCode != kerr.InvalidConfig.Code {
		t.Fatalf("append to a non-list: error %d", r.Resources[0].ErrorCode)
	}

	// Full replacement through AlterConfigs.
	alt := kmsg.NewPtrAlterConfigsRequest()
	ar := kmsg.NewAlterConfigsRequestResource()
	ar.ResourceType, ar.ResourceName = kmsg.ConfigResourceTypeTopic, "cfg"
	ac := kmsg.NewAlterConfigsRequestResourceConfig()
	ac.Name, ac.Value = "segment.bytes", kmsg.StringPtr("1048576")
	ar.Configs = append(ar.Configs, ac)
	alt.Resources = append(alt.Resources, ar)
	if r := c.roundTrip(alt).(*kmsg.AlterConfigsResponse); r.Resources[0].ErrorCode != 0 {
		t.Fatalf("alter configs: error %d", r.Resources[0].ErrorCode)
	}
	if tp, _ = b.meta.Topic("cfg"); len(tp.Configs) != 1 || tp.Configs["segment.bytes"] != "1048576" {
		t.Fatalf("configs after alter: %v", tp.Configs)
	}
	if l.Config().RetentionBytes != 5<<30 || l.Config().SegmentBytes != 1048576 {
		t.Fatalf("log config after alter: %+v", l.Config())
	}
	ac.Value = kmsg.StringPtr("-5")
	alt.Resources[0].Configs[0] = ac
	if r := c.roundTrip(alt).(*kmsg.AlterConfigsResponse); r.Resources[0].ErrorCode != kerr.InvalidConfig.Code {
		t.Fatalf("invalid alter: error %d", r.Resources[0].ErrorCode)
	}
}

func TestOffsetsAndSmallAPIs(t *testing.T) {
	b := startBroker(t, nil)
	b.createTopic(t, "o", 1, nil)
	c := b.dial(t)
	for i, ts := range []int64{1000, 2000, 3000} {
		r := c.roundTrip(produceReq(8, 1, "o", 0, makeBatch(ts, "x", "y"))).(*kmsg.ProduceResponse)
		if r.Topics[0].Partitions[0].BaseOffset != int64(2*i) {
			t.Fatalf("produce %d: %+v", i, r.Topics[0].Partitions[0])
		}
	}

	listOffsets := func(version int16, ts int64) kmsg.ListOffsetsResponseTopicPartition {
		r := kmsg.NewPtrListOffsetsRequest()
		r.Version = version
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = "o"
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Timestamp = ts
		rt.Partitions = append(rt.Partitions, rp)
		r.Topics = append(r.Topics, rt)
		return c.roundTrip(r).(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
	}
	for _, tc := range []struct {
		ts         int64
		off, gotTs int64
	}{{-1, 6, -1}, {-2, 0, -1}, {1500, 2, 2000}, {3000, 4, 3000}, {9999, -1, -1}} {
		for _, v := range []int16{1, 5} {
			p := listOffsets(v, tc.ts)
			if p.ErrorCode != 0 || p.Offset != tc.off || p.Timestamp != tc.gotTs {
				t.Fatalf("ListOffsets v%d ts %d: %+v, want offset %d ts %d", v, tc.ts, p, tc.off, tc.gotTs)
			}
		}
	}

	// DeleteRecords moves the log start; offsets below it are gone.
	dr := kmsg.NewPtrDeleteRecordsRequest()
	dt := kmsg.NewDeleteRecordsRequestTopic()
	dt.Topic = "o"
	dp := kmsg.NewDeleteRecordsRequestTopicPartition()
	dp.Offset = 2
	dt.Partitions = append(dt.Partitions, dp)
	dr.Topics = append(dr.Topics, dt)
	if p := c.roundTrip(dr).(*kmsg.DeleteRecordsResponse).Topics[0].Partitions[0]; p.ErrorCode != 0 || p.LowWatermark != 2 {
		t.Fatalf("delete records: %+v", p)
	}
	if p := listOffsets(5, -2); p.Offset != 2 {
		t.Fatalf("earliest after delete: %d", p.Offset)
	}
	dr.Topics[0].Partitions[0].Offset = 100
	if p := c.roundTrip(dr).(*kmsg.DeleteRecordsResponse).Topics[0].Partitions[0]; p.ErrorCode != kerr.OffsetOutOfRange.Code {
		t.Fatalf("delete past hwm: %+v", p)
	}

	// OffsetForLeaderEpoch: epoch 0 ends at the high watermark.
	ofe := kmsg.NewPtrOffsetForLeaderEpochRequest()
	ofe.Version = 3
	et := kmsg.NewOffsetForLeaderEpochRequestTopic()
	et.Topic = "o"
	ep := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
	ep.CurrentLeaderEpoch, ep.LeaderEpoch = 0, 0
	et.Partitions = append(et.Partitions, ep)
	ofe.Topics = append(ofe.Topics, et)
	if p := c.roundTrip(ofe).(*kmsg.OffsetForLeaderEpochResponse).Topics[0].Partitions[0]; p.ErrorCode != 0 || p.EndOffset != 6 || p.LeaderEpoch != 0 {
		t.Fatalf("offset for leader epoch: %+v", p)
	}

	// InitProducerId: fresh ids for idempotent producers; transactional ids refused.
	ip := kmsg.NewPtrInitProducerIDRequest()
	ip.Version = 4
	ip.ProducerID, ip.ProducerEpoch = -1, -1
	first := c.roundTrip(ip).(*kmsg.InitProducerIDResponse)
	second := c.roundTrip(ip).(*kmsg.InitProducerIDResponse)
	if first.ErrorCode != 0 || second.ErrorCode != 0 || first.ProducerID == second.ProducerID || first.ProducerEpoch != 0 {
		t.Fatalf("init producer id: %+v / %+v", first, second)
	}
	ip.TransactionalID = kmsg.StringPtr("tx")
	if r := c.roundTrip(ip).(*kmsg.InitProducerIDResponse); r.ErrorCode != kerr.TransactionalIDAuthorizationFailed.Code {
		t.Fatalf("transactional init: error %d", r.ErrorCode)
	}

	// FindCoordinator: us for groups, not available for transactions.
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.Version = 3
	fc.CoordinatorKey = "grp"
	if r := c.roundTrip(fc).(*kmsg.FindCoordinatorResponse); r.ErrorCode != 0 || r.NodeID != 1 || r.Host != "127.0.0.1" || r.Port == 0 {
		t.Fatalf("find group coordinator: %+v", r)
	}
	fc.CoordinatorType = 1
	if r := c.roundTrip(fc).(*kmsg.FindCoordinatorResponse); r.ErrorCode != kerr.CoordinatorNotAvailable.Code {
		t.Fatalf("find txn coordinator: error %d", r.ErrorCode)
	}

	dc := c.roundTrip(kmsg.NewPtrDescribeClusterRequest()).(*kmsg.DescribeClusterResponse)
	if dc.ErrorCode != 0 || dc.ClusterID != "test-cluster" || len(dc.Brokers) != 1 || dc.ControllerID != 1 {
		t.Fatalf("describe cluster: %+v", dc)
	}
}

func TestTopicNameValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"orders", true}, {"a.b_c-D9", true}, {strings.Repeat("x", 249), true},
		{"", false}, {".", false}, {"..", false}, {strings.Repeat("x", 250), false},
		{"a/b", false}, {"a b", false}, {"ü", false},
	} {
		if err := validateTopicName(tc.name); (err == nil) != tc.ok {
			t.Errorf("validateTopicName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestCheckBatches(t *testing.T) {
	batch := makeBatch(1, "v")
	old := bytes.Clone(batch)
	old[batchMagicOffset] = 1
	for _, tc := range []struct {
		name    string
		records []byte
		max     int64
		want    *kerr.Error
	}{
		{"one batch", batch, -1, nil},
		{"two batches", append(bytes.Clone(batch), batch...), int64(len(batch)), nil},
		{"empty", nil, -1, kerr.CorruptMessage},
		{"trailing garbage", append(bytes.Clone(batch), 1, 2, 3), -1, kerr.CorruptMessage},
		{"too large", batch, int64(len(batch) - 1), kerr.MessageTooLarge},
		{"magic 1", old, -1, kerr.UnsupportedForMessageFormat},
	} {
		err := checkBatches(tc.records, tc.max)
		if got := errCode(err, kerr.UnknownServerError); (tc.want == nil && err != nil) || (tc.want != nil && got != tc.want.Code) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

package kafka

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// metricValue reads a counter's or gauge's current value.
func metricValue(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatalf("read metric: %v", err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

// waitFor polls cond until it holds (the test's deadline bounds it).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(ioTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func apiVersionsReq(version int16) *kmsg.ApiVersionsRequest {
	r := kmsg.NewPtrApiVersionsRequest()
	r.Version = version
	r.ClientSoftwareName = "chronik-test"
	r.ClientSoftwareVersion = "1.0"
	return r
}

// checkServing asserts a fresh connection is answered.
func checkServing(t *testing.T, b *testBroker) {
	t.Helper()
	resp := b.dial(t).roundTrip(apiVersionsReq(3)).(*kmsg.ApiVersionsResponse)
	if resp.ErrorCode != 0 || len(resp.ApiKeys) == 0 {
		t.Fatalf("ApiVersions on a fresh connection: error %d, %d keys", resp.ErrorCode, len(resp.ApiKeys))
	}
}

func TestApiVersionsAdvertisesTable(t *testing.T) {
	b := startBroker(t, nil)
	c := b.dial(t)
	for v := int16(0); v <= 3; v++ {
		resp := c.roundTrip(apiVersionsReq(v)).(*kmsg.ApiVersionsResponse)
		if resp.ErrorCode != 0 {
			t.Fatalf("v%d: error %d", v, resp.ErrorCode)
		}
		got := map[int16][2]int16{}
		for _, k := range resp.ApiKeys {
			got[k.ApiKey] = [2]int16{k.MinVersion, k.MaxVersion}
		}
		want := map[int16][2]int16{0: {3, 8}, 1: {4, 11}, 2: {1, 5}, 3: {0, 8}, 8: {0, 7}, 9: {0, 7}, 10: {0, 3},
			11: {0, 5}, 12: {0, 3}, 13: {0, 3}, 14: {0, 3}, 15: {0, 4}, 16: {0, 3}, 18: {0, 3}, 19: {0, 5}, 20: {0, 4},
			21: {0, 1}, 22: {0, 4}, 23: {0, 3}, 32: {0, 4}, 33: {0, 1}, 37: {0, 1}, 42: {0, 1}, 44: {0, 1}, 47: {0, 0}, 60: {0, 0}}
		for k, r := range want {
			if got[k] != r {
				t.Errorf("v%d: %s advertised %v, want %v", v, kmsg.NameForKey(k), got[k], r)
			}
		}
		for _, k := range []int16{17, 24, 25, 26, 28, 36, 68} { // SASL, transactions, KIP-848
			if _, ok := got[k]; ok {
				t.Errorf("v%d: %s must not be advertised", v, kmsg.NameForKey(k))
			}
		}
	}
}

// TestAdvertisedVersionsRoundTrip encodes every advertised request version as a client does
// and checks our decoder reads header and body back, and that every response version encodes
// with the right response header.
func TestAdvertisedVersionsRoundTrip(t *testing.T) {
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("round-trip"))
	for _, a := range advertisedAPIs() {
		proto := kmsg.RequestForKey(a.key)
		if proto == nil {
			t.Fatalf("kmsg has no request for key %d", a.key)
		}
		if a.max > proto.MaxVersion() {
			t.Errorf("%s: advertised max %d above kmsg's %d", kmsg.NameForKey(a.key), a.max, proto.MaxVersion())
		}
		for v := a.min; v <= a.max; v++ {
			req := kmsg.RequestForKey(a.key)
			req.SetVersion(v)
			frame := f.AppendRequest(nil, req, 42)[4:]
			got, h, err := decodeRequest(frame)
			if err != nil {
				t.Fatalf("%s v%d: decode: %v", kmsg.NameForKey(a.key), v, err)
			}
			if h.key != a.key || h.version != v || h.correlationID != 42 || string(h.clientID) != "round-trip" || got.GetVersion() != v {
				t.Fatalf("%s v%d: header %+v", kmsg.NameForKey(a.key), v, h)
			}
			resp := req.ResponseKind()
			out := appendResponse(nil, a.key, 42, resp)
			if n := int(binary.BigEndian.Uint32(out)); n != len(out)-4 {
				t.Fatalf("%s v%d: size prefix %d for %d bytes", kmsg.NameForKey(a.key), v, n, len(out)-4)
			}
			body := out[8:]
			if resp.IsFlexible() && a.key != apiVersionsKey {
				if body[0] != 0 {
					t.Fatalf("%s v%d: missing response header tag byte", kmsg.NameForKey(a.key), v)
				}
				body = body[1:]
			}
			if err := req.ResponseKind().ReadFrom(body); err != nil {
				t.Fatalf("%s v%d: response does not decode: %v", kmsg.NameForKey(a.key), v, err)
			}
		}
	}
}

func TestApiVersionsKIP511Downgrade(t *testing.T) {
	b := startBroker(t, nil)
	c := b.dial(t)
	req := apiVersionsReq(99)
	corr := c.send(req)
	got, body, err := c.readFrame()
	if err != nil || got != corr {
		t.Fatalf("read KIP-511 answer: corr %d err %v", got, err)
	}
	resp := kmsg.NewPtrApiVersionsResponse() // v0 body, header v0
	if err := resp.ReadFrom(body); err != nil {
		t.Fatalf("decode v0 body: %v", err)
	}
	if resp.ErrorCode != kerr.UnsupportedVersion.Code {
		t.Fatalf("error code %d, want UNSUPPORTED_VERSION", resp.ErrorCode)
	}
	i := slices.IndexFunc(resp.ApiKeys, func(k kmsg.ApiVersionsResponseApiKey) bool { return k.ApiKey == apiVersionsKey })
	if i < 0 || resp.ApiKeys[i].MaxVersion != 3 {
		t.Fatalf("ApiVersions range missing or wrong: %+v", resp.ApiKeys)
	}
	// The client retries on the same connection with a version we serve.
	ok := c.roundTrip(apiVersionsReq(3)).(*kmsg.ApiVersionsResponse)
	if ok.ErrorCode != 0 {
		t.Fatalf("retry at v3: error %d", ok.ErrorCode)
	}
}

func TestUnsupportedRequestsCloseConnection(t *testing.T) {
	b := startBroker(t, nil)
	cases := []struct {
		name string
		req  kmsg.Request
	}{
		{"produce below minimum", func() kmsg.Request { r := kmsg.NewPtrProduceRequest(); r.Version = 2; return r }()},
		{"fetch above maximum", func() kmsg.Request { r := kmsg.NewPtrFetchRequest(); r.Version = 12; return r }()},
		{"metadata v9 (flexible)", func() kmsg.Request { r := kmsg.NewPtrMetadataRequest(); r.Version = 9; return r }()},
		{"sasl handshake", func() kmsg.Request { r := kmsg.NewPtrSASLHandshakeRequest(); r.Version = 1; return r }()},
		{"end txn", func() kmsg.Request { r := kmsg.NewPtrEndTxnRequest(); r.Version = 1; return r }()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := b.dial(t)
			// An earlier request on the connection is still answered before the close.
			corr := c.send(apiVersionsReq(0))
			c.send(tc.req)
			c.recv(apiVersionsReq(0), corr)
			c.expectClosed()
			checkServing(t, b)
		})
	}
	t.Run("unknown api key", func(t *testing.T) {
		c := b.dial(t)
		frame := []byte{0, 0, 0, 10, 0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0, 0}
		if _, err := c.nc.Write(frame); err != nil {
			t.Fatal(err)
		}
		c.expectClosed()
		checkServing(t, b)
	})
}

// TestDecoderRobustnessOnSocket writes hostile byte streams: each connection is closed (or,
// for bytes that happen to form a valid request, answered) and the server keeps serving.
func TestDecoderRobustnessOnSocket(t *testing.T) {
	b := startBroker(t, func(c *Config) { c.MaxRequestBytes = 1 << 20 })
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(rng.UintN(256))
		}
		return p
	}
	sized := func(size uint32, body []byte) []byte {
		return append(binary.BigEndian.AppendUint32(nil, size), body...)
	}
	validMeta := kmsg.NewRequestFormatter().AppendRequest(nil, func() kmsg.Request {
		r := kmsg.NewPtrMetadataRequest()
		r.Version = 1
		r.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("some-topic")}}
		return r
	}(), 9)
	cases := []struct {
		name  string
		bytes []byte
	}{
		{"random bytes", random(4096)},
		{"random body with valid size", sized(1000, random(1000))},
		{"oversized length", sized(0x7fffffff, random(64))},
		{"length above max request bytes", sized(1<<20+1, random(64))},
		{"negative length", sized(0xffffffff, random(64))},
		{"length below header size", sized(4, random(4))},
		{"zero length", sized(0, nil)},
		{"truncated frame", sized(500, random(100))},
		{"truncated metadata body", sized(uint32(len(validMeta)-4-6), validMeta[4:len(validMeta)-6])},
		{"metadata array count lies", func() []byte {
			f := slices.Clone(validMeta)
			// topics array count (after 8 header bytes + int16 client id length 0xffff) set huge
			binary.BigEndian.PutUint32(f[4+8+2:], 0x7ffffff0)
			return f
		}()},
		{"client id longer than frame", sized(12, []byte{0, 18, 0, 0, 0, 0, 0, 1, 0x7f, 0xff, 'a', 'b'})},
		{"flexible header tags run past the frame", sized(12, []byte{0, 18, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 5, 9})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := b.dial(t)
			if _, err := c.nc.Write(tc.bytes); err != nil {
				t.Fatalf("write: %v", err)
			}
			_ = c.nc.(*net.TCPConn).CloseWrite()
			for {
				_, _, err := c.readFrame()
				if err == nil {
					continue // bytes that formed a valid request may be answered
				}
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatalf("connection neither answered nor closed")
				}
				break
			}
			checkServing(t, b)
		})
	}
}

// TestResponsesInRequestOrder pipelines a long-poll fetch, then a produce that satisfies it,
// then quick requests, on one connection: the produce must run while the fetch waits (else
// the fetch would return empty at its deadline) and the responses come back in request order.
func TestResponsesInRequestOrder(t *testing.T) {
	b := startBroker(t, nil)
	b.createTopic(t, "ordered", 1, nil)
	c := b.dial(t)
	fetch := fetchReq(11, "ordered", 0, 0, 60_000, 1)
	produce := produceReq(8, 1, "ordered", 0, makeBatch(1000, "wake-up"))
	var sent []kmsg.Request
	var corrs []int32
	for _, r := range []kmsg.Request{fetch, produce, apiVersionsReq(3), apiVersionsReq(0)} {
		sent = append(sent, r)
		corrs = append(corrs, c.send(r))
	}
	for i := 0; i < 10; i++ {
		r := kmsg.NewPtrMetadataRequest()
		r.Version = int16(i % 9)
		sent = append(sent, r)
		corrs = append(corrs, c.send(r))
	}
	for i, r := range sent {
		resp := c.recv(r, corrs[i]) // recv fails on any other correlation id
		if i == 0 {
			f := resp.(*kmsg.FetchResponse)
			p := f.Topics[0].Partitions[0]
			if p.ErrorCode != 0 || len(p.RecordBatches) == 0 || p.HighWatermark != 1 {
				t.Fatalf("long-poll fetch: error %d, %d record bytes, hwm %d; want the produced batch", p.ErrorCode, len(p.RecordBatches), p.HighWatermark)
			}
		}
		if i == 1 {
			p := resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0]
			if p.ErrorCode != 0 || p.BaseOffset != 0 {
				t.Fatalf("produce: error %d base offset %d", p.ErrorCode, p.BaseOffset)
			}
		}
	}
}

func TestAcksZeroGetsNoResponse(t *testing.T) {
	b := startBroker(t, nil)
	b.createTopic(t, "fire-and-forget", 1, nil)
	c := b.dial(t)
	c.send(produceReq(7, 0, "fire-and-forget", 0, makeBatch(1, "a")))
	c.send(produceReq(7, 0, "fire-and-forget", 0, makeBatch(2, "b")))
	req := apiVersionsReq(2)
	c.recv(req, c.send(req)) // the next frame must be this response, not one for the produces
	f := c.roundTrip(fetchReq(11, "fire-and-forget", 0, 0, 10_000, 1)).(*kmsg.FetchResponse)
	p := f.Topics[0].Partitions[0]
	waitFor(t, "both acks=0 batches durable", func() bool {
		l, _ := b.logs.Get("fire-and-forget", 0)
		return l.HighWatermark() == 2
	})
	if p.ErrorCode != 0 || len(p.RecordBatches) == 0 {
		t.Fatalf("fetch after acks=0 produce: error %d, %d bytes", p.ErrorCode, len(p.RecordBatches))
	}
}

func TestGracefulShutdownAnswersInFlight(t *testing.T) {
	b := startBroker(t, nil)
	b.createTopic(t, "idle", 1, nil)
	c := b.dial(t)
	inFlight := func() float64 { return metricValue(t, b.srv.metrics.inFlight) }
	corr := c.send(fetchReq(11, "idle", 0, 0, 600_000, 1))
	waitFor(t, "the fetch to be in flight", func() bool { return inFlight() == 1 })
	b.stop(t) // returns once connections are drained
	f := c.recv(fetchReq(11, "idle", 0, 0, 0, 0), corr).(*kmsg.FetchResponse)
	if p := f.Topics[0].Partitions[0]; p.ErrorCode != 0 || len(p.RecordBatches) != 0 {
		t.Fatalf("in-flight fetch at shutdown: error %d, %d bytes", p.ErrorCode, len(p.RecordBatches))
	}
	c.expectClosed()
	if _, err := net.DialTimeout("tcp", b.addr, time.Second); err == nil {
		t.Fatalf("listener still accepting after shutdown")
	}
}

func TestMetricsCountRequests(t *testing.T) {
	b := startBroker(t, nil)
	c := b.dial(t)
	c.roundTrip(apiVersionsReq(3))
	c.roundTrip(kmsg.NewPtrMetadataRequest())
	if n := metricValue(t, b.srv.metrics.requests.WithLabelValues("ApiVersions")); n != 1 {
		t.Errorf("ApiVersions requests = %v, want 1", n)
	}
	if n := metricValue(t, b.srv.metrics.connections); n != 1 {
		t.Errorf("connections = %v, want 1", n)
	}
	if metricValue(t, b.srv.metrics.bytesIn) == 0 || metricValue(t, b.srv.metrics.bytesOut) == 0 {
		t.Errorf("byte counters did not move")
	}
	families, err := b.reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
	}
	for _, n := range []string{"chronik_kafka_request_duration_seconds", "chronik_kafka_requests_total",
		"chronik_kafka_bytes_in_total", "chronik_kafka_bytes_out_total", "chronik_kafka_connections"} {
		if !names[n] {
			t.Errorf("metric %s not registered", n)
		}
	}
}

func TestReadFrameGrowsWithData(t *testing.T) {
	payload := bytes.Repeat([]byte("x"), 3*frameChunk+17)
	got, err := readFrame(bytes.NewReader(payload), len(payload))
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("readFrame: %d bytes, err %v", len(got), err)
	}
	if _, err := readFrame(bytes.NewReader(payload[:100]), len(payload)); err == nil {
		t.Fatalf("short input: no error")
	}
}

func TestAcksZeroFailureClosesConnection(t *testing.T) {
	b := startBroker(t, nil)
	c := b.dial(t)
	corr := c.send(apiVersionsReq(3))
	c.send(produceReq(7, 0, "no-such-topic", 0, makeBatch(1, "lost")))
	c.recv(apiVersionsReq(3), corr) // earlier responses still arrive
	c.expectClosed()
	checkServing(t, b)
}

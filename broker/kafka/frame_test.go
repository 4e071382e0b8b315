package kafka

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestDecodeRequestHeader(t *testing.T) {
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("cid"))
	// Flexible request (header v2): client id stays an int16 string, tags follow.
	md := kmsg.NewPtrCreateTopicsRequest()
	md.Version = 5
	md.Topics = []kmsg.CreateTopicsRequestTopic{newTopic("x", 1, 1)}
	frame := f.AppendRequest(nil, md, 77)[4:]
	req, h, err := decodeRequest(frame)
	if err != nil || h.correlationID != 77 || string(h.clientID) != "cid" || req.(*kmsg.CreateTopicsRequest).Topics[0].Topic != "x" {
		t.Fatalf("flexible: %+v %v", h, err)
	}
	// A tagged field in the header is skipped.
	withTag := bytes.Clone(frame[:8+2+3])
	withTag = append(withTag, 1, 5, 2, 0xaa, 0xbb) // one tag: key 5, 2 bytes
	withTag = append(withTag, frame[8+2+3+1:]...)
	if req, _, err = decodeRequest(withTag); err != nil || req.(*kmsg.CreateTopicsRequest).Topics[0].Topic != "x" {
		t.Fatalf("header tags: %v", err)
	}
	// Null client id.
	nf := kmsg.NewRequestFormatter()
	_, h, err = decodeRequest(nf.AppendRequest(nil, kmsg.NewPtrMetadataRequest(), 1)[4:])
	if err != nil || h.clientID != nil {
		t.Fatalf("null client id: %q %v", h.clientID, err)
	}
	for _, bad := range [][]byte{
		nil,
		{0, 3, 0},
		{0, 3, 0, 1, 0, 0, 0, 1, 0, 9, 'a'},   // client id runs past the frame
		{0, 19, 0, 5, 0, 0, 0, 1, 0xff, 0xff}, // flexible, missing tag section
		{0x7f, 0x7f, 0, 0, 0, 0, 0, 1},        // unknown key
	} {
		if _, _, err := decodeRequest(bad); err == nil {
			t.Errorf("decodeRequest(% x) accepted", bad)
		}
	}
}

func TestAppendResponseHeaders(t *testing.T) {
	av := kmsg.NewPtrApiVersionsResponse()
	av.Version = 3 // flexible, but ApiVersions always uses response header v0
	out := appendResponse(nil, apiVersionsKey, 5, av)
	if got := binary.BigEndian.Uint32(out[4:]); got != 5 || !bytes.Equal(out[8:], av.AppendTo(nil)) {
		t.Fatalf("ApiVersions v3 header: % x", out[:12])
	}
	md := kmsg.NewPtrMetadataResponse()
	md.Version = 8 // not flexible: header v0
	if out := appendResponse(nil, 3, 6, md); !bytes.Equal(out[8:], md.AppendTo(nil)) {
		t.Fatalf("Metadata v8 header")
	}
	ct := kmsg.NewPtrCreateTopicsResponse()
	ct.Version = 5 // flexible: header v1 (tag byte)
	if out := appendResponse(nil, 19, 7, ct); out[8] != 0 || !bytes.Equal(out[9:], ct.AppendTo(nil)) {
		t.Fatalf("CreateTopics v5 header")
	}
}

// FuzzRequestDecoding feeds arbitrary frames to the header and body decoder the connection
// reader uses: it must never panic, and what it accepts must re-encode and decode the same way.
func FuzzRequestDecoding(f *testing.F) {
	fm := kmsg.NewRequestFormatter(kmsg.FormatterClientID("fuzz"))
	for _, a := range advertisedAPIs() {
		for _, v := range []int16{a.min, a.max} {
			req := kmsg.RequestForKey(a.key)
			req.SetVersion(v)
			f.Add(fm.AppendRequest(nil, req, 1)[4:])
		}
	}
	p := produceReq(8, 1, "t", 0, makeBatch(1, "v"))
	f.Add(fm.AppendRequest(nil, p, 2)[4:])
	f.Add(fm.AppendRequest(nil, fetchReq(11, "t", 0, 0, 100, 1), 3)[4:])
	f.Add([]byte{0, 18, 0, 99, 0, 0, 0, 1})

	served := map[int16]apiRange{}
	for _, a := range advertisedAPIs() {
		served[a.key] = a
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		key, version, corr, err := peekHeader(frame)
		if err != nil {
			if len(frame) >= minRequestBytes {
				t.Fatalf("peekHeader refused a %d-byte frame: %v", len(frame), err)
			}
			return
		}
		if a, ok := served[key]; !ok || version < a.min || version > a.max {
			return // the reader closes the connection before decoding
		}
		req, h, err := decodeRequest(frame)
		if err != nil {
			return
		}
		if h.key != key || h.version != version || h.correlationID != corr || req.Key() != key || req.GetVersion() != version {
			t.Fatalf("header mismatch: %+v vs key %d version %d corr %d", h, key, version, corr)
		}
		again := kmsg.NewRequestFormatter().AppendRequest(nil, req, corr)[4:]
		req2, _, err := decodeRequest(again)
		if err != nil {
			t.Fatalf("re-encoded %s v%d does not decode: %v", kmsg.NameForKey(key), version, err)
		}
		if !bytes.Equal(req2.AppendTo(nil), req.AppendTo(nil)) {
			t.Fatalf("%s v%d: decode/encode not stable", kmsg.NameForKey(key), version)
		}
	})
}

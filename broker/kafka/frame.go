package kafka

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// errMalformed marks a request whose header or body cannot be decoded.
var errMalformed = errors.New("malformed request")

// requestHeader is a Kafka request header (v1, or v2 for flexible requests).
type requestHeader struct {
	key           int16
	version       int16
	correlationID int32
	clientID      []byte // aliases the frame; nil when null
}

// peekHeader reads the fixed part of a request header: api key, version, correlation id.
func peekHeader(frame []byte) (key, version int16, correlationID int32, err error) {
	if len(frame) < minRequestBytes {
		return 0, 0, 0, fmt.Errorf("%w: frame of %d bytes is shorter than a request header", errMalformed, len(frame))
	}
	key = int16(binary.BigEndian.Uint16(frame[0:]))
	version = int16(binary.BigEndian.Uint16(frame[2:]))
	correlationID = int32(binary.BigEndian.Uint32(frame[4:]))
	return key, version, correlationID, nil
}

// decodeRequest decodes a whole request frame whose key and version are known to be served.
// The client id is a classic nullable string even in header v2; flexible requests then carry a
// tag section. Produce and Fetch bodies are decoded without copying strings: the request's
// strings alias frame, which lives until the request is answered.
func decodeRequest(frame []byte) (kmsg.Request, requestHeader, error) {
	var h requestHeader
	var err error
	h.key, h.version, h.correlationID, err = peekHeader(frame)
	if err != nil {
		return nil, h, err
	}
	req := kmsg.RequestForKey(h.key)
	if req == nil {
		return nil, h, fmt.Errorf("%w: unknown api key %d", errMalformed, h.key)
	}
	req.SetVersion(h.version)
	b := kbin.Reader{Src: frame[minRequestBytes:]}
	if l := b.Int16(); l >= 0 {
		h.clientID = b.Span(int(l))
	}
	if req.IsFlexible() {
		skipTags(&b)
	}
	if !b.Ok() {
		return nil, h, fmt.Errorf("%w: truncated header of %s v%d", errMalformed, kmsg.NameForKey(h.key), h.version)
	}
	if h.key == produceKey || h.key == fetchKey { // hot path
		err = req.(kmsg.UnsafeReadFrom).UnsafeReadFrom(b.Src)
	} else {
		err = req.ReadFrom(b.Src)
	}
	if err != nil {
		return nil, h, fmt.Errorf("%w: %s v%d body: %w", errMalformed, kmsg.NameForKey(h.key), h.version, err)
	}
	return req, h, nil
}

// skipTags skips a tagged-field section (KIP-482). A section that runs past the input leaves
// the reader not ok.
func skipTags(b *kbin.Reader) {
	n := b.Uvarint()
	for i := uint32(0); i < n && b.Ok(); i++ {
		b.Uvarint() // tag
		size := b.Uvarint()
		if int64(size) > int64(len(b.Src)) {
			b.Span(len(b.Src) + 1) // marks the reader bad
			return
		}
		b.Span(int(size))
	}
}

// appendResponse encodes a response frame: size prefix, correlation id, the header's tag byte
// for flexible responses (response header v1; ApiVersions always uses header v0) and the body.
func appendResponse(dst []byte, key int16, correlationID int32, resp kmsg.Response) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(correlationID))
	if resp.IsFlexible() && key != apiVersionsKey {
		dst = append(dst, 0)
	}
	dst = resp.AppendTo(dst)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

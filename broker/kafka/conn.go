package kafka

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	readBufferSize  = 32 << 10
	writeBufferSize = 64 << 10
	// frameChunk is the first allocation for a request body; larger bodies grow as their
	// bytes arrive, so a size prefix alone never makes us allocate much.
	frameChunk = 64 << 10
)

// pending is one request's slot in the ordered response queue.
type pending struct {
	done       chan struct{} // closed when buf / noReply / closeAfter are final
	buf        []byte        // encoded response frame
	noReply    bool          // acks=0 produce
	closeAfter bool          // close the connection once earlier responses are written
}

// requestContext is what handlers know about the request's origin.
type requestContext struct {
	clientID []byte // aliases the request frame
	host     string // client host (remote address without port)
	// release lets the next request of this request's chain start before this one has
	// finished (a produce whose appends are queued in order). Safe to call more than once.
	release func()
}

// conn is one client connection: a reader (the serve goroutine), concurrent request handlers
// and one writer that answers in request order.
type conn struct {
	s      *Server
	nc     net.Conn
	host   string
	logger *slog.Logger

	ctx    context.Context // canceled when the connection stops reading
	cancel context.CancelFunc

	slots  chan struct{} // in-flight requests (read but not yet answered)
	queue  chan *pending // responses in request order
	chains [numChains]chan struct{}

	stop     chan struct{} // closed by stopReading
	stopOnce sync.Once

	handlers sync.WaitGroup
}

func newConn(ctx context.Context, s *Server, nc net.Conn) *conn {
	ctx, cancel := context.WithCancel(ctx)
	host := nc.RemoteAddr().String()
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return &conn{
		s:      s,
		nc:     nc,
		host:   host,
		logger: s.logger.With("remote", nc.RemoteAddr().String()),
		ctx:    ctx,
		cancel: cancel,
		slots:  make(chan struct{}, s.cfg.MaxInFlightPerConn),
		queue:  make(chan *pending, s.cfg.MaxInFlightPerConn),
		stop:   make(chan struct{}),
	}
}

// serve runs the connection until the reader stops, every handler has finished and the writer
// has written what it could; it then closes the socket.
func (c *conn) serve() {
	c.s.metrics.connections.Inc()
	defer c.s.metrics.connections.Dec()
	var writer sync.WaitGroup
	writer.Go(c.writeLoop)
	c.readLoop()
	close(c.queue) // only the reader sends on queue
	c.cancel()     // wake long polls: the client gets what there is
	c.handlers.Wait()
	writer.Wait()
	_ = c.nc.Close()
}

// stopReading makes the reader stop at the next frame boundary (graceful shutdown).
func (c *conn) stopReading() {
	c.stopOnce.Do(func() {
		close(c.stop)
		_ = c.nc.SetReadDeadline(time.Now())
	})
}

// forceClose abandons in-flight work: cancels handlers and closes the socket.
func (c *conn) forceClose() {
	c.stopReading()
	c.cancel()
	_ = c.nc.Close()
}

func (c *conn) stopped() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// readLoop reads frames until an error, a request that closes the connection, or a stop.
func (c *conn) readLoop() {
	br := bufio.NewReaderSize(c.nc, readBufferSize)
	var sizeBuf [4]byte
	for {
		// Take the in-flight slot before reading: it also bounds the memory of read frames.
		select {
		case c.slots <- struct{}{}:
		case <-c.stop:
			return
		case <-c.ctx.Done():
			return
		}
		if _, err := io.ReadFull(br, sizeBuf[:]); err != nil {
			c.readFailed("reading request size", err)
			return
		}
		size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
		if size < minRequestBytes || size > c.s.cfg.MaxRequestBytes {
			c.logger.Warn("closing connection: invalid request size", "size", size, "max", c.s.cfg.MaxRequestBytes)
			return
		}
		frame, err := readFrame(br, int(size))
		if err != nil {
			c.readFailed("reading request", err)
			return
		}
		c.s.metrics.bytesIn.Add(float64(4 + len(frame)))
		if !c.accept(frame) {
			return
		}
	}
}

// readFailed logs why reading stopped, quietly for ordinary closes.
func (c *conn) readFailed(what string, err error) {
	switch {
	case c.stopped():
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), errors.Is(err, os.ErrDeadlineExceeded):
		c.logger.Debug("connection closed", "during", what, "err", err)
	default:
		c.logger.Debug("connection read failed", "during", what, "err", err)
	}
}

// readFrame reads a body of size bytes (already validated against the maximum), growing the
// buffer as bytes arrive.
func readFrame(r io.Reader, size int) ([]byte, error) {
	if size <= frameChunk {
		buf := make([]byte, size)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, noEOF(err)
		}
		return buf, nil
	}
	buf := make([]byte, 0, frameChunk)
	for len(buf) < size {
		if len(buf) == cap(buf) {
			next := make([]byte, len(buf), min(size, 2*cap(buf)))
			copy(next, buf)
			buf = next
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil && len(buf) < size {
			return nil, noEOF(err)
		}
	}
	return buf, nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// accept queues one request frame for handling; false closes the connection (after the
// responses already queued are written).
func (c *conn) accept(frame []byte) bool {
	start := time.Now()
	key, version, correlationID, err := peekHeader(frame)
	if err != nil {
		c.logger.Debug("closing connection: malformed request header", "err", err)
		return false
	}
	vr := c.s.versionRange(key)
	if key == apiVersionsKey && version > vr.max {
		// KIP-511: answer from the header alone with a v0 body listing our ranges.
		p := &pending{done: make(chan struct{}), buf: c.s.unsupportedApiVersions(correlationID)}
		close(p.done)
		c.s.metrics.inFlight.Inc()
		c.queue <- p
		c.s.metrics.api(key).requests.Inc()
		c.s.metrics.api(key).duration.Observe(time.Since(start).Seconds())
		return true
	}
	if !vr.ok || version < vr.min || version > vr.max {
		c.logger.Debug("closing connection: unsupported request", "api_key", key, "api", kmsg.NameForKey(key), "version", version)
		return false
	}
	req, hdr, err := decodeRequest(frame)
	if err != nil {
		c.logger.Debug("closing connection: cannot decode request", "api", kmsg.NameForKey(key), "version", version, "err", err)
		return false
	}
	var prev, mine chan struct{}
	if ch := chainOf(key); ch != chainNone {
		prev = c.chains[ch]
		mine = make(chan struct{})
		c.chains[ch] = mine
	}
	p := &pending{done: make(chan struct{})}
	c.s.metrics.inFlight.Inc()
	c.queue <- p // never blocks: cap(queue) == cap(slots) and we hold a slot
	c.handlers.Add(1)
	go c.handle(p, req, hdr, prev, mine, start)
	return true
}

// handle processes one request after the previous request of its chain, and publishes the
// encoded response to p.
func (c *conn) handle(p *pending, req kmsg.Request, h requestHeader, prev, mine chan struct{}, start time.Time) {
	defer c.handlers.Done()
	defer close(p.done)
	var releaseOnce sync.Once
	release := func() {
		if mine != nil {
			releaseOnce.Do(func() { close(mine) })
		}
	}
	defer release()
	if prev != nil {
		<-prev
	}
	resp, err := c.serveRequest(req, h, release)
	am := c.s.metrics.api(h.key)
	am.requests.Inc()
	am.duration.Observe(time.Since(start).Seconds())
	switch {
	case errors.Is(err, errAcksZeroFailed):
		c.logger.Debug("closing connection: acks=0 produce failed")
		p.closeAfter = true
	case err != nil:
		c.logger.Warn("closing connection: request failed", "api", kmsg.NameForKey(h.key), "version", h.version, "err", err)
		p.closeAfter = true
	case resp == nil:
		p.noReply = true
	default:
		resp.SetVersion(h.version)
		p.buf = appendResponse(make([]byte, 0, responseSizeHint(resp)), h.key, h.correlationID, resp)
	}
}

// serveRequest dispatches req, turning a handler panic into an error that closes the connection.
func (c *conn) serveRequest(req kmsg.Request, h requestHeader, release func()) (resp kmsg.Response, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.logger.Error("request handler panicked", "api", kmsg.NameForKey(h.key), "version", h.version, "panic", r, "stack", string(debug.Stack()))
			resp, err = nil, fmt.Errorf("handler panic: %v", r)
		}
	}()
	return c.s.dispatch(c.ctx, &requestContext{clientID: h.clientID, host: c.host, release: release}, req)
}

// writeLoop writes responses in request order, flushing whenever it would wait.
func (c *conn) writeLoop() {
	bw := bufio.NewWriterSize(c.nc, writeBufferSize)
	broken := false
	fail := func(err error) {
		if !broken {
			broken = true
			c.logger.Debug("connection write failed", "err", err)
			c.cancel()
			_ = c.nc.Close() // unblocks the reader
		}
	}
	flush := func() {
		if !broken && bw.Buffered() > 0 {
			if err := bw.Flush(); err != nil {
				fail(err)
			}
		}
	}
	for {
		var p *pending
		var ok bool
		select {
		case p, ok = <-c.queue:
		default:
			flush()
			p, ok = <-c.queue
		}
		if !ok {
			break
		}
		select {
		case <-p.done:
		default:
			flush()
			<-p.done
		}
		if !broken && !p.noReply && !p.closeAfter {
			if _, err := bw.Write(p.buf); err != nil {
				fail(err)
			} else {
				c.s.metrics.bytesOut.Add(float64(len(p.buf)))
			}
		}
		if p.closeAfter && !broken {
			flush()
			fail(errors.New("closing after failed request"))
		}
		p.buf = nil
		c.s.metrics.inFlight.Dec()
		<-c.slots
	}
	flush()
}

// responseSizeHint estimates the encoded size of resp to size its buffer in one allocation.
func responseSizeHint(resp kmsg.Response) int {
	f, ok := resp.(*kmsg.FetchResponse)
	if !ok {
		return 512
	}
	n := 64
	for i := range f.Topics {
		t := &f.Topics[i]
		n += 16 + len(t.Topic)
		for j := range t.Partitions {
			n += 64 + len(t.Partitions[j].RecordBatches)
		}
	}
	return n
}

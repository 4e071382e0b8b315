package console

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// DefaultEventCapacity is the ring size NewEvents uses for capacity <= 0.
const DefaultEventCapacity = 1000

// Event is one operator-visible event.
type Event struct {
	Seq     uint64 // increasing from 1
	Time    time.Time
	Level   slog.Level
	Message string
}

// Events is a bounded ring of events, safe for concurrent use. When full, the oldest event is
// dropped. It also counts every ERROR-level event ever appended (for the "no errors" check).
type Events struct {
	now func() time.Time

	mu        sync.Mutex
	buf       []Event
	start     int // index of the oldest event in buf
	n         int
	seq       uint64
	changed   chan struct{}
	errors    uint64
	lastError Event
}

// NewEvents makes a ring holding at most capacity events; now nil means time.Now.
func NewEvents(capacity int, now func() time.Time) *Events {
	if capacity <= 0 {
		capacity = DefaultEventCapacity
	}
	if now == nil {
		now = time.Now
	}
	return &Events{now: now, buf: make([]Event, capacity), changed: make(chan struct{})}
}

// Append records an event and returns it.
func (e *Events) Append(level slog.Level, message string) Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seq++
	ev := Event{Seq: e.seq, Time: e.now(), Level: level, Message: message}
	if e.n < len(e.buf) {
		e.buf[(e.start+e.n)%len(e.buf)] = ev
		e.n++
	} else {
		e.buf[e.start] = ev
		e.start = (e.start + 1) % len(e.buf)
	}
	if level >= slog.LevelError {
		e.errors++
		e.lastError = ev
	}
	close(e.changed)
	e.changed = make(chan struct{})
	return ev
}

// Appendf records an event with a formatted message.
func (e *Events) Appendf(level slog.Level, format string, args ...any) Event {
	return e.Append(level, fmt.Sprintf(format, args...))
}

// Since returns the buffered events with Seq > seq, oldest first, at most max (the newest ones)
// when max > 0.
func (e *Events) Since(seq uint64, max int) []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Event
	for i := range e.n {
		if ev := e.buf[(e.start+i)%len(e.buf)]; ev.Seq > seq {
			out = append(out, ev)
		}
	}
	if max > 0 && len(out) > max {
		out = out[len(out)-max:]
	}
	return out
}

// LastSeq is the sequence number of the newest event (0 if none).
func (e *Events) LastSeq() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.seq
}

// Changed returns a channel closed at the next Append.
func (e *Events) Changed() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.changed
}

// ErrorStats is how many ERROR events were appended and the last one.
func (e *Events) ErrorStats() (count uint64, last Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.errors, e.lastError
}

// Handler returns a slog.Handler that passes every record to next and also appends records at
// level >= min to the ring as "message key=value …" (records next does not want are still
// recorded, so the events pane does not depend on log_level).
func (e *Events) Handler(next slog.Handler, min slog.Level) slog.Handler {
	return &teeHandler{events: e, next: next, min: min}
}

type teeHandler struct {
	events *Events
	next   slog.Handler
	min    slog.Level
	prefix string // formatted attributes from WithAttrs
	group  string // open group prefix ("g." …)
}

func (h *teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min || h.next.Enabled(ctx, l)
}

func (h *teeHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= h.min {
		var b strings.Builder
		b.WriteString(r.Message)
		b.WriteString(h.prefix)
		r.Attrs(func(a slog.Attr) bool {
			writeAttr(&b, h.group, a)
			return true
		})
		h.events.Append(r.Level, b.String())
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *teeHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	for _, a := range attrs {
		writeAttr(&b, h.group, a)
	}
	c := *h
	c.next = h.next.WithAttrs(attrs)
	c.prefix = h.prefix + b.String()
	return &c
}

func (h *teeHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.next = h.next.WithGroup(name)
	c.group = h.group + name + "."
	return &c
}

func writeAttr(b *strings.Builder, group string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		g := group
		if a.Key != "" {
			g += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			writeAttr(b, g, ga)
		}
		return
	}
	v := a.Value.String()
	if v == "" || strings.ContainsAny(v, " =\"") {
		v = fmt.Sprintf("%q", v)
	}
	fmt.Fprintf(b, " %s%s=%s", group, a.Key, v)
}

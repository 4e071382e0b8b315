package raftstore

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// NewHCLogger adapts an slog.Logger to the hclog.Logger that hashicorp/raft and raft-wal expect.
// A nil logger discards everything. hclog's Trace maps to slog level Debug-4.
func NewHCLogger(logger *slog.Logger, name string) hclog.Logger {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &hcLogger{l: logger, name: name}
}

type hcLogger struct {
	l       *slog.Logger
	name    string
	implied []any
}

const slogTrace = slog.LevelDebug - 4

func toSlogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return slogTrace
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error, hclog.Off:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// normalize turns hclog.Fmt values into strings so that slog prints them readably.
func normalize(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		if f, ok := a.(hclog.Format); ok && len(f) > 0 {
			if s, ok := f[0].(string); ok {
				a = fmt.Sprintf(s, f[1:]...)
			}
		}
		out[i] = a
	}
	return out
}

// expected lists raft messages logged at ERROR (or WARN) for situations that are part of
// normal operation in Chronik; they are logged at INFO so that an error in the log always
// means something went wrong:
//   - "failed to get log" (log not found): the leader is about to send a snapshot to a follower
//     needing compacted entries, e.g. every node joining a cluster;
//   - "peer has newer term, stopping replication": the old leader after a leadership transfer;
//   - "failed to get previous log" / "appendEntries rejected, sending older logs": a new or
//     lagging follower being brought up to date.
var expected = map[string]bool{
	"failed to get log":                          true,
	"peer has newer term, stopping replication":  true,
	"failed to get previous log":                 true,
	"appendEntries rejected, sending older logs": true,
}

// notRunningYet reports a replication error whose cause is that the peer has not started the
// group yet (a node that just joined opens its data groups after the metadata group): the
// leader retries, so it is a WARN, not an ERROR.
func notRunningYet(msg string, args []any) bool {
	if !strings.HasPrefix(msg, "failed to appendEntries to") && !strings.HasPrefix(msg, "failed to heartbeat to") {
		return false
	}
	for _, a := range args {
		if err, ok := a.(error); ok && strings.Contains(err.Error(), "is not running on") {
			return true
		}
	}
	return false
}

func (h *hcLogger) Log(level hclog.Level, msg string, args ...any) {
	if level > hclog.Info && expected[msg] {
		level = hclog.Info
	}
	if level > hclog.Warn && notRunningYet(msg, args) {
		level = hclog.Warn
	}
	lv := toSlogLevel(level)
	if !h.l.Enabled(context.Background(), lv) {
		return
	}
	all := make([]any, 0, 2+len(h.implied)+len(args))
	if h.name != "" {
		all = append(all, "logger", h.name)
	}
	all = append(all, h.implied...)
	all = append(all, normalize(args)...)
	h.l.Log(context.Background(), lv, msg, all...)
}

func (h *hcLogger) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hcLogger) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hcLogger) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hcLogger) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hcLogger) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *hcLogger) enabled(l hclog.Level) bool {
	return h.l.Enabled(context.Background(), toSlogLevel(l))
}

func (h *hcLogger) IsTrace() bool { return h.enabled(hclog.Trace) }
func (h *hcLogger) IsDebug() bool { return h.enabled(hclog.Debug) }
func (h *hcLogger) IsInfo() bool  { return h.enabled(hclog.Info) }
func (h *hcLogger) IsWarn() bool  { return h.enabled(hclog.Warn) }
func (h *hcLogger) IsError() bool { return h.enabled(hclog.Error) }

func (h *hcLogger) ImpliedArgs() []any { return append([]any(nil), h.implied...) }

func (h *hcLogger) With(args ...any) hclog.Logger {
	implied := append(append([]any(nil), h.implied...), normalize(args)...)
	return &hcLogger{l: h.l, name: h.name, implied: implied}
}

func (h *hcLogger) Name() string { return h.name }

func (h *hcLogger) Named(name string) hclog.Logger {
	if h.name != "" {
		name = h.name + "." + name
	}
	return &hcLogger{l: h.l, name: name, implied: h.implied}
}

func (h *hcLogger) ResetNamed(name string) hclog.Logger {
	return &hcLogger{l: h.l, name: name, implied: h.implied}
}

// SetLevel is a no-op: the level belongs to the injected slog handler.
func (h *hcLogger) SetLevel(hclog.Level) {}

func (h *hcLogger) GetLevel() hclog.Level {
	for _, l := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn, hclog.Error} {
		if h.enabled(l) {
			return l
		}
	}
	return hclog.Off
}

func (h *hcLogger) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return slog.NewLogLogger(h.l.Handler(), slog.LevelInfo)
}

func (h *hcLogger) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	return h.StandardLogger(opts).Writer()
}

package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config configures the HTTP server.
type Config struct {
	// AdminToken guards mutating /admin endpoints; "" refuses them all.
	AdminToken string
}

// Member is one cluster member as /admin/cluster/members shows it.
type Member struct {
	NodeID uint64 `json:"node_id"`
	Addr   string `json:"addr"`
	State  string `json:"state"` // "leader", "follower", "candidate", "nonvoter", …
	// What the console shows beside (not in /admin/cluster/members, whose format the
	// migration guide fixes): the answering node's Raft term, how long ago the member was
	// last heard from and how many entries it is behind the leader; negative = unknown.
	Voter       bool          `json:"-"`
	Term        uint64        `json:"-"`
	LastContact time.Duration `json:"-"`
	Lag         int64         `json:"-"`
}

// Status is what the broker reports about itself and its cluster.
type Status interface {
	// Health returns status "healthy" (200) or anything else (503, with reason).
	Health() (status string, clusterSize int, isLeader bool, reason string)
	Members() []Member
	Leader() (Member, bool)
}

// Server is the HTTP handler. Register endpoints before serving or while
// serving; both are safe.
type Server struct {
	cfg    Config
	st     Status
	logger *slog.Logger
	mux    *http.ServeMux

	mu     sync.RWMutex
	routes map[string]map[string]route // path pattern → method → route
}

type route struct {
	h        http.HandlerFunc
	mutating bool
}

// NewServer builds the handler. gatherer may be nil (then /metrics is 404);
// logger nil means slog.Default().
func NewServer(cfg Config, st Status, gatherer prometheus.Gatherer, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.Default()
	}
	s := &Server{cfg: cfg, st: st, logger: logger, mux: http.NewServeMux(), routes: map[string]map[string]route{}}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s", r.URL.Path))
	})
	s.register(http.MethodGet, "/health", s.health, false)
	if gatherer != nil {
		mh := promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{ErrorLog: slogErrorLog{logger}})
		s.register(http.MethodGet, "/metrics", mh.ServeHTTP, false)
	}
	s.register(http.MethodGet, "/admin/cluster/members", s.members, false)
	s.register(http.MethodGet, "/admin/cluster/leader", s.leader, false)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// RegisterAdmin adds an endpoint under /admin/. path is a net/http pattern
// path ("/admin/set-hwm", "/admin/topics/{name}"). Mutating endpoints run
// only with a valid admin token. It panics on a path outside /admin/ or a
// duplicate method+path, like http.ServeMux does on conflicts.
func (s *Server) RegisterAdmin(method, path string, h http.HandlerFunc, mutating bool) {
	if !strings.HasPrefix(path, "/admin/") {
		panic(fmt.Sprintf("httpapi: admin endpoint %q must be under /admin/", path))
	}
	s.register(method, path, h, mutating)
}

func (s *Server) register(method, path string, h http.HandlerFunc, mutating bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	methods, ok := s.routes[path]
	if !ok {
		methods = map[string]route{}
		s.routes[path] = methods
		s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) { s.dispatch(path, w, r) })
	}
	if _, dup := methods[method]; dup {
		panic(fmt.Sprintf("httpapi: %s %s registered twice", method, path))
	}
	methods[method] = route{h: h, mutating: mutating}
}

func (s *Server) dispatch(path string, w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	methods := s.routes[path]
	rt, ok := methods[r.Method]
	if !ok && r.Method == http.MethodHead {
		rt, ok = methods[http.MethodGet]
	}
	allowed := make([]string, 0, len(methods))
	for m := range methods {
		allowed = append(allowed, m)
	}
	s.mu.RUnlock()
	if !ok {
		slices.Sort(allowed)
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		WriteError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allowed, ", ")))
		return
	}
	if rt.mutating {
		if status, msg := s.authorize(r); status != 0 {
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="chronik-admin"`)
			}
			s.logger.Warn("admin request refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "reason", msg)
			WriteError(w, status, msg)
			return
		}
		s.logger.Info("admin request", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
	}
	rt.h(w, r)
}

// authorize checks the admin token; status 0 means allowed.
func (s *Server) authorize(r *http.Request) (int, string) {
	if s.cfg.AdminToken == "" {
		return http.StatusUnauthorized, "admin token not configured: set admin_token or CHRONIK_ADMIN_TOKEN"
	}
	got := r.Header.Get("X-Admin-Token")
	if auth := r.Header.Get("Authorization"); got == "" && auth != "" {
		scheme, tok, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return http.StatusUnauthorized, "unsupported Authorization scheme: use Authorization: Bearer <token> or X-Admin-Token"
		}
		got = strings.TrimSpace(tok)
	}
	if got == "" {
		return http.StatusUnauthorized, "admin token required: send Authorization: Bearer <token> or X-Admin-Token"
	}
	// Hash both sides so the comparison time depends on neither length nor content.
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(s.cfg.AdminToken))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return http.StatusUnauthorized, "invalid admin token"
	}
	return 0, ""
}

type healthBody struct {
	Status      string `json:"status"`
	ClusterSize int    `json:"cluster_size"`
	IsLeader    bool   `json:"is_leader"`
	Reason      string `json:"reason,omitempty"`
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	status, size, leader, reason := s.st.Health()
	code := http.StatusOK
	if status != "healthy" {
		code = http.StatusServiceUnavailable
		if reason == "" {
			reason = "status " + status
		}
	}
	WriteJSON(w, code, healthBody{Status: status, ClusterSize: size, IsLeader: leader, Reason: reason})
}

func (s *Server) members(w http.ResponseWriter, _ *http.Request) {
	m := s.st.Members()
	if m == nil {
		m = []Member{}
	}
	WriteJSON(w, http.StatusOK, m)
}

type leaderBody struct {
	NodeID uint64 `json:"node_id"`
	Addr   string `json:"addr"`
}

func (s *Server) leader(w http.ResponseWriter, _ *http.Request) {
	m, ok := s.st.Leader()
	if !ok {
		WriteError(w, http.StatusServiceUnavailable, "no cluster leader known")
		return
	}
	WriteJSON(w, http.StatusOK, leaderBody{NodeID: m.NodeID, Addr: m.Addr})
}

// WriteJSON writes v as a JSON body with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding response failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error string `json:"error"`
}

// WriteError writes {"error": msg} with the given status.
func WriteError(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, ErrorBody{Error: msg})
}

// MaxRequestBody bounds request bodies read by DecodeJSON.
const MaxRequestBody = 1 << 20

// DecodeJSON decodes a JSON request body into v, rejecting unknown fields,
// trailing data and bodies over MaxRequestBody. On failure it writes a 400
// JSON error and returns false.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxRequestBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, tokErr := dec.Token(); !errors.Is(tokErr, io.EOF) {
			err = errors.New("unexpected data after the JSON value")
		}
	}
	if err != nil {
		WriteError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

// slogErrorLog adapts slog to promhttp's error logger.
type slogErrorLog struct{ l *slog.Logger }

func (e slogErrorLog) Println(v ...any) { e.l.Error("serving metrics", "error", fmt.Sprint(v...)) }

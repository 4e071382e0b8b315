package httpapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

type fakeStatus struct {
	status  string
	size    int
	leader  bool
	reason  string
	members []Member
}

func (f *fakeStatus) Health() (string, int, bool, string) {
	return f.status, f.size, f.leader, f.reason
}
func (f *fakeStatus) Members() []Member { return f.members }
func (f *fakeStatus) Leader() (Member, bool) {
	for _, m := range f.members {
		if m.State == "leader" {
			return m, true
		}
	}
	return Member{}, false
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func do(t *testing.T, h http.Handler, method, path, body string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Header(), rec.Body.String()
}

func threeNodes() *fakeStatus {
	return &fakeStatus{status: "healthy", size: 3, leader: true, members: []Member{
		{NodeID: 1, Addr: "node1.internal:9093", State: "leader"},
		{NodeID: 2, Addr: "node2.internal:9093", State: "follower"},
		{NodeID: 3, Addr: "node3.internal:9093", State: "follower"},
	}}
}

func TestReadEndpoints(t *testing.T) {
	single := &fakeStatus{status: "healthy", size: 1, leader: true, members: []Member{{NodeID: 1, Addr: "node1.internal:9093", State: "leader"}}}
	tests := []struct {
		name       string
		st         *fakeStatus
		path       string
		wantStatus int
		wantBody   string
	}{
		{"health ok", single, "/health", 200, `{"status":"healthy","cluster_size":1,"is_leader":true}`},
		{"health bad", &fakeStatus{status: "unhealthy", size: 3, reason: "no quorum: 1 of 3 nodes reachable"}, "/health", 503,
			`{"status":"unhealthy","cluster_size":3,"is_leader":false,"reason":"no quorum: 1 of 3 nodes reachable"}`},
		{"health bad without reason", &fakeStatus{status: "starting", size: 1}, "/health", 503,
			`{"status":"starting","cluster_size":1,"is_leader":false,"reason":"status starting"}`},
		{"members", threeNodes(), "/admin/cluster/members", 200,
			`[{"node_id":1,"addr":"node1.internal:9093","state":"leader"},{"node_id":2,"addr":"node2.internal:9093","state":"follower"},{"node_id":3,"addr":"node3.internal:9093","state":"follower"}]`},
		{"members empty", &fakeStatus{}, "/admin/cluster/members", 200, `[]`},
		{"leader", threeNodes(), "/admin/cluster/leader", 200, `{"node_id":1,"addr":"node1.internal:9093"}`},
		{"no leader", &fakeStatus{}, "/admin/cluster/leader", 503, `{"error":"no cluster leader known"}`},
		{"not found", single, "/nope", 404, `{"error":"no endpoint /nope"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(Config{}, tt.st, prometheus.NewRegistry(), quietLogger())
			code, hdr, body := do(t, s, http.MethodGet, tt.path, "", nil)
			if code != tt.wantStatus || strings.TrimSpace(body) != tt.wantBody {
				t.Fatalf("GET %s = %d %s, want %d %s", tt.path, code, body, tt.wantStatus, tt.wantBody)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	s := NewServer(Config{}, threeNodes(), nil, quietLogger())
	code, hdr, body := do(t, s, http.MethodPost, "/health", "", nil)
	if code != 405 || hdr.Get("Allow") != "GET" {
		t.Fatalf("POST /health = %d Allow=%q", code, hdr.Get("Allow"))
	}
	var e ErrorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil || !strings.Contains(e.Error, "method POST not allowed") {
		t.Fatalf("body %q (%v)", body, err)
	}
	if code, _, _ := do(t, s, http.MethodHead, "/health", "", nil); code != 200 {
		t.Fatalf("HEAD /health = %d", code)
	}
	if code, _, body := do(t, s, http.MethodGet, "/metrics", "", nil); code != 404 || !strings.Contains(body, `"error"`) {
		t.Fatalf("/metrics without gatherer = %d %s", code, body)
	}
}

func TestMutatingAdminAuth(t *testing.T) {
	type hwmReq struct {
		Topic     string `json:"topic"`
		Partition int32  `json:"partition"`
		Offset    int64  `json:"offset"`
	}
	register := func(s *Server) *[]hwmReq {
		var got []hwmReq
		s.RegisterAdmin(http.MethodPost, "/admin/set-hwm", func(w http.ResponseWriter, r *http.Request) {
			var req hwmReq
			if !DecodeJSON(w, r, &req) {
				return
			}
			got = append(got, req)
			WriteJSON(w, http.StatusOK, map[string]any{"topic": req.Topic, "partition": req.Partition, "high_watermark": req.Offset})
		}, true)
		return &got
	}
	const body = `{"topic":"orders","partition":0,"offset":1000}`
	tests := []struct {
		name      string
		token     string
		hdr       map[string]string
		body      string
		wantCode  int
		wantError string
	}{
		{"no token configured", "", map[string]string{"Authorization": "Bearer x"}, body, 401,
			"admin token not configured: set admin_token or CHRONIK_ADMIN_TOKEN"},
		{"no credentials", "s3cret", nil, body, 401, "admin token required"},
		{"wrong bearer", "s3cret", map[string]string{"Authorization": "Bearer nope"}, body, 401, "invalid admin token"},
		{"wrong scheme", "s3cret", map[string]string{"Authorization": "Basic czNjcmV0"}, body, 401, "unsupported Authorization scheme"},
		{"prefix of token", "s3cret", map[string]string{"X-Admin-Token": "s3cre"}, body, 401, "invalid admin token"},
		{"bearer ok", "s3cret", map[string]string{"Authorization": "Bearer s3cret"}, body, 200, ""},
		{"x-admin-token ok", "s3cret", map[string]string{"X-Admin-Token": "s3cret"}, body, 200, ""},
		{"bad json", "s3cret", map[string]string{"X-Admin-Token": "s3cret"}, `{"topic":`, 400, "invalid JSON body"},
		{"unknown field", "s3cret", map[string]string{"X-Admin-Token": "s3cret"}, `{"topic":"a","hwm":1}`, 400, "unknown field"},
		{"trailing data", "s3cret", map[string]string{"X-Admin-Token": "s3cret"}, body + body, 400, "unexpected data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(Config{AdminToken: tt.token}, threeNodes(), nil, quietLogger())
			got := register(s)
			code, hdr, respBody := do(t, s, http.MethodPost, "/admin/set-hwm", tt.body, tt.hdr)
			if code != tt.wantCode {
				t.Fatalf("status %d, want %d (%s)", code, tt.wantCode, respBody)
			}
			if tt.wantError == "" {
				if len(*got) != 1 || (*got)[0] != (hwmReq{"orders", 0, 1000}) {
					t.Fatalf("handler got %+v", *got)
				}
				if strings.TrimSpace(respBody) != `{"high_watermark":1000,"partition":0,"topic":"orders"}` {
					t.Fatalf("body %s", respBody)
				}
				return
			}
			if len(*got) != 0 {
				t.Fatalf("handler ran: %+v", *got)
			}
			var e ErrorBody
			if err := json.Unmarshal([]byte(respBody), &e); err != nil || !strings.Contains(e.Error, tt.wantError) {
				t.Fatalf("error body %q (%v), want %q", respBody, err, tt.wantError)
			}
			if code == 401 && hdr.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
}

func TestRegisterAdminReadOnlyAndPatterns(t *testing.T) {
	s := NewServer(Config{}, threeNodes(), nil, quietLogger())
	s.RegisterAdmin(http.MethodGet, "/admin/topics/{name}", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, 200, map[string]string{"name": r.PathValue("name")})
	}, false)
	if code, _, body := do(t, s, http.MethodGet, "/admin/topics/orders", "", nil); code != 200 || strings.TrimSpace(body) != `{"name":"orders"}` {
		t.Fatalf("got %d %s", code, body)
	}
	for _, bad := range []func(){
		func() { s.RegisterAdmin(http.MethodGet, "/health2", nil, false) },
		func() { s.RegisterAdmin(http.MethodGet, "/admin/cluster/leader", nil, false) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("expected panic")
				}
			}()
			bad()
		}()
	}
}

package console

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// AuthorizationHeader is the metadata key carrying "Bearer <admin token>".
const AuthorizationHeader = "authorization"

// requireAdmin is the first call of every mutating RPC: UNAUTHENTICATED unless the request
// carries the configured admin token.
func (s *Server) requireAdmin(ctx context.Context, rpc string) error {
	if s.cfg.AdminToken == "" {
		return status.Errorf(codes.Unauthenticated,
			"%s is a mutating call and this node has no admin_token configured (set admin_token or CHRONIK_ADMIN_TOKEN on the node)", rpc)
	}
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get(AuthorizationHeader)
	if len(vals) == 0 {
		return status.Errorf(codes.Unauthenticated, "%s needs the admin token: send metadata `authorization: Bearer <token>`", rpc)
	}
	tok, ok := cutBearer(vals[0])
	if !ok {
		return status.Errorf(codes.Unauthenticated, "%s: authorization metadata must be `Bearer <token>`", rpc)
	}
	a, b := sha256.Sum256([]byte(tok)), sha256.Sum256([]byte(s.cfg.AdminToken))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return status.Errorf(codes.Unauthenticated, "%s: invalid admin token", rpc)
	}
	return nil
}

// hasAdmin reports whether ctx carries the admin token (for optional parts of read-only RPCs).
func (s *Server) hasAdmin(ctx context.Context) bool { return s.requireAdmin(ctx, "") == nil }

func cutBearer(v string) (string, bool) {
	const p = "bearer "
	if len(v) < len(p) || !strings.EqualFold(v[:len(p)], p) {
		return "", false
	}
	tok := strings.TrimSpace(v[len(p):])
	return tok, tok != ""
}

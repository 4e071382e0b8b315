package groups

import "context"

type clientInfoKey struct{}

type clientInfo struct{ id, host string }

// WithClientInfo returns a context carrying the request header's client id and the client's
// address; JoinGroup records them for DescribeGroups and prefixes member ids with the client id.
func WithClientInfo(ctx context.Context, clientID, clientHost string) context.Context {
	return context.WithValue(ctx, clientInfoKey{}, clientInfo{id: clientID, host: clientHost})
}

func clientFrom(ctx context.Context) clientInfo {
	ci, _ := ctx.Value(clientInfoKey{}).(clientInfo)
	return ci
}

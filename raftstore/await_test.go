package raftstore

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestAwaitMember: a node that joined is awaited until it votes in the metadata group and in
// every data group that should hold a replica on it; another address for its id and a node
// that never joins are errors that say what to do.
func TestAwaitMember(t *testing.T) {
	tc := newTestCluster(t, 2, nil)
	l := tc.leader(10 * time.Second)
	joined := tc.nodes[1]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.node.AwaitMember(ctx, joined.id, joined.addr); err != nil {
		t.Fatalf("AwaitMember(%d): %v", joined.id, err)
	}
	if p := l.node.dataGroupsPending(joined.id); p != "" {
		t.Fatalf("after AwaitMember: %s", p)
	}
	if err := l.node.AwaitMember(ctx, joined.id, "127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "is a member at "+joined.addr) {
		t.Fatalf("AwaitMember at another address = %v", err)
	}
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	err := l.node.AwaitMember(short, 9, "")
	if err == nil || !strings.Contains(err.Error(), "node 9 has not joined (not a member)") ||
		!strings.Contains(err.Error(), "chronik-server cluster --node-id 9 --seed-nodes 1@") {
		t.Fatalf("AwaitMember of a node that never joins = %v", err)
	}
}

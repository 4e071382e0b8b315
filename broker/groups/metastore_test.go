package groups

import (
	"testing"

	"github.com/chronik-stream/chronik/broker/meta"
	"github.com/chronik-stream/chronik/broker/storage"
	"github.com/chronik-stream/chronik/walcodec"
)

// The real metadata store satisfies Store.
var _ Store = (*meta.Store)(nil)

func openMeta(t *testing.T, dir string) *meta.Store {
	t.Helper()
	s, err := meta.Open(dir, walcodec.V3, nil, storage.NewMetrics(nil))
	if err != nil {
		t.Fatalf("opening metadata store %s: %v", dir, err)
	}
	return s
}

func TestRestartWithMetaStore(t *testing.T) {
	dir := t.TempDir()
	ctx := testCtx(t)

	s1 := openMeta(t, dir)
	c1 := NewCoordinator(testConfig(), s1, nil, nil)
	m, gen := stableSingle(t, c1, "g")
	wantCode(t, "member commit", commitCodes(c1.OffsetCommit(ctx, commitReq(7, "g", m, gen, "t", 42, 43)))[0], nil)
	wantCode(t, "simple commit", commitCodes(c1.OffsetCommit(ctx, commitReq(2, "kcat", "", -1, "t", 7)))[0], nil)
	wantCode(t, "commit", commitCodes(c1.OffsetCommit(ctx, commitReq(2, "gone", "", -1, "t", 1)))[0], nil)
	r := c1.DeleteGroups(ctx, deleteGroupsReq("gone"))
	wantCode(t, "delete", r.Groups[0].ErrorCode, nil)
	c1.Close()
	must(t, s1.Close())

	s2 := openMeta(t, dir)
	t.Cleanup(func() { _ = s2.Close() })
	c2 := startCoordinator(t, testConfig(), s2)
	d := describe(t, c2, "g")
	if d.State != "Stable" || len(d.Members) != 1 || d.Members[0].MemberID != m || string(d.Members[0].MemberAssignment) != "a0" {
		t.Fatalf("group after restart: %+v", d)
	}
	wantCode(t, "heartbeat after restart", c2.Heartbeat(ctx, hbReq("g", m, gen)).ErrorCode, nil)
	if d := describe(t, c2, "kcat"); d.State != "Empty" || d.ProtocolType != "" {
		t.Fatalf("commit-only group after restart: %+v", d)
	}
	if st := stateOf(t, c2, "gone"); st != "Dead" {
		t.Fatalf("deleted group came back as %s", st)
	}
	f := c2.OffsetFetch(ctx, fetchReq(7, "g", nil))
	if len(f.Topics) != 1 || len(f.Topics[0].Partitions) != 2 || f.Topics[0].Partitions[1].Offset != 43 {
		t.Fatalf("offsets after restart: %+v", f.Topics)
	}
}

package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

type fakeBroker struct{}

func (fakeBroker) HighWatermarks() []PartitionHWM {
	return []PartitionHWM{{"orders", 0, 1000}, {"orders", 1, 900}, {"test", 0, 3}}
}
func (fakeBroker) ClusterNodes() int       { return 3 }
func (fakeBroker) DiskStats() (int, int64) { return 4, 123456 }

func TestBrokerCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewBrokerCollector(fakeBroker{}))
	want := `
# HELP chronik_cluster_nodes Number of nodes in the cluster (1 in standalone).
# TYPE chronik_cluster_nodes gauge
chronik_cluster_nodes 3
# HELP chronik_high_watermark High watermark (next offset after the last committed record) of a partition.
# TYPE chronik_high_watermark gauge
chronik_high_watermark{partition="0",topic="orders"} 1000
chronik_high_watermark{partition="0",topic="test"} 3
chronik_high_watermark{partition="1",topic="orders"} 900
# HELP chronik_wal_bytes WAL bytes on disk.
# TYPE chronik_wal_bytes gauge
chronik_wal_bytes 123456
# HELP chronik_wal_segments WAL segment files on disk.
# TYPE chronik_wal_segments gauge
chronik_wal_segments 4
`
	// Served through /metrics in the text format, grep-able the way the guide does it.
	s := NewServer(Config{}, threeNodes(), reg, quietLogger())
	code, _, body := do(t, s, http.MethodGet, "/metrics", "", nil)
	if code != 200 || body != strings.TrimPrefix(want, "\n") {
		t.Fatalf("/metrics = %d:\n%s\nwant:\n%s", code, body, want)
	}
}

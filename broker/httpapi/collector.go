package httpapi

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// PartitionHWM is one partition's high watermark.
type PartitionHWM struct {
	Topic         string
	Partition     int32
	HighWatermark int64
}

// BrokerSource is what the broker collector reads at each scrape. The
// methods must be cheap and safe for concurrent use.
type BrokerSource interface {
	HighWatermarks() []PartitionHWM
	ClusterNodes() int
	DiskStats() (segments int, bytes int64)
}

// NewBrokerCollector exports, at scrape time:
//
//	chronik_high_watermark{topic,partition}  next offset after the last committed record
//	chronik_cluster_nodes                    nodes in the cluster (1 standalone)
//	chronik_wal_segments                     WAL segment files on disk
//	chronik_wal_bytes                        WAL bytes on disk
func NewBrokerCollector(src BrokerSource) prometheus.Collector {
	return &brokerCollector{
		src:      src,
		hwm:      prometheus.NewDesc("chronik_high_watermark", "High watermark (next offset after the last committed record) of a partition.", []string{"topic", "partition"}, nil),
		nodes:    prometheus.NewDesc("chronik_cluster_nodes", "Number of nodes in the cluster (1 in standalone).", nil, nil),
		segments: prometheus.NewDesc("chronik_wal_segments", "WAL segment files on disk.", nil, nil),
		bytes:    prometheus.NewDesc("chronik_wal_bytes", "WAL bytes on disk.", nil, nil),
	}
}

type brokerCollector struct {
	src                         BrokerSource
	hwm, nodes, segments, bytes *prometheus.Desc
}

func (c *brokerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.hwm
	ch <- c.nodes
	ch <- c.segments
	ch <- c.bytes
}

func (c *brokerCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.src.HighWatermarks() {
		ch <- prometheus.MustNewConstMetric(c.hwm, prometheus.GaugeValue, float64(p.HighWatermark), p.Topic, strconv.Itoa(int(p.Partition)))
	}
	ch <- prometheus.MustNewConstMetric(c.nodes, prometheus.GaugeValue, float64(c.src.ClusterNodes()))
	segs, bytes := c.src.DiskStats()
	ch <- prometheus.MustNewConstMetric(c.segments, prometheus.GaugeValue, float64(segs))
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(bytes))
}

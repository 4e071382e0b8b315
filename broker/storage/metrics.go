package storage

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the write-path metrics shared by all logs of a process.
// Segment counts and bytes on disk are collected elsewhere from Log.Stats.
type Metrics struct {
	fsyncSeconds   prometheus.Histogram
	bytesWritten   prometheus.Counter
	recordsWritten prometheus.Counter
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered). Registering twice on one registry reuses the first collectors.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		fsyncSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "chronik_wal_fsync_seconds",
			Help:    "Latency of WAL segment fsyncs (one per group commit).",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16), // 50µs .. ~1.6s
		}),
		bytesWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chronik_wal_bytes_written_total",
			Help: "Bytes written to WAL segments.",
		}),
		recordsWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chronik_wal_records_written_total",
			Help: "WAL records written to segments.",
		}),
	}
	if reg != nil {
		m.fsyncSeconds = register(reg, m.fsyncSeconds)
		m.bytesWritten = register(reg, m.bytesWritten)
		m.recordsWritten = register(reg, m.recordsWritten)
	}
	return m
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		// A conflicting descriptor: keep the unregistered collector working.
	}
	return c
}

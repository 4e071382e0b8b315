package kafka

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// maxAPIKey bounds the per-API metric cache (kmsg knows keys 0..94 today).
const maxAPIKey = 128

type apiMetrics struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// metrics are the protocol server's Prometheus collectors. Per-API children are resolved
// once so the request path does no label lookups.
type metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	bytesIn     prometheus.Counter
	bytesOut    prometheus.Counter
	connections prometheus.Gauge
	inFlight    prometheus.Gauge
	perAPI      [maxAPIKey]apiMetrics
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chronik_kafka_requests_total",
			Help: "Kafka protocol requests handled, by API.",
		}, []string{"api"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "chronik_kafka_request_duration_seconds",
			Help:    "Time from a request's arrival to its response being ready, by API.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"api"}),
		bytesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chronik_kafka_bytes_in_total",
			Help: "Bytes of Kafka requests received, including size prefixes.",
		}),
		bytesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chronik_kafka_bytes_out_total",
			Help: "Bytes of Kafka responses sent, including size prefixes.",
		}),
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chronik_kafka_connections",
			Help: "Open Kafka client connections.",
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chronik_kafka_requests_in_flight",
			Help: "Requests read and not yet answered, over all connections.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.duration, m.bytesIn, m.bytesOut, m.connections, m.inFlight} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register kafka metrics: %w", err)
			}
		}
	}
	return m, nil
}

// api returns the collectors of one API key (created on first use for advertised keys).
func (m *metrics) api(key int16) apiMetrics {
	if key < 0 || int(key) >= maxAPIKey {
		return apiMetrics{}
	}
	return m.perAPI[key]
}

// prepare creates the per-API children of every advertised key.
func (m *metrics) prepare(keys []int16) error {
	for _, k := range keys {
		if k < 0 || int(k) >= maxAPIKey {
			return errors.New("api key out of metric range")
		}
		name := kmsg.NameForKey(k)
		m.perAPI[k] = apiMetrics{
			requests: m.requests.WithLabelValues(name),
			duration: m.duration.WithLabelValues(name),
		}
	}
	return nil
}

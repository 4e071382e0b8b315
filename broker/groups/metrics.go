package groups

import (
	"errors"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	rebalances prometheus.Counter
}

// groupsCollector exports chronik_groups{state} from GroupCount at scrape time.
type groupsCollector struct {
	c    *Coordinator
	desc *prometheus.Desc
}

func (gc groupsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- gc.desc }

func (gc groupsCollector) Collect(ch chan<- prometheus.Metric) {
	for state, n := range gc.c.GroupCount() {
		ch <- prometheus.MustNewConstMetric(gc.desc, prometheus.GaugeValue, float64(n), state)
	}
}

// newMetrics creates the coordinator's metrics and registers them with reg (nil: not registered).
func newMetrics(c *Coordinator, reg prometheus.Registerer, log *slog.Logger) *metrics {
	m := &metrics{
		rebalances: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chronik_group_rebalances_total",
			Help: "Consumer-group rebalances started (transitions to PreparingRebalance).",
		}),
	}
	if reg == nil {
		return m
	}
	if err := reg.Register(m.rebalances); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(prometheus.Counter); ok {
				m.rebalances = existing // another coordinator on this registry: share its counter
			}
		} else {
			log.Error("registering chronik_group_rebalances_total failed", "err", err)
		}
	}
	// chronik_groups may already be exported from GroupCount by the broker-wide collector
	// (httpapi.NewBrokerCollector); a duplicate registration is then expected and harmless.
	gauge := groupsCollector{c: c, desc: prometheus.NewDesc("chronik_groups", "Consumer groups by state.", []string{"state"}, nil)}
	if err := reg.Register(gauge); err != nil {
		log.Debug("chronik_groups not registered by the coordinator", "err", err)
	}
	return m
}

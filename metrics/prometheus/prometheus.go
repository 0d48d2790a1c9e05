// Package prometheus exports a wss Dispatcher's events as Prometheus
// metrics (client_golang): give Metrics.Observer to
// DispatcherConfig.Observer and register the Metrics.
//
// It is a module of its own, so that the wss module does not require
// client_golang.
package prometheus

import (
	"strconv"

	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/wssgo/wss"
)

// Metrics holds the collectors of one or more Dispatchers' events. It is a
// prometheus.Collector; register it once. Safe for concurrent use.
//
// The metrics, with Namespace "wss":
//
//	wss_connections_opened_total            connections opened
//	wss_connections_open                    connections open now
//	wss_connections_refused_total{reason}   refused before being served (see wss.Observer.Refused)
//	wss_connections_closed_total{status}    ended, by OnClose status: a close code, or the name of a drop
//	wss_timeouts_total{kind}                write, close, idle, pong and handshake timeouts
//	wss_messages_received_total, wss_messages_sent_total
//	wss_received_bytes_total, wss_sent_bytes_total   payload bytes, uncompressed, without frame headers
//	wss_queued_bytes                        output waiting in event loops' queues
//
// Counting a message is an atomic add: no lock, no allocation.
type Metrics struct {
	opened, msgsIn, msgsOut, bytesIn, bytesOut prom.Counter
	open, queued                               prom.Gauge
	refused, closed, timeouts                  *prom.CounterVec
	all                                        []prom.Collector
}

// New returns the Metrics of namespace ("" means "wss").
func New(namespace string) *Metrics {
	if namespace == "" {
		namespace = "wss"
	}
	counter := func(name, help string) prom.Counter {
		return prom.NewCounter(prom.CounterOpts{Namespace: namespace, Name: name, Help: help})
	}
	gauge := func(name, help string) prom.Gauge {
		return prom.NewGauge(prom.GaugeOpts{Namespace: namespace, Name: name, Help: help})
	}
	vec := func(name, help, label string) *prom.CounterVec {
		return prom.NewCounterVec(prom.CounterOpts{Namespace: namespace, Name: name, Help: help}, []string{label})
	}
	m := &Metrics{
		opened:   counter("connections_opened_total", "WebSocket connections opened."),
		open:     gauge("connections_open", "WebSocket connections open."),
		refused:  vec("connections_refused_total", "Connections refused before being served, by reason.", "reason"),
		closed:   vec("connections_closed_total", "WebSocket connections ended, by status: the peer's close code, or why it dropped.", "status"),
		timeouts: vec("timeouts_total", "Connections ended by a timeout, by kind.", "kind"),
		msgsIn:   counter("messages_received_total", "Data messages received."),
		msgsOut:  counter("messages_sent_total", "Data messages sent."),
		bytesIn:  counter("received_bytes_total", "Payload bytes of the data messages received, uncompressed."),
		bytesOut: counter("sent_bytes_total", "Payload bytes of the data messages sent, uncompressed."),
		queued:   gauge("queued_bytes", "Bytes of output waiting for sockets to take them."),
	}
	m.all = []prom.Collector{m.opened, m.open, m.refused, m.closed, m.timeouts,
		m.msgsIn, m.msgsOut, m.bytesIn, m.bytesOut, m.queued}
	return m
}

// Observer returns the hook that feeds m, for DispatcherConfig.Observer.
// Several Dispatchers may share it.
func (m *Metrics) Observer() *wss.Observer {
	return &wss.Observer{
		Opened: func() { m.opened.Inc(); m.open.Inc() },
		Refused: func(reason string) {
			m.refused.WithLabelValues(reason).Inc()
			if reason == "timeout" {
				m.timeouts.WithLabelValues("handshake").Inc()
			}
		},
		Received: func(n int) { m.msgsIn.Inc(); m.bytesIn.Add(float64(n)) },
		Sent:     func(n int) { m.msgsOut.Inc(); m.bytesOut.Add(float64(n)) },
		Closed: func(status wss.StatusCode) {
			m.open.Dec()
			m.closed.WithLabelValues(statusLabel(status)).Inc()
			if kind := timeoutKind(status); kind != "" {
				m.timeouts.WithLabelValues(kind).Inc()
			}
		},
		Queued: func(delta int) { m.queued.Add(float64(delta)) },
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prom.Desc) {
	for _, c := range m.all {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prom.Metric) {
	for _, c := range m.all {
		c.Collect(ch)
	}
}

// dropNames name the negative statuses, which say why a connection
// dropped.
var dropNames = map[wss.StatusCode]string{
	wss.StatusConnLost:          "conn_lost",
	wss.StatusProtocolViolation: "protocol_violation",
	wss.StatusInvalidUTF8:       "invalid_utf8",
	wss.StatusTooBig:            "too_big",
	wss.StatusWriteTimeout:      "write_timeout",
	wss.StatusCloseTimeout:      "close_timeout",
	wss.StatusIdleTimeout:       "idle_timeout",
	wss.StatusPongTimeout:       "pong_timeout",
	wss.StatusShutdown:          "shutdown",
}

// statusLabel is the status label of an OnClose status: a close code as
// its number, a drop by name.
func statusLabel(status wss.StatusCode) string {
	if name, ok := dropNames[status]; ok {
		return name
	}
	return strconv.Itoa(int(status))
}

// timeoutKind is the kind label of a status that is a timeout, else "".
func timeoutKind(status wss.StatusCode) string {
	switch status {
	case wss.StatusWriteTimeout:
		return "write"
	case wss.StatusCloseTimeout:
		return "close"
	case wss.StatusIdleTimeout:
		return "idle"
	case wss.StatusPongTimeout:
		return "pong"
	}
	return ""
}

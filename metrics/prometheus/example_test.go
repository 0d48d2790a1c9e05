package prometheus_test

import (
	"log"
	"net"
	"net/http"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wssgo/wss"
	"github.com/wssgo/wss/metrics/prometheus"
)

// A server exports its Dispatcher's metrics on /metrics of another port.
func Example() {
	m := prometheus.New("")
	prom.MustRegister(m)
	d, err := wss.NewDispatcher(&wss.DispatcherConfig{Observer: m.Observer()})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	go http.ListenAndServe("127.0.0.1:9100", promhttp.Handler())
	ln, err := net.Listen("tcp", "127.0.0.1:8080")
	if err != nil {
		log.Fatal(err)
	}
	_ = d.Serve(ln, nil, func(*wss.Request) (wss.Handler, error) {
		return wss.HandlerFuncs{Frame: func(c *wss.Conn, data []byte, typ wss.MessageType) { _ = c.Write(data, typ) }}, nil
	})
}

// Package natstest runs a NATS server in-process for tests.
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Start runs a NATS server on a loopback port (port 0 picks a free one)
// and stops it when the test ends. It returns the server; ClientURL gives
// its address.
func Start(t testing.TB, port int) *server.Server {
	t.Helper()
	return run(t, &server.Options{Port: port})
}

// StartJetStream is Start with JetStream enabled, its file store in dir:
// started again on the same port and dir, the server has the same streams.
func StartJetStream(t testing.TB, port int, dir string) *server.Server {
	t.Helper()
	return run(t, &server.Options{Port: port, JetStream: true, StoreDir: dir})
}

func run(t testing.TB, o *server.Options) *server.Server {
	t.Helper()
	o.Host, o.NoLog, o.NoSigs = "127.0.0.1", true, true
	if o.Port == 0 {
		o.Port = server.RANDOM_PORT
	}
	s, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		t.Fatal("nats server not ready in 10s")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

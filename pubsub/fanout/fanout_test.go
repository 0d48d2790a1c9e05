//go:build unix

package fanout_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/wssgo/wss"
	"github.com/wssgo/wss/internal/natstest"
	"github.com/wssgo/wss/internal/wstest"
	"github.com/wssgo/wss/pubsub"
	"github.com/wssgo/wss/pubsub/jsbus"
	"github.com/wssgo/wss/pubsub/natsbus"
)

// The fan-out benchmarks publish one message to a topic with N subscribers
// over real loopback sockets and time until every subscriber has read it.
// The subscribers run in a child process (this test binary, started as
// TestFanoutSubscribers), because one process may hold only 20,000 open
// files and 10,000 subscribers need 20,000 sockets on one machine.
//
//	go test -run '^$' -bench Fanout -benchtime 100x ./pubsub/fanout
//
// ns/op is the time to deliver one message to all N subscribers;
// deliveries/s is N messages delivered per that time; cpu-ns/delivery is
// the CPU time this process spent per subscriber reached.

const fanoutTopic = "fanout"

func BenchmarkFanoutInProcess(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			ps, err := pubsub.New(nil)
			if err != nil {
				b.Fatal(err)
			}
			defer ps.Close()
			benchFanout(b, n, ps, ps)
		})
	}
}

func BenchmarkFanoutNATS(b *testing.B) {
	ns := natstest.Start(b, 0)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	node := func() (*pubsub.PubSub, *natsbus.Bus) {
		bus, err := natsbus.Connect(ns.ClientURL(), &natsbus.Options{Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		ps, err := pubsub.New(&pubsub.Options{Backplane: bus, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		return ps, bus
	}
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			pub, _ := node()
			defer pub.Close()
			sub, subBus := node()
			defer sub.Close()
			benchFanout(b, n, pub, sub, func() {
				if err := subBus.Flush(5 * time.Second); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkFanoutJetStream is BenchmarkFanoutNATS with the message
// appended to a durable topic (pubsub/jsbus, file store): stored and
// acknowledged, then delivered to the other node by its ordered consumer.
func BenchmarkFanoutJetStream(b *testing.B) {
	ns := natstest.StartJetStream(b, 0, b.TempDir())
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	node := func() *pubsub.PubSub {
		nc, err := nats.Connect(ns.ClientURL())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(nc.Close)
		store, err := jsbus.New(context.Background(), nc, &jsbus.Options{Logger: quiet, Limits: pubsub.Limits{PerTopic: 100}})
		if err != nil {
			b.Fatal(err)
		}
		ps, err := pubsub.New(&pubsub.Options{Store: store, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		return ps
	}
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			pub := node()
			defer pub.Close()
			sub := node()
			defer sub.Close()
			benchFanoutWith(b, n, sub, func(msg []byte) error { return pub.Append(fanoutTopic, msg, false) })
		})
	}
}

// benchFanout connects n subscribers to sub's topic, then publishes on pub
// and waits for all of them to read each message.
func benchFanout(b *testing.B, n int, pub, sub *pubsub.PubSub, ready ...func()) {
	benchFanoutWith(b, n, sub, func(msg []byte) error { return pub.Publish(fanoutTopic, msg, false) }, ready...)
}

// benchFanoutWith is benchFanout with the publishing done by publish.
func benchFanoutWith(b *testing.B, n int, sub *pubsub.PubSub, publish func([]byte) error, ready ...func()) {
	d, err := wss.NewDispatcher(nil)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	h := sub.Handler(wss.HandlerFuncs{
		Open:  func(c *wss.Conn) { sub.Subscribe(c, fanoutTopic) },
		Frame: func(*wss.Conn, []byte, bool) {},
	})
	srv := httptest.NewServer(wss.HTTPHandler(d, nil, func(*wss.Request) (wss.Handler, error) { return h, nil }))
	defer srv.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestFanoutSubscribers$")
	cmd.Env = append(os.Environ(), "FANOUT_URL="+srv.URL, "FANOUT_N="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		stdin.Close() // the child exits when its stdin closes
		cmd.Wait()
	}()
	lines := bufio.NewScanner(stdout)
	expect := func(want string) {
		if !lines.Scan() {
			b.Fatalf("subscriber process ended: %v", lines.Err())
		}
		if got := lines.Text(); got != want {
			b.Fatalf("subscriber process said %q, want %q", got, want)
		}
	}
	expect("ready")
	for sub.Subscribers(fanoutTopic) < n {
		time.Sleep(time.Millisecond)
	}
	for _, f := range ready {
		f()
	}

	msg := make([]byte, 64)
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := range b.N {
		binary.BigEndian.PutUint64(msg, uint64(i))
		if err := publish(msg); err != nil {
			b.Fatal(err)
		}
		expect(fmt.Sprintf("done %d", i))
	}
	b.StopTimer()
	perOp := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(n)/perOp, "deliveries/s")
	// CPU time of this process (publisher, server side, and in the NATS
	// case the NATS server) per delivery: steadier than wall time on a
	// shared machine.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*n), "cpu-ns/delivery")
	if s := sub.Stats(); s.Overflowed+s.Dropped > 0 {
		b.Fatalf("subscribers lost messages: %+v", s)
	}
}

// TestFanoutSubscribers is the subscriber side of the fan-out benchmarks,
// run in a child process; it does nothing in a normal test run.
func TestFanoutSubscribers(t *testing.T) {
	url, n := os.Getenv("FANOUT_URL"), os.Getenv("FANOUT_N")
	if url == "" {
		t.Skip("run by the fan-out benchmarks")
	}
	count, _ := strconv.Atoi(n)
	clients := make([]*wstest.Client, count)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range clients {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := wstest.Dial(url)
			if err != nil {
				fmt.Fprintln(os.Stderr, "dial:", err)
				os.Exit(1)
			}
			clients[i] = c
		})
	}
	wg.Wait()

	var out sync.Mutex
	var got atomic.Int64
	for _, c := range clients {
		go func() {
			for {
				f, err := c.Read()
				if err != nil || f.Op != wstest.OpBinary {
					return
				}
				if got.Add(1) == int64(count) {
					got.Store(0)
					out.Lock()
					fmt.Printf("done %d\n", binary.BigEndian.Uint64(f.Payload))
					out.Unlock()
				}
			}
		}()
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	for _, c := range clients {
		c.Close()
	}
	os.Exit(0)
}

// cpuTime returns the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

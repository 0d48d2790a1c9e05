package wss

import (
	"context"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// streamSize is the size of the large messages, unless WSS_STREAM_MIB
// says otherwise: 1 GiB (about a second each way), and 16 MiB under the
// race detector, which makes masking and copying a hundred times slower.
// streamHeadroom is how much the heap may grow meanwhile: the buffers of
// a few frames, never the message.
func streamSize() (size, headroom int64) {
	size, headroom = 1<<30, 16<<20
	if raceEnabled {
		size, headroom = 16<<20, 6<<20
	}
	if n, _ := strconv.Atoi(os.Getenv("WSS_STREAM_MIB")); n > 0 {
		size = int64(n) << 20
	}
	return size, headroom
}

// patternSource yields n bytes cut from a fixed random block, without
// holding more than the block.
type patternSource struct {
	block []byte
	left  int64
	off   int
}

func newPatternSource(n int64) *patternSource {
	block := make([]byte, 1<<20+7) // an odd length, so frames do not repeat
	r := rand.New(rand.NewPCG(1, 2))
	for i := range block {
		block[i] = byte(r.Uint32())
	}
	return &patternSource{block: block, left: n}
}

func (s *patternSource) Read(p []byte) (int, error) {
	if s.left == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), s.left)]
	n := 0
	for n < len(p) {
		k := copy(p[n:], s.block[s.off:])
		n += k
		s.off = (s.off + k) % len(s.block)
	}
	s.left -= int64(n)
	return n, nil
}

// sum returns the CRC-32 of everything s yields.
func (s *patternSource) sum(t *testing.T) uint32 {
	h := crc32.NewIEEE()
	if _, err := io.Copy(h, s); err != nil {
		t.Fatal(err)
	}
	return h.Sum32()
}

// streamSink is a FragmentHandler that sums the pieces of each message
// and watches the heap as they come. On the server it answers the first
// message with one as large, sent through a Writer.
type streamSink struct {
	got      atomic.Int64
	crc      uint32
	done     chan uint32 // the CRC of each complete message
	opened   chan *Conn
	closed   chan int
	base     uint64 // HeapInuse before the transfer
	peak     atomic.Uint64
	nextPeek int64
}

func newStreamSink() *streamSink {
	return &streamSink{done: make(chan uint32, 1), opened: make(chan *Conn, 1), closed: make(chan int, 1)}
}

func (s *streamSink) OnOpen(c *Conn)                          { s.opened <- c }
func (s *streamSink) OnFrame(c *Conn, data []byte, text bool) { panic("OnFrame on a FragmentHandler") }
func (s *streamSink) OnClose(c *Conn, status int)             { s.closed <- status }
func (s *streamSink) OnFragment(c *Conn, data []byte, text, final bool) {
	s.crc = crc32.Update(s.crc, crc32.IEEETable, data)
	if n := s.got.Add(int64(len(data))); n >= s.nextPeek {
		s.nextPeek = n + 32<<20
		s.peak.Store(max(s.peak.Load(), heapInuse()))
	}
	if final {
		s.done <- s.crc
		s.crc, s.nextPeek = 0, 0
		s.got.Store(0)
	}
}

func heapInuse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// sendLarge sends n pattern bytes as one binary message through a Writer.
func sendLarge(c *Conn, n int64) error {
	w, err := c.Writer(false)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, newPatternSource(n))
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}

// TestScaleStreamLargeMessage sends a 1 GiB message from a Dial client to
// the server through a Writer, received in pieces by a FragmentHandler,
// and one as large back, in each dispatcher mode (both ends in it) and on
// both accept paths. The heap grows by less than 16 MiB on either side:
// neither message is ever held.
func TestScaleStreamLargeMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test")
	}
	n, headroom := streamSize()
	want := newPatternSource(n).sum(t)
	modes := []testMode{testModes[0], testModes[1], testModes[3]} // goroutine, eventloop on both accept paths
	for _, m := range modes {
		if m.cfg.Mode == ModeEventLoop && !eventLoopSupported {
			continue
		}
		t.Run(m.name, func(t *testing.T) {
			checkGoroutines(t)
			d, err := NewDispatcher(modeConfig(m.cfg))
			if err != nil {
				t.Fatal(err)
			}
			closeDispatcher(t, d)
			cfg := &Config{MaxMessageSize: n}
			server, client := newStreamSink(), newStreamSink()
			addr := serveHandler(t, d, cfg, server)
			runtime.GC()
			server.base, client.base = heapInuse(), heapInuse()
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			c, err := Dial(ctx, "ws://"+addr+"/", client, &DialOptions{Config: cfg, Dispatcher: d})
			if err != nil {
				t.Fatal(err)
			}
			sc := <-server.opened
			<-client.opened
			start := time.Now()
			if err := sendLarge(c, n); err != nil {
				t.Fatalf("client upload: %v", err)
			}
			if got := waitSum(t, server.done); got != want {
				t.Fatalf("server got CRC %#x, want %#x", got, want)
			}
			up := time.Since(start)
			if err := sendLarge(sc, n); err != nil {
				t.Fatalf("server download: %v", err)
			}
			if got := waitSum(t, client.done); got != want {
				t.Fatalf("client got CRC %#x, want %#x", got, want)
			}
			t.Logf("%d MiB up in %v, down in %v; heap peak +%d KiB", n>>20, up.Round(time.Millisecond),
				(time.Since(start) - up).Round(time.Millisecond), (max(server.peak.Load(), client.peak.Load())-server.base)>>10)
			for _, s := range []*streamSink{server, client} {
				if grow := int64(s.peak.Load()) - int64(s.base); grow > headroom {
					t.Errorf("heap grew by %d MiB while a %d MiB message went through", grow>>20, n>>20)
				}
			}
			if err := c.Close(StatusNormalClosure); err != nil {
				t.Fatal(err)
			}
			for _, s := range []*streamSink{server, client} {
				select {
				case <-s.closed:
				case <-time.After(testTimeout):
					t.Fatal("no OnClose")
				}
			}
		})
	}
}

func waitSum(t *testing.T, done chan uint32) uint32 {
	t.Helper()
	select {
	case sum := <-done:
		return sum
	case <-time.After(2 * testTimeout):
		t.Fatal("the large message did not arrive in time")
		return 0
	}
}

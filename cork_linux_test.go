package wss

import (
	"bytes"
	"fmt"
	"net"
	"testing"

	"github.com/wssgo/wss/internal/poll"
)

// corkReplies is what the corking tests' handler writes for a request: a
// burst of small messages, a small one and one above loopCorkCopy, data and
// then the close frame, or an echo.
func corkReplies(c *Conn, data []byte, typ MessageType) {
	switch string(data) {
	case "burst":
		for i := range 8 {
			_ = c.Write(fmt.Appendf(nil, "reply %d", i), Binary)
		}
	case "big":
		_ = c.Write([]byte("small"), Binary)
		_ = c.Write(bytes.Repeat([]byte{'x'}, loopCorkCopy+1), Binary)
		_ = c.Write([]byte("after"), Binary)
	case "bye":
		_ = c.Write([]byte("a"), Binary)
		_ = c.Write([]byte("b"), Binary)
		_ = c.Close(StatusNormalClosure, "")
	default:
		_ = c.Write(data, typ)
	}
}

// corkCase is a request of the corking tests, what it must bring back (the
// frames in wire order) and with how many write system calls.
type corkCase struct {
	name    string
	request []byte // client frames, sent with one write
	want    [][]byte
	writes  int
	// frames in request: the race detector slows a turn past loopTurn
	// between two frames, so that it ends and writes what it gathered;
	// with it, only the bytes of such cases are checked.
	frames int
}

func corkCases() []corkCase {
	var burst, pipelined, pipeEchoes, pipelined16k, pipeEchoes16k [][]byte
	for i := range 8 {
		burst = append(burst, serverFrame(opBinary, fmt.Appendf(nil, "reply %d", i)))
		msg := fmt.Appendf(nil, "message %d", i)
		pipelined = append(pipelined, clientFrame(binFin, msg))
		pipeEchoes = append(pipeEchoes, serverFrame(opBinary, msg))
	}
	for i := range 3 { // 48 KiB: what one read of the loop's buffer takes
		msg := bytes.Repeat([]byte{byte('a' + i)}, 16<<10)
		pipelined16k = append(pipelined16k, clientFrame(binFin, msg))
		pipeEchoes16k = append(pipeEchoes16k, serverFrame(opBinary, msg))
	}
	var atCopyLimit, atCopyLimitEchoes, pastCopyLimit, pastCopyLimitEchoes [][]byte
	for _, m := range [][]byte{bytes.Repeat([]byte{'c'}, loopCorkCopy), []byte("next")} {
		atCopyLimit = append(atCopyLimit, clientFrame(binFin, m))
		atCopyLimitEchoes = append(atCopyLimitEchoes, serverFrame(opBinary, m))
	}
	for _, m := range [][]byte{bytes.Repeat([]byte{'d'}, loopCorkCopy+1), []byte("next")} {
		pastCopyLimit = append(pastCopyLimit, clientFrame(binFin, m))
		pastCopyLimitEchoes = append(pastCopyLimitEchoes, serverFrame(opBinary, m))
	}
	pingAndMsg := bytes.Join([][]byte{clientFrame(pingFin, []byte("p")), clientFrame(binFin, []byte("m"))}, nil)
	return []corkCase{
		{"a handler's burst", clientFrame(binFin, []byte("burst")), burst, 1, 1},
		{"the echoes of one read", bytes.Join(pipelined, nil), pipeEchoes, 1, 8},
		{"the 16 KiB echoes of one read", bytes.Join(pipelined16k, nil), pipeEchoes16k, 1, 3},
		// With more input after it, a payload of up to loopCorkCopy is
		// copied, to leave with what follows; one byte more goes at once,
		// and what follows starts a new batch.
		{"exactly loopCorkCopy, then more", bytes.Join(atCopyLimit, nil), atCopyLimitEchoes, 1, 2},
		{"one byte past loopCorkCopy, then more", bytes.Join(pastCopyLimit, nil), pastCopyLimitEchoes, 2, 2},
		{"a pong and an echo", pingAndMsg, [][]byte{serverFrame(opPong, []byte("p")), serverFrame(opBinary, []byte("m"))}, 1, 2},
		// A payload above loopCorkCopy goes from the handler's memory
		// with what came before it; what follows starts a new batch.
		{"a big payload", clientFrame(binFin, []byte("big")), [][]byte{
			serverFrame(opBinary, []byte("small")),
			serverFrame(opBinary, bytes.Repeat([]byte{'x'}, loopCorkCopy+1)),
			serverFrame(opBinary, []byte("after")),
		}, 2, 1},
		{"data and the close frame", clientFrame(binFin, []byte("bye")), [][]byte{
			serverFrame(opBinary, []byte("a")),
			serverFrame(opBinary, []byte("b")),
			serverFrame(opClose, []byte{0x03, 0xe8}),
		}, 1, 1},
	}
}

// All frames written to a connection during one turn of its event loop go
// out in order, with one write or writev: a handler's burst, the echoes of
// all the messages of one read, an automatic pong with an echo, a big
// payload with the small frames around it, and data followed by the close
// frame.
func TestEventLoopTurnWritesOnce(t *testing.T) {
	for _, m := range testModes {
		if m.cfg.Mode != ModeEventLoop || m.cfg.OffLoop {
			continue
		}
		t.Run(m.name, func(t *testing.T) {
			checkGoroutines(t)
			d, err := NewDispatcher(&m.cfg)
			if err != nil {
				t.Skipf("no event loop here: %v", err)
			}
			closeDispatcher(t, d)
			s := startServer(t, d, nil, corkReplies)
			c := dialRaw(t, s.addr).connect(sampleKey)
			sc, rec := s.next(t)
			writes := countWrites(t, sc.fd.Num())
			// Serve's response may be written after the connection
			// opened: let a round trip pass it.
			c.send(binFin, []byte("warm"))
			c.expect(serverFrame(opBinary, []byte("warm")))
			writes.take()
			for _, tc := range corkCases() {
				// A turn that runs out of time (loopTurn) between two
				// frames of one read writes what it gathered: on a busy
				// machine that may happen once; three times in a row it
				// does not.
				var counts []int
				closing := tc.want[len(tc.want)-1][0]&0x0F == byte(opClose)
				for range 3 {
					c.write(tc.request)
					c.expect(bytes.Join(tc.want, nil))
					if closing {
						c.write(clientFrame(closeFin, []byte{0x03, 0xe8}))
						c.expectEOF()
						rec.wantClose(t, StatusNormalClosure)
					}
					// Each write was counted before its bytes went out.
					counts = append(counts, writes.take())
					if counts[len(counts)-1] == tc.writes || closing {
						break
					}
				}
				if n := counts[len(counts)-1]; n != tc.writes && !(raceEnabled && tc.frames > 1) {
					t.Errorf("%s: %v writes to the connection, want %d", tc.name, counts, tc.writes)
				}
			}
		})
	}
}

// A Dial client on an event loop gathers what its handlers write in one
// turn, as a server does: the masked echoes of all the messages of one read
// leave with one write, each frame with a fresh mask key (RFC 6455 section
// 5.3).
func TestEventLoopClientTurnWritesOnce(t *testing.T) {
	if !eventLoopSupported {
		t.Skip("no event loop on this system")
	}
	checkGoroutines(t)
	d, err := NewDispatcher(&DispatcherConfig{Mode: ModeEventLoop, Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	closeDispatcher(t, d)
	h := newEchoHandler()
	c, peer := dialRawPeer(t, d, h, &Config{PingInterval: -1})
	writes := countWrites(t, c.fd.Num())
	var burst []byte
	for i := range 8 {
		burst = append(burst, serverFrame(opBinary, fmt.Appendf(nil, "message %d", i))...)
	}
	var counts []int
	for range 3 { // a turn that runs out of time between two frames writes twice; three times in a row it does not
		peer.write(burst)
		keys := map[string]bool{}
		for i := range 8 {
			f, raw := peer.readClientFrame()
			if want := fmt.Sprintf("message %d", i); f.op != byte(opBinary) || !f.masked || string(f.payload) != want {
				t.Fatalf("echo %d: opcode %#x, masked %v, %q; want a masked binary %q", i, f.op, f.masked, f.payload, want)
			}
			keys[string(raw[len(raw)-4:])] = true
		}
		if len(keys) != 8 {
			t.Errorf("8 frames with %d mask keys, want 8", len(keys))
		}
		counts = append(counts, writes.take())
		if counts[len(counts)-1] == 1 {
			break
		}
	}
	if n := counts[len(counts)-1]; n != 1 && !raceEnabled {
		t.Errorf("%v writes for the echoes of one read, want 1", counts)
	}
	_ = c.Close(StatusNormalClosure, "")
}

// In goroutine mode too, over a real TCP socket, what one turn gathers
// leaves with one write system call when the turn ends: a handler's burst,
// and the echoes of all the messages of one read. On Linux that write is
// internal/poll's, which the hook counts. (A payload above smallWrite with
// no more input after it goes at once with what was gathered, through the
// net.Conn, which the hook does not see.)
func TestGoroutineModeTCPTurnWritesOnce(t *testing.T) {
	checkGoroutines(t)
	d, err := NewDispatcher(&DispatcherConfig{Mode: ModeGoroutine})
	if err != nil {
		t.Fatal(err)
	}
	closeDispatcher(t, d)
	s := startServer(t, d, nil, corkReplies)
	c := dialRaw(t, s.addr).connect(sampleKey)
	sc, _ := s.next(t)
	writes := countWrites(t, socketFD(t, sc))
	for _, tc := range corkCases()[:2] { // a handler's burst, the echoes of one read
		// A turn that runs out of time (goTurnLen) between two frames
		// writes what it gathered: on a busy machine that may happen
		// once; three times in a row it does not.
		var counts []int
		for range 3 {
			c.write(tc.request)
			c.expect(bytes.Join(tc.want, nil))
			counts = append(counts, len(writes)) // each write was counted before its bytes went out
			writes.take()
			if counts[len(counts)-1] == tc.writes {
				break
			}
		}
		if n := counts[len(counts)-1]; n != tc.writes && !(raceEnabled && tc.frames > 1) {
			t.Errorf("%s: %v writes to the connection, want %d", tc.name, counts, tc.writes)
		}
	}
}

// socketFD is the descriptor of a goroutine-mode connection's socket.
func socketFD(t *testing.T, c *Conn) int32 {
	t.Helper()
	rc, err := c.netConn().(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd int32
	if err := rc.Control(func(s uintptr) { fd = int32(s) }); err != nil {
		t.Fatal(err)
	}
	return fd
}

// writeCounter counts the writes and writevs internal/poll makes to one
// descriptor (poll.SetWriteHook): each is counted before its bytes go out.
type writeCounter chan struct{}

// countWrites counts the writes to fd until the test ends.
func countWrites(t *testing.T, fd int32) writeCounter {
	w := make(writeCounter, 64)
	t.Cleanup(poll.SetWriteHook(func(got int32) {
		if got == fd {
			w <- struct{}{}
		}
	}))
	return w
}

// take returns how many writes were counted since the last take.
func (w writeCounter) take() int {
	n := len(w)
	for range n {
		<-w
	}
	return n
}

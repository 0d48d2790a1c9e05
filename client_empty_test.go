package wss

// Empty frames from a Dial client, and a Dial client kept idle across
// keepalive pings, in each dispatcher mode of the client.

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// clientModes are the dispatcher modes a Dial client runs in.
var clientModes = []testMode{
	{"eventloop", DispatcherConfig{Mode: ModeEventLoop, Loops: 1}},
	{"goroutine", DispatcherConfig{Mode: ModeGoroutine}},
}

// forEachClientMode runs f once per client dispatcher mode, as forEachMode
// does for the server's.
func forEachClientMode(t *testing.T, f func(t *testing.T, d *Dispatcher)) {
	t.Helper()
	forEachModeOf(t, clientModes, f)
}

// clientProbe is the Handler of a Dial client under test: an Inbox that
// also counts and keeps the pings it gets.
type clientProbe struct {
	*Inbox
	npings atomic.Int32
	pings  chan []byte
}

func newClientProbe() *clientProbe {
	return &clientProbe{Inbox: NewInbox(16), pings: make(chan []byte, 16)}
}

func (p *clientProbe) OnPing(_ *Conn, data []byte) {
	p.npings.Add(1)
	select {
	case p.pings <- bytes.Clone(data):
	default:
	}
}

// dialRawPeer dials a fake server from a client on d and returns both
// ends; the server end is a rawClient, closed when the test ends.
func dialRawPeer(t *testing.T, d *Dispatcher, h Handler, cfg *Config) (*Conn, *rawClient) {
	t.Helper()
	type end struct {
		nc net.Conn
		br *bufio.Reader
	}
	ends := make(chan end, 1)
	release := make(chan struct{})
	url := fakeServer(t, func(r *http.Request) string { return accept101(r, "") }, func(nc net.Conn, br *bufio.Reader) {
		ends <- end{nc, br}
		<-release
	})
	t.Cleanup(func() { close(release) })
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := Dial(ctx, url, h, &DialOptions{Dispatcher: d, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	e := <-ends
	return c, newRawClient(t, e.nc, e.br)
}

// wantMessage reads the client's next message and checks it.
func wantMessage(t *testing.T, in *Inbox, want Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	m, err := in.Read(ctx)
	if err != nil || m.Type != want.Type || !bytes.Equal(m.Data, want.Data) {
		t.Fatalf("client got %q (text %v), %v; want %q (text %v)", m.Data, m.Type, err, want.Data, want.Type)
	}
}

// TestRFC6455_5_ClientEmptyFrames has a Dial client send each frame
// that may be empty with an empty payload, and get one back: data
// messages (section 5.6), ping and pong (5.5.2, 5.5.3) and a close frame
// without a code (5.5.1). The server reads exactly a masked header of
// length 0 and a mask key, nothing more.
func TestRFC6455_5_ClientEmptyFrames(t *testing.T) {
	after := []byte("after")
	tests := []struct {
		name   string
		send   func(c *Conn) error // what the client sends first; nil: nothing
		server []byte              // what the server sends first
		want   byte                // the first byte of the client's empty frame
		reply  []byte              // what the server answers; nil: it closes TCP
		check  func(t *testing.T, p *clientProbe)
	}{
		{"5.6 empty text message", func(c *Conn) error { return c.Write(nil, Text) }, nil, 0x81,
			serverFrame(opText, nil), func(t *testing.T, p *clientProbe) { wantMessage(t, p.Inbox, Message{Data: []byte{}, Type: Text}) }},
		{"5.6 empty binary message", func(c *Conn) error { return c.Write([]byte{}, Binary) }, nil, 0x82,
			serverFrame(opBinary, nil), func(t *testing.T, p *clientProbe) { wantMessage(t, p.Inbox, Message{Data: []byte{}, Type: Binary}) }},
		{"5.5.2 empty ping", func(c *Conn) error { return c.Ping(nil) }, nil, 0x89,
			append(serverFrame(opPong, nil), serverFrame(opText, after)...),
			func(t *testing.T, p *clientProbe) { wantMessage(t, p.Inbox, Message{Data: after, Type: Text}) }},
		{"5.5.3 pong to an empty ping", nil, serverFrame(opPing, nil), 0x8a, serverFrame(opText, after),
			func(t *testing.T, p *clientProbe) {
				wantMessage(t, p.Inbox, Message{Data: after, Type: Text})
				if got := <-p.pings; len(got) != 0 || p.npings.Load() != 1 {
					t.Fatalf("OnPing got %q, %d calls; want one empty ping", got, p.npings.Load())
				}
			}},
		{"5.5.1 close without a code", nil, serverFrame(opClose, nil), 0x88, nil,
			func(t *testing.T, p *clientProbe) {
				ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
				defer cancel()
				if m, err := p.Read(ctx); err == nil {
					t.Fatalf("client got %q after the close", m.Data)
				}
				if st, _ := p.Status(); st != StatusNoStatus {
					t.Fatalf("OnClose status %d, want %d", st, StatusNoStatus)
				}
			}},
	}
	forEachClientMode(t, func(t *testing.T, d *Dispatcher) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				probe := newClientProbe()
				c, peer := dialRawPeer(t, d, probe, nil)
				if tt.send != nil {
					if err := tt.send(c); err != nil {
						t.Fatalf("client send: %v", err)
					}
				}
				peer.write(tt.server)
				f, raw := peer.readClientFrame()
				if len(raw) != 6 || raw[0] != tt.want || raw[1] != 0x80 || len(f.payload) != 0 {
					t.Fatalf("client sent header % x and %d payload bytes; want %02x 80, a mask key and nothing", raw, len(f.payload), tt.want)
				}
				if tt.reply != nil {
					peer.write(tt.reply)
				} else {
					peer.nc.Close()
				}
				tt.check(t, probe)
				c.drop(StatusConnLost)
			})
		}
	})
}

// TestKeepaliveIdleDialClient keeps Dial clients idle across several
// keepalive intervals (RFC 6455 section 5.5.2, 5.5.3), with the client
// pinging an idle server and with the server pinging an idle client: the
// empty pings and pongs flow, and both ends stay open.
func TestKeepaliveIdleDialClient(t *testing.T) {
	const interval = 200 * time.Millisecond
	tests := []struct {
		name           string
		client, server time.Duration // PingInterval; the longer side never gets to ping
		clientPings    bool
	}{
		{"client pings", interval, 20 * interval, true},
		{"server pings", 20 * interval, interval, false},
	}
	forEachClientMode(t, func(t *testing.T, d *Dispatcher) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				srvDisp, err := NewDispatcher(&DispatcherConfig{Mode: ModeEventLoop, Loops: 1})
				if err != nil {
					t.Skipf("event loops not available here: %v", err)
				}
				closeDispatcher(t, srvDisp)
				// An idle peer gets only pongs, and a keepalive ping waits
				// for the answer to the last one: each ping after the first
				// shows the previous pong arrived.
				srvCfg := &Config{PingInterval: tt.server}
				cliCfg := &Config{PingInterval: tt.client}
				srv := startServer(t, srvDisp, srvCfg, nil)
				probe := newClientProbe()
				ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
				defer cancel()
				c, err := Dial(ctx, "ws://"+srv.addr+"/", probe, &DialOptions{Config: cliCfg, Dispatcher: d})
				if err != nil {
					t.Fatal(err)
				}
				sc, rec := srv.next(t)
				const rounds = 4
				fromClient := 0 // pings the server got
				for i := range rounds {
					var got []byte
					select {
					case got = <-rec.pings:
						fromClient++
					case got = <-probe.pings:
					case <-ctx.Done():
						t.Fatalf("%d of %d keepalive pings within %v", i, rounds, testTimeout)
					}
					if len(got) != 0 {
						t.Fatalf("keepalive ping carries %q", got)
					}
				}
				if want := map[bool]int{true: rounds}[tt.clientPings]; fromClient != want {
					t.Fatalf("%d of %d pings came from the client, want %d", fromClient, rounds, want)
				}
				if !c.IsValid() || !sc.IsValid() {
					t.Fatalf("after %d pings: client open %v, server open %v", rounds, c.IsValid(), sc.IsValid())
				}
				if _, ended := probe.Status(); ended {
					t.Fatal("client ended")
				}
				if err := c.Write([]byte("still here"), Text); err != nil {
					t.Fatal(err)
				}
				wantMessage(t, probe.Inbox, Message{Data: []byte("still here"), Type: Text})
				if err := c.Close(StatusNormalClosure, ""); err != nil {
					t.Fatal(err)
				}
				rec.wantClose(t, StatusNormalClosure)
			})
		}
	})
}

// TestRFC6455_5_2_ClientReceivesEveryLength has the server send a Dial
// client frames at each edge of the length encodings and of the limits: a
// message of MaxMessageSize arrives, one byte more fails the connection
// with 1009 (section 7.4.1); a ping of 125 bytes is answered, one of 126
// fails it with 1002 (section 5.5).
func TestRFC6455_5_2_ClientReceivesEveryLength(t *testing.T) {
	const limit = 0x10000 + 7
	tests := []struct {
		name  string
		frame []byte
		want  byte   // the first byte of the client's answer; 0: none
		reply []byte // its payload
		msg   int    // the length of the message the client must get; -1: none
	}{
		{"binary 0", serverFrame(opBinary, nil), 0, nil, 0},
		{"binary 125", serverFrame(opBinary, payloadOf(125, Binary)), 0, nil, 125},
		{"binary 126", serverFrame(opBinary, payloadOf(126, Binary)), 0, nil, 126},
		{"binary 65535", serverFrame(opBinary, payloadOf(0xFFFF, Binary)), 0, nil, 0xFFFF},
		{"binary 65536", serverFrame(opBinary, payloadOf(0x10000, Binary)), 0, nil, 0x10000},
		{"binary at MaxMessageSize", serverFrame(opBinary, payloadOf(limit, Binary)), 0, nil, limit},
		{"binary past MaxMessageSize", serverFrame(opBinary, payloadOf(limit+1, Binary)), 0x88, closePayload(StatusMessageTooBig, ""), -1},
		{"ping 0", serverFrame(opPing, nil), 0x8a, nil, -1},
		{"ping 125", serverFrame(opPing, payloadOf(125, Binary)), 0x8a, payloadOf(125, Binary), -1},
		{"ping 126", serverFrame(opPing, payloadOf(126, Binary)), 0x88, closePayload(StatusProtocolError, ""), -1},
	}
	forEachClientMode(t, func(t *testing.T, d *Dispatcher) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				probe := newClientProbe()
				c, peer := dialRawPeer(t, d, probe, &Config{MaxMessageSize: limit})
				peer.write(tt.frame)
				if tt.msg >= 0 {
					wantMessage(t, probe.Inbox, Message{Data: payloadOf(tt.msg, Binary), Type: Binary})
				}
				if tt.want != 0 {
					f, raw := peer.readClientFrame()
					if raw[0] != tt.want || !bytes.Equal(f.payload, tt.reply) {
						t.Fatalf("client answered %02x with % x; want %02x with % x", raw[0], f.payload, tt.want, tt.reply)
					}
				}
				c.drop(StatusConnLost)
			})
		}
	})
}

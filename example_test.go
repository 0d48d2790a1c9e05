package wss_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"

	"github.com/wssgo/wss"
)

// chat is a Handler: one call per complete message, one OnClose per
// connection.
type chat struct{}

func (chat) OnFrame(c *wss.Conn, data []byte, text bool) {
	// data is valid only during the call; Write does not keep it.
	if err := c.Write(data, text); err != nil {
		log.Print(err)
	}
}

func (chat) OnClose(c *wss.Conn, status int) {
	// status > 0: the peer's close code (1005 if it sent none);
	// status < 0: the connection dropped (wss.StatusConnLost, ...).
	log.Printf("%v closed: %d", c.RemoteAddr(), status)
}

func ExampleHTTPHandler() {
	d, err := wss.NewDispatcher(nil)
	if err != nil {
		log.Fatal(err)
	}
	h := wss.HTTPHandler(d, nil, func(r *http.Request) wss.Handler { return chat{} })
	http.Handle("/ws", h)
	// log.Fatal(http.ListenAndServe("127.0.0.1:9001", nil))
}

func ExampleHandlerFuncs() {
	h := wss.HandlerFuncs{
		Frame: func(c *wss.Conn, data []byte, text bool) { _ = c.Write(data, text) },
		Close: func(c *wss.Conn, status int) { log.Print("closed: ", status) },
	}
	_ = wss.HTTPHandler(nil, &wss.Config{MaxMessageSize: 1 << 20}, func(*http.Request) wss.Handler { return h })
}

// A server that speaks only WebSocket on its port: the event loops read and
// answer the handshakes, and newHandler routes by the request's target.
func ExampleDispatcher_Serve() {
	d, err := wss.NewDispatcher(nil)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go d.Serve(ln, nil, func(r *wss.Request) wss.Handler {
		if r.Target() != "/echo" {
			return nil // refused with 403
		}
		return chat{}
	})

	in := wss.NewInbox(1)
	c, err := wss.Dial(context.Background(), "ws://"+ln.Addr().String()+"/echo", in, nil)
	if err != nil {
		log.Fatal(err)
	}
	_ = c.Write([]byte("hello"), true)
	m, err := in.Read(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", m.Data)
	_, err = wss.Dial(context.Background(), "ws://"+ln.Addr().String()+"/other", wss.NewInbox(1), nil)
	fmt.Println(errors.Is(err, wss.ErrHandshake))

	ln.Close()
	_ = d.Shutdown(context.Background())
	// Output:
	// hello
	// true
}

// feed streams chunks to a connection without letting more than limit
// bytes wait unsent: after each Write it looks at Buffered, and waits for
// OnDrain while too much is held.
type feed struct {
	drained chan struct{}
	done    chan error
}

const limit = 64 << 10

func (f *feed) OnOpen(c *wss.Conn) { go f.produce(c) }

func (f *feed) produce(c *wss.Conn) {
	chunk := make([]byte, 16<<10)
	for range 100 {
		if err := c.Write(chunk, false); err != nil {
			f.done <- err
			return
		}
		for c.Buffered() > limit {
			<-f.drained // OnDrain follows a figure above 0 once it is 0
		}
	}
	f.done <- nil
}

// OnDrain may come while produce does not wait: keep one wake-up.
func (f *feed) OnDrain(*wss.Conn) {
	select {
	case f.drained <- struct{}{}:
	default:
	}
}

func (f *feed) OnFrame(*wss.Conn, []byte, bool) {}
func (f *feed) OnClose(*wss.Conn, int)          {}

// A producer that waits for a slow reader instead of queueing without end.
func ExampleDrainHandler() {
	d, err := wss.NewDispatcher(nil)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	f := &feed{drained: make(chan struct{}, 1), done: make(chan error, 1)}
	go d.Serve(ln, nil, func(*wss.Request) wss.Handler { return f })

	in := wss.NewInbox(8)
	c, err := wss.Dial(context.Background(), "ws://"+ln.Addr().String()+"/", in, nil)
	if err != nil {
		log.Fatal(err)
	}
	n := 0
	for n < 100*16<<10 {
		m, err := in.Read(context.Background())
		if err != nil {
			log.Fatal(err)
		}
		n += len(m.Data)
	}
	fmt.Println(n, <-f.done)
	_ = c.Close(wss.StatusNormalClosure)
	ln.Close()
	_ = d.Shutdown(context.Background())
	// Output:
	// 1638400 <nil>
}

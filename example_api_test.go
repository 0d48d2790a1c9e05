package wss_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"

	"github.com/wssgo/wss"
)

// A MessageType names the kind of a message, as OnFrame gets it and Write
// takes it.
func ExampleMessageType() {
	for _, t := range []wss.MessageType{wss.Text, wss.Binary} {
		fmt.Println(t)
	}
	// Output:
	// text
	// binary
}

// The Dispatcher logs through log/slog: at Debug, each refused connection
// and each one dropped by a timeout or a protocol violation. Here a server
// refuses a request and logs why.
func ExampleDispatcherConfig_logger() {
	var logged bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "remote" {
				return slog.Attr{} // vary from run to run
			}
			return a
		},
	}))
	d, err := wss.NewDispatcher(&wss.DispatcherConfig{Logger: logger})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go d.Serve(ln, nil, func(*wss.Request) (wss.Handler, error) {
		return nil, nil // refused: 403 Forbidden
	})

	_, err = wss.Dial(context.Background(), "ws://"+ln.Addr().String()+"/", wss.NewInbox(1), nil)
	var he *wss.HandshakeError
	fmt.Println(errors.As(err, &he), he.StatusCode)

	ln.Close()
	_ = d.Close() // waits for the event loops, and so for what they log
	fmt.Print(logged.String())
	// Output:
	// true 403
	// level=DEBUG msg="wss: connection refused" reason=forbidden error=forbidden
}

// WritePreparedBatch sends messages framed once, as a broadcaster does, in
// one write: here three updates to a client that just connected.
func ExampleConn_WritePreparedBatch() {
	var batch []*wss.PreparedMessage
	for _, s := range []string{"one", "two", "three"} {
		pm, err := wss.NewPreparedMessage([]byte(s), wss.Text)
		if err != nil {
			log.Fatal(err)
		}
		batch = append(batch, pm)
	}
	d, err := wss.NewDispatcher(nil)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go d.Serve(ln, nil, func(*wss.Request) (wss.Handler, error) {
		return wss.HandlerFuncs{
			Frame: func(*wss.Conn, []byte, wss.MessageType) {},
			Open:  func(c *wss.Conn) { _ = c.WritePreparedBatch(batch) },
		}, nil
	})

	in := wss.NewInbox(len(batch))
	c, err := wss.Dial(context.Background(), "ws://"+ln.Addr().String()+"/", in, nil)
	if err != nil {
		log.Fatal(err)
	}
	for range batch {
		m, err := in.Read(context.Background())
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(m.Type, string(m.Data))
	}

	_ = c.Close(wss.StatusNormalClosure, "")
	ln.Close()
	_ = d.Shutdown(context.Background())
	// Output:
	// text one
	// text two
	// text three
}

package wss_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"sync/atomic"

	"github.com/wssgo/wss"
)

// An Observer counts with atomics: its functions run on the path of every
// message. Here a server echoes two messages and counts them each way.
func ExampleObserver() {
	var opened, closed, msgsIn, bytesIn, msgsOut, bytesOut atomic.Int64
	done := make(chan int)
	d, err := wss.NewDispatcher(&wss.DispatcherConfig{Observer: &wss.Observer{
		Opened:   func() { opened.Add(1) },
		Received: func(n int) { msgsIn.Add(1); bytesIn.Add(int64(n)) },
		Sent:     func(n int) { msgsOut.Add(1); bytesOut.Add(int64(n)) },
		Closed:   func(wss.StatusCode) { closed.Add(1) },
	}})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go d.Serve(ln, nil, func(*wss.Request) (wss.Handler, error) {
		return wss.HandlerFuncs{
			Frame: func(c *wss.Conn, data []byte, typ wss.MessageType) { _ = c.Write(data, typ) },
			Close: func(_ *wss.Conn, status wss.StatusCode) { done <- int(status) },
		}, nil
	})

	echoes := make(chan string, 2)
	c, err := wss.Dial(context.Background(), "ws://"+ln.Addr().String()+"/", wss.HandlerFuncs{
		Frame: func(_ *wss.Conn, data []byte, _ wss.MessageType) { echoes <- string(data) },
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	_ = c.Write([]byte("hello"), wss.Text)
	_ = c.Write([]byte("world!"), wss.Text)
	fmt.Println(<-echoes, <-echoes)
	_ = c.Close(wss.StatusNormalClosure, "")
	fmt.Println("server's OnClose:", <-done)
	fmt.Printf("opened %d, closed %d, in %d messages (%d bytes), out %d messages (%d bytes)\n",
		opened.Load(), closed.Load(), msgsIn.Load(), bytesIn.Load(), msgsOut.Load(), bytesOut.Load())
	// Output:
	// hello world!
	// server's OnClose: 1000
	// opened 1, closed 1, in 2 messages (11 bytes), out 2 messages (11 bytes)
}

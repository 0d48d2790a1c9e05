// Command gobwas is an echo server on github.com/gobwas/ws with the low-level
// API that its README presents for performance: zero-copy upgrade on a
// net.Conn, then one goroutine per connection that reads a frame header,
// reads and unmasks the payload and writes the frame back. Frames are echoed
// one by one, so a fragmented message comes back fragmented the same way.
//
// Unlike the README sketch, reads and writes go through 4 KiB bufio buffers
// (one read and one write system call per small message instead of three and
// two), and payload buffers are pooled instead of allocated per frame. The
// low-level API does not validate UTF-8; no compression is negotiated.
package main

import (
	"bufio"
	"flag"
	"io"
	"log"
	"net"
	"sync"

	"github.com/gobwas/ws"
)

// maxFrame matches gws's default message limit: the low-level API has none,
// and the header's length must be checked before allocating for it.
const maxFrame = 16 << 20

var payloads = sync.Pool{New: func() any { return new([]byte) }}

func serve(conn net.Conn) {
	defer conn.Close()
	if _, err := ws.Upgrade(conn); err != nil {
		return
	}
	r := bufio.NewReader(conn)
	w := bufio.NewWriter(conn)
	for {
		h, err := ws.ReadHeader(r)
		if err != nil || h.Length > maxFrame {
			return
		}
		if err := echo(r, w, h); err != nil || h.OpCode == ws.OpClose {
			return
		}
	}
}

// echo reads the payload of the frame whose header is h and writes the frame
// back, unmasked; a ping is answered with a pong.
func echo(r io.Reader, w *bufio.Writer, h ws.Header) error {
	buf := payloads.Get().(*[]byte)
	defer payloads.Put(buf)
	if int64(cap(*buf)) < h.Length {
		*buf = make([]byte, h.Length)
	}
	payload := (*buf)[:h.Length]
	if _, err := io.ReadFull(r, payload); err != nil {
		return err
	}
	if h.Masked {
		ws.Cipher(payload, h.Mask, 0)
	}
	h.Masked = false // server frames are not masked (RFC 6455 section 5.1)
	if h.OpCode == ws.OpPing {
		h.OpCode = ws.OpPong
	}
	if err := ws.WriteHeader(w, h); err != nil {
		return err
	}
	if _, err := w.Write(payload); err != nil {
		return err
	}
	return w.Flush()
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	for {
		conn, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go serve(conn)
	}
}

package wss

import (
	"bytes"
	"io"
	"net/url"
	"strings"
	"testing"
)

// TestSOCKS5ReplyBoundaries checks the reply parser of RFC 1928 section 6
// at each boundary: every truncation fails, every address type is read
// whole and no further, and refusals name their code.
func TestSOCKS5ReplyBoundaries(t *testing.T) {
	domain255 := append([]byte{5, 0, 0, 3, 255}, append(bytes.Repeat([]byte("a"), 255), 0, 80)...)
	tests := []struct {
		name  string
		reply []byte
		err   string // "" for success
	}{
		{"IPv4", []byte{5, 0, 0, 1, 127, 0, 0, 1, 0, 80}, ""},
		{"IPv6", append(append([]byte{5, 0, 0, 4}, make([]byte, 16)...), 0, 80), ""},
		{"domain of 255 bytes", domain255, ""},
		{"empty domain", []byte{5, 0, 0, 3, 0, 0, 80}, ""},
		{"version 4", []byte{4, 0, 0, 1, 127, 0, 0, 1, 0, 80}, "version 4"},
		{"connection refused", []byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}, "connection refused (reply 5)"},
		{"unassigned reply", []byte{5, 200, 0, 1, 0, 0, 0, 0, 0, 0}, "reply 200"},
		{"address type 2", []byte{5, 0, 0, 2, 0, 0, 0, 0, 0, 0}, "address type 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bytes.NewReader(append(tt.reply, "tunnel"...))
			err := readSOCKSReply(r)
			if tt.err == "" {
				if err != nil || r.Len() != len("tunnel") {
					t.Fatalf("err %v, %d bytes left; want nil and the tunnel's 6", err, r.Len())
				}
				for n := range len(tt.reply) {
					if err := readSOCKSReply(bytes.NewReader(tt.reply[:n])); err == nil {
						t.Errorf("truncated to %d bytes: no error", n)
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err %v, want %q", err, tt.err)
			}
		})
	}
}

// TestSOCKS5ReplyAllocatesNothingClaimed checks that the longest reply
// is read into the parser's fixed buffer: one allocation, whatever the
// length byte says.
func TestSOCKS5ReplyAllocatesNothingClaimed(t *testing.T) {
	reply := append([]byte{5, 0, 0, 3, 255}, append(bytes.Repeat([]byte("a"), 255), 0, 80)...)
	r := bytes.NewReader(reply)
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset(reply)
		if err := readSOCKSReply(r); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("%v allocations per reply, want at most 1 (the fixed buffer)", allocs)
	}
}

// endless is a peer that never stops sending b.
type endless struct {
	b    byte
	read int
}

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = e.b
	}
	e.read += len(p)
	return len(p), nil
}

// TestConnectResponseBounded checks that a proxy's answer to CONNECT is
// read within its bounds: an endless header line or header fails after
// at most defaultMaxHeaderBytes and a KiB, and a refusal's body is cut at
// a KiB whatever Content-Length claims.
func TestConnectResponseBounded(t *testing.T) {
	for _, prefix := range []string{"", "HTTP/1.1 407 No\r\nX: "} {
		peer := &endless{b: 'a'}
		_, _, err := readConnectResponse(io.MultiReader(strings.NewReader(prefix), peer))
		if err == nil || peer.read > defaultMaxHeaderBytes+refusalBodyLimit {
			t.Errorf("prefix %q: err %v after %d bytes; want an error within %d", prefix, err, peer.read, defaultMaxHeaderBytes+refusalBodyLimit)
		}
	}
	peer := &endless{b: 'b'}
	head := "HTTP/1.1 403 Forbidden\r\nContent-Length: 1099511627776\r\n\r\n"
	_, resp, err := readConnectResponse(io.MultiReader(strings.NewReader(head), peer))
	if err != nil {
		t.Fatal(err)
	}
	he := handshakeRefusal(resp, &url.URL{Scheme: "http", Host: "p:1", User: url.UserPassword("u", "secret")}, nil)
	if he.StatusCode != 403 || len(he.Body) != refusalBodyLimit || he.Proxy != "http://p:1" || peer.read > defaultMaxHeaderBytes+refusalBodyLimit {
		t.Errorf("%+v after %d bytes", he, peer.read)
	}
}

// FuzzSOCKS5Reply feeds arbitrary replies to the SOCKS5 parsers: no
// panic, and a success leaves what follows the reply unread.
func FuzzSOCKS5Reply(f *testing.F) {
	f.Add([]byte{5, 0, 0, 1, 127, 0, 0, 1, 0, 80})
	f.Add([]byte{5, 0, 0, 3, 3, 'a', 'b', 'c', 0, 80})
	f.Add([]byte{5, 0, 0, 4, 0})
	f.Add([]byte{5, 2, 1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		if err := readSOCKSReply(r); err == nil && len(data)-r.Len() > socksMaxReply {
			t.Fatalf("read %d bytes of reply", len(data)-r.Len())
		}
		_, _ = readSOCKSMethod(bytes.NewReader(data))
		_ = socksAuthenticate(&fakeRW{r: bytes.NewReader(data)}, url.UserPassword("u", "p"))
	})
}

// fakeRW reads from r and discards writes: the proxy's side of the
// conversation, replayed.
type fakeRW struct{ r io.Reader }

func (f *fakeRW) Read(p []byte) (int, error)  { return f.r.Read(p) }
func (f *fakeRW) Write(p []byte) (int, error) { return len(p), nil }

// FuzzConnectResponse feeds arbitrary answers to CONNECT: no panic, and a
// refusal's body is never over a KiB.
func FuzzConnectResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nContent-Length: 5\r\n\r\nhello"))
	f.Add([]byte("HTTP/1.0 502 Bad Gateway\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\nab"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, resp, err := readConnectResponse(bytes.NewReader(data))
		if err != nil {
			return
		}
		if he := handshakeRefusal(resp, &url.URL{Scheme: "http", Host: "p"}, nil); len(he.Body) > refusalBodyLimit {
			t.Fatalf("body of %d bytes", len(he.Body))
		}
	})
}

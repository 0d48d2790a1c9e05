package wss

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startProxy runs the proxy program name with the arguments args gives
// for a free port on 127.0.0.1, until the test ends, and returns its
// address once it accepts connections. It skips the test (fails it under
// CI) when the program is not installed.
func startProxy(t *testing.T, name string, args func(port string) []string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	requireTool(t, name+" (apt-get install "+map[string]string{"tinyproxy": "tinyproxy", "microsocks": "microsocks"}[name]+")", err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(path, args(port)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	// The proxy says nothing when it is ready: poll its port, bounded.
	for deadline := time.Now().Add(testTimeout); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		select {
		case err := <-exited:
			t.Fatalf("%s exited: %v", name, err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not accept on %s", name, addr)
		}
	}
}

// startTinyproxy runs tinyproxy, an HTTP proxy, requiring Basic
// credentials alice:s3cret.
func startTinyproxy(t *testing.T) string {
	conf := filepath.Join(t.TempDir(), "tinyproxy.conf")
	return startProxy(t, "tinyproxy", func(port string) []string {
		err := os.WriteFile(conf, []byte("Port "+port+"\nListen 127.0.0.1\nTimeout 30\nMaxClients 20\nBasicAuth alice s3cret\n"), 0o600)
		if err != nil {
			t.Fatal(err)
		}
		return []string{"-d", "-c", conf}
	})
}

// echoThrough dials the echo server srv through proxy and checks one
// message each way.
func echoThrough(t *testing.T, srv *testServer, proxy string, d *Dispatcher) error {
	t.Helper()
	p, err := url.Parse(proxy)
	if err != nil {
		t.Fatal(err)
	}
	in := NewInbox(1)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := Dial(ctx, "ws://"+srv.addr+"/", in, &DialOptions{Dispatcher: d, Proxy: http.ProxyURL(p)})
	if err != nil {
		return err
	}
	defer c.Close(StatusNormalClosure, "")
	if err := c.Write([]byte("through "+p.Scheme), Text); err != nil {
		t.Fatal(err)
	}
	m, err := in.Read(ctx)
	if err != nil || string(m.Data) != "through "+p.Scheme {
		t.Fatalf("echo: %q, %v", m.Data, err)
	}
	return nil
}

// TestDialThroughHTTPProxy dials through tinyproxy with CONNECT: with the
// right credentials the tunnel carries the connection; without them, or
// with wrong ones, the proxy's 407 is a HandshakeError naming the proxy.
func TestDialThroughHTTPProxy(t *testing.T) {
	proxy := startTinyproxy(t)
	forEachModeOf(t, testModes[:2], func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		if err := echoThrough(t, srv, "http://alice:s3cret@"+proxy, d); err != nil {
			t.Fatalf("Dial through tinyproxy: %v", err)
		}
		for _, tt := range []struct {
			user   string
			status int // tinyproxy answers wrong credentials with 401
		}{{"", 407}, {"alice:wrong@", 401}} {
			err := echoThrough(t, srv, "http://"+tt.user+proxy, d)
			var he *HandshakeError
			if !errors.As(err, &he) || he.StatusCode != tt.status || he.Proxy != "http://"+proxy || len(he.Body) == 0 ||
				!strings.Contains(err.Error(), fmt.Sprintf("proxy http://%s answered %d", proxy, tt.status)) {
				t.Errorf("user %q: %v (%+v); want the proxy's %d as a HandshakeError", tt.user, err, he, tt.status)
			}
		}
	})
}

// TestDialThroughSOCKS5 dials through microsocks without authentication
// (socks5 and socks5h, the latter with a host name the proxy resolves) and
// with RFC 1929 username and password, right and wrong.
func TestDialThroughSOCKS5(t *testing.T) {
	open := startProxy(t, "microsocks", func(port string) []string { return []string{"-i", "127.0.0.1", "-p", port} })
	auth := startProxy(t, "microsocks", func(port string) []string {
		return []string{"-i", "127.0.0.1", "-p", port, "-u", "bob", "-P", "pw"}
	})
	forEachModeOf(t, testModes[:2], func(t *testing.T, d *Dispatcher) {
		srv := startServer(t, d, nil, nil)
		for _, p := range []string{"socks5://" + open, "socks5h://" + open, "socks5://bob:pw@" + auth, "socks5h://bob:pw@" + auth} {
			if err := echoThrough(t, srv, p, d); err != nil {
				t.Errorf("Dial through %s: %v", p, err)
			}
		}
		_, port, _ := net.SplitHostPort(srv.addr)
		in := NewInbox(1)
		p, _ := url.Parse("socks5h://" + open)
		c, err := Dial(context.Background(), "ws://localhost:"+port+"/", in, &DialOptions{Dispatcher: d, Proxy: http.ProxyURL(p)})
		if err != nil {
			t.Fatalf("Dial localhost through socks5h: %v", err)
		}
		c.Close(StatusNormalClosure, "")
		for _, p := range []string{"socks5://bob:wrong@" + auth, "socks5://" + auth} {
			if err := echoThrough(t, srv, p, d); err == nil || !strings.Contains(err.Error(), "socks5:") {
				t.Errorf("Dial through %s: %v; want the proxy's refusal", p, err)
			}
		}
		// A refused connection: nothing listens on the port the server had.
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		closed := ln.Addr().String()
		ln.Close()
		_, err = Dial(context.Background(), "ws://"+closed+"/", NewInbox(1), &DialOptions{Dispatcher: d, Proxy: http.ProxyURL(p)})
		if err == nil || !strings.Contains(err.Error(), "socks5: ") {
			t.Errorf("Dial to a closed port through socks5: %v", err)
		}
	})
}

// TestDialProxySchemes checks that an unsupported proxy scheme is an
// error before anything is dialed, and that the Proxy function sees the
// URL with the scheme net/http would give it.
func TestDialProxySchemes(t *testing.T) {
	var seen []string
	for _, target := range []string{"ws://example.invalid/a", "wss://example.invalid/b"} {
		_, err := Dial(context.Background(), target, NewInbox(1), &DialOptions{
			Proxy: func(r *http.Request) (*url.URL, error) {
				seen = append(seen, r.URL.String())
				return url.Parse("ftp://127.0.0.1:1")
			},
			NetDialContext: func(context.Context, string, string) (net.Conn, error) {
				return nil, fmt.Errorf("dialed")
			},
		})
		if err == nil || !strings.Contains(err.Error(), `proxy scheme "ftp"`) {
			t.Errorf("%s: %v", target, err)
		}
	}
	if fmt.Sprint(seen) != "[http://example.invalid/a https://example.invalid/b]" {
		t.Errorf("Proxy saw %v", seen)
	}
}

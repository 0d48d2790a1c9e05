package wss

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestHandshakeErrorCarriesTheRefusal checks that a server's refusal
// reaches the caller of Dial as a *HandshakeError with its status, its
// header fields and the first KiB of its body, and still wraps
// ErrHandshake.
func TestHandshakeErrorCarriesTheRefusal(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Reason", "banned")
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	_, err := Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), NewInbox(1), nil)
	var he *HandshakeError
	if !errors.As(err, &he) || !errors.Is(err, ErrHandshake) {
		t.Fatalf("Dial: %v; want a *HandshakeError wrapping ErrHandshake", err)
	}
	if he.StatusCode != 403 || he.Status != "403 Forbidden" || he.Proxy != "" ||
		he.Header.Get("X-Reason") != "banned" || he.Header.Get("Retry-After") != "120" {
		t.Errorf("HandshakeError %+v", he)
	}
	if !bytes.Equal(he.Body, body[:1024]) || cap(he.Body) != 1024 {
		t.Errorf("body: %d bytes (cap %d), want the first 1024", len(he.Body), cap(he.Body))
	}
	if !strings.Contains(err.Error(), "server answered 403 Forbidden") {
		t.Errorf("Error() = %q, want it to name the status", err)
	}
}

// TestHandshakeErrorReadsNoMoreThanAKiB checks that Dial does not read a
// refusal's body beyond its first KiB: a server that claims 1 GiB, sends
// 2 KiB and then waits gets its answer back while it still waits, not
// once a deadline passes.
func TestHandshakeErrorReadsNoMoreThanAKiB(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1073741824")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write(bytes.Repeat([]byte("x"), 2048))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dialed := make(chan error, 1)
	go func() {
		cfg := &Config{HandshakeTimeout: time.Hour}
		_, err := Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), NewInbox(1), &DialOptions{Config: cfg})
		dialed <- err
	}()
	var err error
	select {
	case err = <-dialed:
	case <-time.After(testTimeout):
		cancel()
		<-dialed
		t.Fatal("Dial still reading the refusal's body after the first KiB")
	}
	var he *HandshakeError
	if !errors.As(err, &he) || he.StatusCode != 503 || len(he.Body) != 1024 {
		t.Fatalf("Dial: %v (%+v); want a 503 HandshakeError with 1024 bytes of body", err, he)
	}
}

// TestHandshakeErrorInvalid101 checks that a 101 failing the checks of
// RFC 6455 section 4.1 is a HandshakeError with status 101 that names
// the failed check.
func TestHandshakeErrorInvalid101(t *testing.T) {
	url := fakeServer(t, func(r *http.Request) string {
		return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\nX-Server: fake\r\n\r\n"
	}, nil)
	_, err := Dial(context.Background(), url, NewInbox(1), nil)
	var he *HandshakeError
	if !errors.As(err, &he) || !errors.Is(err, ErrHandshake) {
		t.Fatalf("Dial: %v; want a *HandshakeError", err)
	}
	if he.StatusCode != 101 || he.Header.Get("X-Server") != "fake" || len(he.Body) != 0 ||
		!strings.Contains(err.Error(), `wrong Sec-WebSocket-Accept "wrong"`) {
		t.Errorf("HandshakeError %+v: %v", he, err)
	}
}

package wss

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// What a newHandler decides (Serve, HTTPHandler): the Handler, or a
// refusal that is written as the HTTP answer, on both accept paths alike.

var (
	// errForbidden: newHandler returned neither a Handler nor an error.
	errForbidden = refusal(http.StatusForbidden, "forbidden")
	// errRefusalStatus: a HandshakeError whose status is not one a refusal
	// may have.
	errRefusalStatus = errors.New("wss: a refusal's status must be 3xx (not 304), 4xx or 5xx")
)

// chooseHandler asks newHandler for r's Handler. An error that is not a
// *HandshakeError, or one with a status a refusal may not have, becomes a
// 500 refusal that wraps it; the application's reasons are not shown to
// the client.
func chooseHandler(newHandler func(*Request) (Handler, error), r *Request) (Handler, error) {
	h, err := newHandler(r)
	if err == nil && h == nil {
		return nil, errForbidden
	}
	if err == nil {
		return h, nil
	}
	var he *HandshakeError
	if !errors.As(err, &he) {
		return nil, &handshakeError{http.StatusInternalServerError, "internal server error", err}
	}
	if s := he.StatusCode; s < 300 || s > 599 || s == http.StatusNotModified {
		return nil, &handshakeError{http.StatusInternalServerError, "internal server error",
			fmt.Errorf("%w: %d", errRefusalStatus, s)}
	}
	return nil, he
}

// appendHandshakeError appends the answer to a request newHandler refused
// with e: e's status, its header fields as fieldsTo writes them, and at
// most refusalBodyLimit bytes of its body (what Dial keeps of it). The
// connection closes after it.
func appendHandshakeError(resp []byte, e *HandshakeError) []byte {
	body := refusalBody(e)
	resp = append(resp, "HTTP/1.1 "...)
	resp = strconv.AppendInt(resp, int64(e.StatusCode), 10)
	resp = append(append(append(resp, ' '), reasonPhrase(e.StatusCode)...), "\r\n"...)
	resp = appendFields(resp, e.Header, framingField)
	if len(body) > 0 && e.Header.Get("Content-Type") == "" {
		resp = append(resp, "Content-Type: text/plain; charset=utf-8\r\n"...)
	}
	resp = append(resp, "Connection: close\r\nContent-Length: "...)
	resp = strconv.AppendInt(resp, int64(len(body)), 10)
	return append(append(resp, "\r\n\r\n"...), body...)
}

// writeHandshakeError is appendHandshakeError for net/http: the same
// status, fields and body (net/http adds Date).
func writeHandshakeError(w http.ResponseWriter, e *HandshakeError) {
	body := refusalBody(e)
	h := w.Header()
	eachField(e.Header, framingField, h.Add)
	if len(body) > 0 && e.Header.Get("Content-Type") == "" {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	h.Set("Connection", "close")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.StatusCode)
	_, _ = w.Write(body)
}

// refusalBody returns e's body, cut at refusalBodyLimit: a refusal is
// written in one write from an event loop, and a Dial client keeps no more.
func refusalBody(e *HandshakeError) []byte {
	return e.Body[:min(len(e.Body), refusalBodyLimit)]
}

// reasonPhrase returns the reason phrase of status, as net/http writes it.
func reasonPhrase(status int) string {
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "status code " + strconv.Itoa(status)
}

// framingField reports whether name is a field the answer's framing sets
// itself, so the application's is left out.
func framingField(name string) bool {
	for _, f := range [...]string{"Connection", "Content-Length", "Transfer-Encoding"} {
		if strings.EqualFold(name, f) {
			return true
		}
	}
	return false
}

// handshakeField reports whether name is a field the 101 response sets
// itself, or one that a 101 must not carry.
func handshakeField(name string) bool {
	return framingField(name) || strings.EqualFold(name, "Upgrade") ||
		len(name) >= len("Sec-WebSocket-") && strings.EqualFold(name[:len("Sec-WebSocket-")], "Sec-WebSocket-")
}

// appendFields appends the fields of h, in the order of their names, each
// "Name: value\r\n" (see eachField).
func appendFields(dst []byte, h http.Header, skip func(string) bool) []byte {
	eachField(h, skip, func(name, value string) {
		dst = append(append(append(append(dst, name...), ": "...), value...), "\r\n"...)
	})
	return dst
}

// eachField calls f with each field of h in the order of their names, as
// net/http writes a header: a name that is not a token is left out (so is
// one skip reports), and CR and LF in a value become spaces, so that no
// value can end the head or add a field (so do the other control
// characters, which no field value may hold).
func eachField(h http.Header, skip func(string) bool, f func(name, value string)) {
	if len(h) == 0 {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(h)) {
		if !isToken([]byte(name)) || skip(name) {
			continue
		}
		for _, v := range h[name] {
			f(name, strings.Trim(strings.Map(noControl, v), " \t"))
		}
	}
}

// noControl maps a control character other than HTAB to a space.
func noControl(r rune) rune {
	if r < ' ' && r != '\t' || r == 0x7F {
		return ' '
	}
	return r
}

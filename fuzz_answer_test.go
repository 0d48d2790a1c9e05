package wss

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/textproto"
	"testing"
)

// FuzzHandshakeErrorAnswer checks the refusal Serve writes for any status,
// header field and body an application gives: it is one well-formed HTTP
// response with that status, the body cut at refusalBodyLimit, nothing
// after it, and no field the application did not name (no header
// injection through CR or LF).
func FuzzHandshakeErrorAnswer(f *testing.F) {
	f.Add(401, "WWW-Authenticate", `Basic realm="chat"`, []byte("log in first\n"))
	f.Add(503, "Retry-After", "30", []byte{})
	f.Add(302, "Location", "/login\r\nSet-Cookie: x=1", bytes.Repeat([]byte("x"), 2000))
	f.Add(499, "Bad Name", "v", []byte("b"))
	f.Add(400, "Content-Length", "99", []byte("abc"))
	f.Fuzz(func(t *testing.T, status int, name, value string, body []byte) {
		status = 300 + (status%300+300)%300
		if status == http.StatusNotModified {
			status = http.StatusBadRequest
		}
		e := &HandshakeError{StatusCode: status, Header: http.Header{name: {value}}, Body: body}
		out := appendHandshakeError(nil, e)
		br := bufio.NewReader(bytes.NewReader(out))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer %q does not parse: %v", out, err)
		}
		got, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("body of %q: %v", out, err)
		}
		if resp.StatusCode != status {
			t.Fatalf("status %d, want %d", resp.StatusCode, status)
		}
		if want := body[:min(len(body), refusalBodyLimit)]; !bytes.Equal(got, want) {
			t.Fatalf("body %q, want %q", got, want)
		}
		if br.Buffered() != 0 {
			t.Fatalf("%d bytes after the answer", br.Buffered())
		}
		allowed := map[string]bool{"Connection": true, "Content-Length": true, "Content-Type": true,
			textproto.CanonicalMIMEHeaderKey(name): true}
		for k := range resp.Header {
			if !allowed[k] {
				t.Fatalf("field %q in the answer to a refusal naming only %q: %q", k, name, out)
			}
		}
		if !resp.Close || resp.ContentLength != int64(len(got)) || fieldLines(out, "Content-Length:") != 1 {
			t.Fatalf("framing fields of %q", out)
		}
	})
}

// fieldLines counts the lines of resp's head that start with prefix.
func fieldLines(resp []byte, prefix string) int {
	head, _, _ := bytes.Cut(resp, []byte("\r\n\r\n"))
	n := 0
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		if bytes.HasPrefix(line, []byte(prefix)) {
			n++
		}
	}
	return n
}

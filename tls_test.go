package wss

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// selfSignedCert returns a certificate for 127.0.0.1, made for the test.
func selfSignedCert(t testing.TB) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "wss test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// startTLSServer is startHardServer over TLS (wss://).
func startTLSServer(t *testing.T, dcfg *DispatcherConfig, cfg *Config, log *closeLog) *testServer {
	t.Helper()
	return serveHard(t, dcfg, cfg, log, &tls.Config{Certificates: []tls.Certificate{selfSignedCert(t)}})
}

// nodeEchoClient is a Node ws client: it sends a text and a 100 KiB binary
// message over wss://, checks both come back, closes with 1000 and prints
// the close code the server answered.
const nodeEchoClient = `
const WebSocket = require('ws');
const ws = new WebSocket(process.argv[process.argv.length - 1], {rejectUnauthorized: false});
const big = Buffer.alloc(100 * 1024, 7);
const got = [];
ws.on('open', () => { ws.send('hello über'); ws.send(big); });
ws.on('message', (data, isBinary) => {
  got.push(isBinary ? 'binary:' + data.length + ':' + data.equals(big) : 'text:' + data.toString());
  if (got.length === 2) ws.close(1000, 'bye');
});
ws.on('close', (code) => { console.log(got.join(' ') + ' close:' + code); });
ws.on('error', (e) => { console.log('error: ' + e.message); process.exit(1); });
`

// The server speaks wss:// (TLS from crypto/tls) with a real client, Node's
// ws, in both dispatcher modes.
func TestTLSWithNodeClient(t *testing.T) {
	_, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat("/usr/share/nodejs/ws/package.json")
	}
	requireTool(t, "Node's ws (node-ws)", err)
	for _, m := range dispatcherModes() {
		t.Run(m.name, func(t *testing.T) {
			log := newCloseLog()
			log.onFrame = func(c *Conn, data []byte, typ MessageType) { c.Write(data, typ) }
			ts := startTLSServer(t, modeConfig(m.cfg), nil, log)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "node", "-e", nodeEchoClient, "--", "wss://"+ts.addr+"/")
			cmd.Env = append(os.Environ(), "NODE_PATH=/usr/share/nodejs")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("node: %v\n%s", err, out)
			}
			const want = "text:hello über binary:102400:true close:1000"
			if got := strings.TrimSpace(string(out)); got != want {
				t.Fatalf("node printed %q, want %q", got, want)
			}
			if s := log.wait(t); s != StatusNormalClosure {
				t.Fatalf("OnClose %d", s)
			}
		})
	}
}

// Over TLS, a protocol error still gets its close frame to the peer, and
// Shutdown sends 1001 and leaves nothing behind.
func TestTLSProtocolErrorAndShutdown(t *testing.T) {
	for _, m := range dispatcherModes() {
		t.Run(m.name, func(t *testing.T) {
			log := newCloseLog()
			ts := startTLSServer(t, modeConfig(m.cfg), &Config{PingInterval: -1}, log)
			bad := connectTLS(t, ts.addr)
			<-log.onOpen
			bad.send(fin|3, nil) // reserved opcode
			if code := bad.expectClose(); code != StatusProtocolError {
				t.Fatalf("close code %d, want 1002", code)
			}
			bad.nc.Close()
			if s := log.wait(t); s != StatusProtocolViolation {
				t.Fatalf("OnClose %d", s)
			}
			good := connectTLS(t, ts.addr)
			<-log.onOpen
			ts.stopAccepting()
			done := make(chan error, 1)
			go func() { done <- ts.d.Shutdown(context.Background()) }()
			if code, err := good.answerClose(); err != nil || code != StatusGoingAway {
				t.Fatalf("close %d %v, want 1001", code, err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if s := log.wait(t); s != StatusGoingAway {
				t.Fatalf("OnClose %d", s)
			}
			ts.assertNoWSSLeft(t)
		})
	}
}

// connectTLS is a rawClient over TLS, connected with a random key.
func connectTLS(t *testing.T, addr string) *rawClient {
	t.Helper()
	nc, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	return newRawClient(t, nc, nil).connect(randomKey())
}

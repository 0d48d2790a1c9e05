package wss

import (
	"net/http"
	"testing"
)

// TestRFC7692_5_ServerNegotiation checks the server's answer to
// offers: accepted as the first acceptable one, declined when a parameter
// is unknown, repeated or has an invalid value (section 5.1), window sizes
// and context takeover answered per sections 7.1.1 and 7.1.2.
func TestRFC7692_5_ServerNegotiation(t *testing.T) {
	def := &CompressionConfig{}
	keep := &CompressionConfig{ClientMaxWindowBits: 15} // keeps the client's window
	tests := []struct {
		name   string
		cfg    *CompressionConfig
		offers []string
		want   string
	}{
		{"compression off", nil, []string{"permessage-deflate"}, ""},
		{"no offer", def, nil, ""},
		{"plain offer", def, []string{"permessage-deflate"}, "permessage-deflate"},
		{"name is case-insensitive", def, []string{"PerMessage-Deflate"}, "permessage-deflate"},
		{"browser offer", keep, []string{"permessage-deflate; client_max_window_bits"}, "permessage-deflate"},
		{"browser offer, default client window", def, []string{"permessage-deflate; client_max_window_bits"}, "permessage-deflate; client_max_window_bits=12"},
		{"client window 15 offered, default lowers it", def, []string{"permessage-deflate; client_max_window_bits=15"}, "permessage-deflate; client_max_window_bits=12"},
		{"client window 13 offered, default lowers it", def, []string{"permessage-deflate; client_max_window_bits=13"}, "permessage-deflate; client_max_window_bits=12"},
		{"client window 12 offered", def, []string{"permessage-deflate; client_max_window_bits=12"}, "permessage-deflate; client_max_window_bits=12"},
		{"client window not offered, default cannot ask", def, []string{"permessage-deflate"}, "permessage-deflate"},
		{"server window offered", def, []string{"permessage-deflate; server_max_window_bits=10"}, "permessage-deflate; server_max_window_bits=10"},
		{"server window 8", def, []string{"permessage-deflate; server_max_window_bits=8"}, "permessage-deflate; server_max_window_bits=8"},
		{"server window 15", def, []string{"permessage-deflate; server_max_window_bits=15"}, "permessage-deflate; server_max_window_bits=15"},
		{"quoted value", def, []string{`permessage-deflate; server_max_window_bits="12"`}, "permessage-deflate; server_max_window_bits=12"},
		{"client window with a value", def, []string{"permessage-deflate; client_max_window_bits=9"}, "permessage-deflate; client_max_window_bits=9"},
		{"server lowers its window", &CompressionConfig{ServerMaxWindowBits: 11}, []string{"permessage-deflate"}, "permessage-deflate; server_max_window_bits=11"},
		{"server keeps the lower offer", &CompressionConfig{ServerMaxWindowBits: 11}, []string{"permessage-deflate; server_max_window_bits=9"}, "permessage-deflate; server_max_window_bits=9"},
		{"server lowers the client window", &CompressionConfig{ClientMaxWindowBits: 10}, []string{"permessage-deflate; client_max_window_bits"}, "permessage-deflate; client_max_window_bits=10"},
		{"client window not offered, not asked", &CompressionConfig{ClientMaxWindowBits: 10}, []string{"permessage-deflate"}, "permessage-deflate"},
		{"server no context takeover on its own", &CompressionConfig{ServerNoContextTakeover: true}, []string{"permessage-deflate"}, "permessage-deflate; server_no_context_takeover"},
		{"client no context takeover asked", &CompressionConfig{ClientNoContextTakeover: true}, []string{"permessage-deflate"}, "permessage-deflate; client_no_context_takeover"},
		{"server no context takeover offered", def, []string{"permessage-deflate; server_no_context_takeover"}, "permessage-deflate; server_no_context_takeover"},
		{"client no context takeover offered", def, []string{"permessage-deflate; client_no_context_takeover"}, "permessage-deflate; client_no_context_takeover"},
		{"everything", keep, []string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=13; client_max_window_bits=14"},
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=13; client_max_window_bits=14"},
		{"server window without value", def, []string{"permessage-deflate; server_max_window_bits"}, ""},
		{"window 7", def, []string{"permessage-deflate; server_max_window_bits=7"}, ""},
		{"window 16", def, []string{"permessage-deflate; client_max_window_bits=16"}, ""},
		{"leading zero", def, []string{"permessage-deflate; server_max_window_bits=010"}, ""},
		{"sign", def, []string{"permessage-deflate; server_max_window_bits=+9"}, ""},
		{"not a number", def, []string{"permessage-deflate; client_max_window_bits=x"}, ""},
		{"unknown parameter", def, []string{"permessage-deflate; foo"}, ""},
		{"value on a flag", def, []string{"permessage-deflate; server_no_context_takeover=1"}, ""},
		{"duplicate parameter", def, []string{"permessage-deflate; client_no_context_takeover; client_no_context_takeover"}, ""},
		{"unterminated quote", def, []string{`permessage-deflate; server_max_window_bits="9`}, ""},
		{"garbage", def, []string{"permessage-deflate; =9 x"}, ""},
		{"first acceptable of several", def, []string{"permessage-deflate; foo, permessage-deflate; server_max_window_bits=12, permessage-deflate"}, "permessage-deflate; server_max_window_bits=12"},
		{"several header fields", keep, []string{"permessage-deflate; server_max_window_bits=2", "permessage-deflate; client_max_window_bits"}, "permessage-deflate"},
		{"comma inside quotes", def, []string{`permessage-deflate; foo="a,b", permessage-deflate; client_no_context_takeover`}, "permessage-deflate; client_no_context_takeover"},
		{"other extensions skipped", keep, []string{"x-webkit-deflate-frame, permessage-deflate; client_max_window_bits=15"}, "permessage-deflate; client_max_window_bits=15"},
		{"empty elements", def, []string{" , ,permessage-deflate ,"}, "permessage-deflate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, o := range tt.offers {
				h.Add("Sec-WebSocket-Extensions", o)
			}
			got, d := negotiateDeflate(h, tt.cfg)
			if got != tt.want {
				t.Fatalf("response %q, want %q", got, tt.want)
			}
			if (d != nil) != (tt.want != "") {
				t.Fatalf("state %v for response %q", d, got)
			}
		})
	}
}

// TestRFC7692_5_ClientChecksResponse checks that the client fails the
// handshake on responses its offer does not allow, and takes the
// parameters it does.
func TestRFC7692_5_ClientChecksResponse(t *testing.T) {
	def := &CompressionConfig{}
	tests := []struct {
		name     string
		cfg      *CompressionConfig
		response []string
		ok       bool
		sendBits int
	}{
		{"declined", def, nil, true, 0},
		{"accepted", def, []string{"permessage-deflate"}, true, 15},
		{"client window lowered", def, []string{"permessage-deflate; client_max_window_bits=8"}, true, 8},
		{"server window announced", def, []string{"permessage-deflate; server_max_window_bits=9"}, true, 15},
		{"no context takeover either way", def, []string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover"}, true, 15},
		{"offered client window bounds the client", &CompressionConfig{ClientMaxWindowBits: 10}, []string{"permessage-deflate"}, true, 10},
		{"not offered", nil, []string{"permessage-deflate"}, false, 0},
		{"unknown extension", def, []string{"x-foo"}, false, 0},
		{"two elements", def, []string{"permessage-deflate, permessage-deflate"}, false, 0},
		{"two fields", def, []string{"permessage-deflate", "permessage-deflate"}, false, 0},
		{"unknown parameter", def, []string{"permessage-deflate; foo=1"}, false, 0},
		{"client window without a value", def, []string{"permessage-deflate; client_max_window_bits"}, false, 0},
		{"window out of range", def, []string{"permessage-deflate; server_max_window_bits=16"}, false, 0},
		{"duplicate", def, []string{"permessage-deflate; server_no_context_takeover; server_no_context_takeover"}, false, 0},
		{"server window above the offer", &CompressionConfig{ServerMaxWindowBits: 10}, []string{"permessage-deflate; server_max_window_bits=11"}, false, 0},
		{"server window missing", &CompressionConfig{ServerMaxWindowBits: 10}, []string{"permessage-deflate"}, false, 0},
		{"client window above the offer", &CompressionConfig{ClientMaxWindowBits: 10}, []string{"permessage-deflate; client_max_window_bits=12"}, false, 0},
		{"server no context takeover refused", &CompressionConfig{ServerNoContextTakeover: true}, []string{"permessage-deflate"}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, r := range tt.response {
				h.Add("Sec-WebSocket-Extensions", r)
			}
			d, err := acceptDeflateResponse(h, tt.cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			got := 0
			if d != nil {
				got = d.sendBits
			}
			if got != tt.sendBits {
				t.Fatalf("client window %d, want %d", got, tt.sendBits)
			}
		})
	}
}

// FuzzParseExtensions checks that no header makes the parser panic, and
// that a response built from an accepted offer parses back to itself.
func FuzzParseExtensions(f *testing.F) {
	for _, s := range []string{"permessage-deflate; client_max_window_bits", `a; b="c\"d", e`, ",;=\"", "permessage-deflate; server_max_window_bits=10; client_no_context_takeover"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h := http.Header{"Sec-Websocket-Extensions": {s}}
		resp, d := negotiateDeflate(h, &CompressionConfig{})
		if resp == "" {
			return
		}
		back, err := acceptDeflateResponse(http.Header{"Sec-Websocket-Extensions": {resp}}, &CompressionConfig{})
		if err != nil {
			t.Fatalf("response %q to %q does not parse: %v", resp, s, err)
		}
		if back.recvBits != d.sendBits || back.recvTakeover != d.sendTakeover {
			t.Fatalf("response %q to %q: client sees server window %d/%v, server uses %d/%v", resp, s, back.recvBits, back.recvTakeover, d.sendBits, d.sendTakeover)
		}
	})
}

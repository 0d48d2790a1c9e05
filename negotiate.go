package wss

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Extension parameters of permessage-deflate (RFC 7692 section 7.1).
const (
	extDeflate              = "permessage-deflate"
	paramServerNoTakeover   = "server_no_context_takeover"
	paramClientNoTakeover   = "client_no_context_takeover"
	paramServerMaxWindowBit = "server_max_window_bits"
	paramClientMaxWindowBit = "client_max_window_bits"
)

// deflateParams holds the parameters of one permessage-deflate offer or
// response. A window of 0 means the parameter is absent; clientBitsAsked
// records a client_max_window_bits without a value.
type deflateParams struct {
	serverNoTakeover bool
	clientNoTakeover bool
	serverBits       int
	clientBits       int
	clientBitsAsked  bool
}

// parseDeflateParams checks the parameters of a permessage-deflate element
// (RFC 7692 section 7.1): known names, each at most once, window bits
// 8-15 written without leading zeros, no value where none belongs. In a
// response client_max_window_bits needs a value; in an offer it may have
// none.
func parseDeflateParams(e extension, response bool) (deflateParams, error) {
	var p deflateParams
	if e.bad {
		return p, errors.New("malformed extension header")
	}
	seen := make(map[string]bool, len(e.params))
	for _, q := range e.params {
		name := strings.ToLower(q.name)
		if seen[name] {
			return p, fmt.Errorf("duplicate parameter %s", name)
		}
		seen[name] = true
		var err error
		switch name {
		case paramServerNoTakeover:
			p.serverNoTakeover, err = true, noValue(q)
		case paramClientNoTakeover:
			p.clientNoTakeover, err = true, noValue(q)
		case paramServerMaxWindowBit:
			p.serverBits, err = windowBits(q)
		case paramClientMaxWindowBit:
			p.clientBitsAsked = true
			if q.hasValue || response {
				p.clientBits, err = windowBits(q)
			}
		default:
			err = fmt.Errorf("unknown parameter %q", q.name)
		}
		if err != nil {
			return p, err
		}
	}
	return p, nil
}

func noValue(q extParam) error {
	if q.hasValue {
		return fmt.Errorf("parameter %s takes no value", q.name)
	}
	return nil
}

// windowBits parses a window size: a decimal integer 8-15 without leading
// zeros (RFC 7692 sections 7.1.2.1 and 7.1.2.2).
func windowBits(q extParam) (int, error) {
	n, err := strconv.Atoi(q.value)
	if !q.hasValue || err != nil || n < 8 || n > 15 || q.value != strconv.Itoa(n) {
		return 0, fmt.Errorf("parameter %s needs a value from 8 to 15, got %q", q.name, q.value)
	}
	return n, nil
}

// String formats p as a permessage-deflate extension element.
func (p deflateParams) String() string {
	s := extDeflate
	if p.serverNoTakeover {
		s += "; " + paramServerNoTakeover
	}
	if p.clientNoTakeover {
		s += "; " + paramClientNoTakeover
	}
	if p.serverBits != 0 {
		s += "; " + paramServerMaxWindowBit + "=" + strconv.Itoa(p.serverBits)
	}
	if p.clientBits != 0 {
		s += "; " + paramClientMaxWindowBit + "=" + strconv.Itoa(p.clientBits)
	} else if p.clientBitsAsked {
		s += "; " + paramClientMaxWindowBit
	}
	return s
}

// negotiateDeflate is negotiateOffers for the Sec-WebSocket-Extensions
// fields of h.
func negotiateDeflate(h http.Header, cc *CompressionConfig) (string, *deflate) {
	return negotiateOffers(h.Values("Sec-WebSocket-Extensions"), cc)
}

// negotiateOffers is the server's side of RFC 7692 section 5: it accepts
// the first permessage-deflate offer in the Sec-WebSocket-Extensions
// values that it can honour and returns the response element and the
// connection's compression state, or "" and nil when compression is off or
// no offer is acceptable. An offer with an unknown or repeated parameter
// or an invalid value is declined, and the next one considered.
func negotiateOffers(values []string, cc *CompressionConfig) (string, *deflate) {
	if cc == nil {
		return "", nil
	}
	for _, e := range parseExtensions(values) {
		if !strings.EqualFold(e.name, extDeflate) {
			continue
		}
		offer, err := parseDeflateParams(e, false)
		if err != nil {
			continue
		}
		resp := cc.serverResponse(offer)
		return resp.String(), newDeflate(cc, resp, false, offer.clientBits)
	}
	return "", nil
}

// serverResponse answers an acceptable offer. The server may always stop
// its own context takeover and may ask the client to stop its own (RFC
// 7692 sections 7.1.1.1 and 7.1.1.2); it may lower its own window, and the
// client's only if the client offered client_max_window_bits (section
// 7.1.2.2), which it then does by default: the client's window is what a
// server keeps per idle connection.
func (cc *CompressionConfig) serverResponse(offer deflateParams) deflateParams {
	resp := deflateParams{
		serverNoTakeover: offer.serverNoTakeover || cc.ServerNoContextTakeover,
		clientNoTakeover: offer.clientNoTakeover || cc.ClientNoContextTakeover,
	}
	if bits := min(orMax(offer.serverBits), cc.serverBits()); offer.serverBits != 0 || bits < 15 {
		resp.serverBits = bits
	}
	if offer.clientBitsAsked {
		if bits := min(orMax(offer.clientBits), cc.askedClientBits()); offer.clientBits != 0 || bits < 15 {
			resp.clientBits = bits
		}
	}
	return resp
}

// clientOffer is the offer a client configured with cc sends.
func (cc *CompressionConfig) clientOffer() deflateParams {
	p := deflateParams{
		serverNoTakeover: cc.ServerNoContextTakeover,
		clientNoTakeover: cc.ClientNoContextTakeover,
		clientBitsAsked:  true,
	}
	if cc.ServerMaxWindowBits != 0 {
		p.serverBits = cc.serverBits()
	}
	if cc.ClientMaxWindowBits != 0 {
		p.clientBits = cc.clientBits()
	}
	return p
}

// acceptDeflateResponse is the client's check of the server's
// Sec-WebSocket-Extensions (RFC 6455 section 4.1 and RFC 7692 section 5):
// it fails on any extension the client did not offer, on more than one
// permessage-deflate element, and on parameters the offer does not allow.
// It returns nil when the server declined compression.
func acceptDeflateResponse(h http.Header, cc *CompressionConfig) (*deflate, error) {
	values := h.Values("Sec-WebSocket-Extensions")
	exts := parseExtensions(values)
	if len(exts) == 0 {
		return nil, nil
	}
	if cc == nil || len(exts) > 1 || !strings.EqualFold(exts[0].name, extDeflate) {
		return nil, fmt.Errorf("server accepted extensions not offered: %q", values)
	}
	resp, err := parseDeflateParams(exts[0], true)
	if err != nil {
		return nil, fmt.Errorf("permessage-deflate response: %w", err)
	}
	offer := cc.clientOffer()
	switch {
	case offer.serverNoTakeover && !resp.serverNoTakeover:
		return nil, errors.New("permessage-deflate response: server_no_context_takeover offered but not accepted")
	case offer.serverBits != 0 && (resp.serverBits == 0 || resp.serverBits > offer.serverBits):
		return nil, errors.New("permessage-deflate response: server_max_window_bits missing or above the offer")
	case offer.clientBits != 0 && resp.clientBits > offer.clientBits:
		return nil, errors.New("permessage-deflate response: client_max_window_bits above the offer")
	}
	return newDeflate(cc, resp, true, offer.clientBits), nil
}

// orMax maps an absent window size to the largest, 15.
func orMax(bits int) int {
	if bits == 0 {
		return 15
	}
	return bits
}

package frame

import "testing"

// TestHeader_RoundTrip: PutHeader's encoding parses back to the same
// header, with the minimal length encoding, for every length class.
func TestHeader_RoundTrip(t *testing.T) {
	lengths := []int{0, 1, 125, 126, 127, 0xFFFE, 0xFFFF, 0x10000, 1 << 31, 1<<62 + 5}
	var b [MaxHeaderLen]byte
	for _, n := range lengths {
		for _, masked := range []bool{false, true} {
			for _, op := range []Opcode{OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong, 0x3, 0xF} {
				for _, rsv := range []byte{0, Rsv1, Rsv1 | Rsv2 | Rsv3} {
					for _, fin := range []bool{false, true} {
						key := uint32(0xdeadbeef)
						k := PutHeader(b[:], fin, rsv, op, n, masked, key)
						if k != HeaderLen(b[1]) {
							t.Fatalf("PutHeader wrote %d bytes, HeaderLen says %d", k, HeaderLen(b[1]))
						}
						want := 2
						switch {
						case n > 0xFFFF:
							want += 8
						case n > 125:
							want += 2
						}
						if masked {
							want += 4
						}
						if k != want {
							t.Errorf("length %d: header of %d bytes, want %d (minimal)", n, k, want)
						}
						h, ok := ParseHeader(b[:k])
						if !ok {
							t.Fatalf("ParseHeader refused % x", b[:k])
						}
						wantKey := uint32(0)
						if masked {
							wantKey = key
						}
						if h.Fin != fin || h.Rsv != rsv || h.Op != op || h.Masked != masked || h.Key != wantKey || h.Length != uint64(n) {
							t.Errorf("round trip of (%v %#x %#x %d %v) gave %+v", fin, rsv, op, n, masked, h)
						}
					}
				}
			}
		}
	}
}

// TestHeader_ParseBytes: ParseHeader on exact wire bytes, including the
// encodings it must refuse.
func TestHeader_ParseBytes(t *testing.T) {
	cases := []struct {
		name string
		b    []byte
		want Header
		ok   bool
	}{
		{"RFC 5.7 unmasked Hello", []byte{0x81, 0x05}, Header{Fin: true, Op: OpText, Length: 5}, true},
		{"RFC 5.7 masked Hello", []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d}, Header{Fin: true, Op: OpText, Masked: true, Key: 0x3d21fa37, Length: 5}, true},
		{"RFC 5.7 fragment", []byte{0x01, 0x03}, Header{Op: OpText, Length: 3}, true},
		{"RFC 5.7 256 bytes", []byte{0x82, 0x7E, 0x01, 0x00}, Header{Fin: true, Op: OpBinary, Length: 256}, true},
		{"RFC 5.7 64 KiB", []byte{0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}, Header{Fin: true, Op: OpBinary, Length: 65536}, true},
		{"rsv bits", []byte{0xF2, 0x00}, Header{Fin: true, Rsv: 0x70, Op: OpBinary}, true},
		{"16-bit non-minimal", []byte{0x82, 0x7E, 0x00, 0x7D}, Header{}, false},
		{"64-bit non-minimal", []byte{0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}, Header{}, false},
		{"64-bit top bit", []byte{0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0}, Header{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if n := HeaderLen(tc.b[1]); n != len(tc.b) {
				t.Fatalf("HeaderLen = %d, want %d", n, len(tc.b))
			}
			h, ok := ParseHeader(tc.b)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if ok && h != tc.want {
				t.Errorf("got %+v, want %+v", h, tc.want)
			}
		})
	}
}

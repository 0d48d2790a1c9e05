package wss

import "encoding/binary"

// mask XORs b in place with the mask key (RFC 6455 section 5.3) and returns
// the key rotated for the byte after b, so a payload that arrives in pieces
// can be unmasked piece by piece. It works 8 bytes at a time.
func mask(key uint32, b []byte) uint32 {
	if len(b) >= 8 {
		k := uint64(key) | uint64(key)<<32
		for len(b) >= 64 {
			for i := 0; i < 64; i += 8 {
				v := binary.LittleEndian.Uint64(b[i:])
				binary.LittleEndian.PutUint64(b[i:], v^k)
			}
			b = b[64:]
		}
		for len(b) >= 8 {
			v := binary.LittleEndian.Uint64(b)
			binary.LittleEndian.PutUint64(b, v^k)
			b = b[8:]
		}
	}
	for i := range b {
		b[i] ^= byte(key)
		key = key>>8 | key<<24
	}
	return key
}

package frame

import "encoding/binary"

// Mask XORs b in place with the mask key (RFC 6455 section 5.3) and returns
// the key rotated for the byte after b, so a payload that arrives in pieces
// can be unmasked piece by piece. It works 8 bytes at a time.
func Mask(key uint32, b []byte) uint32 {
	if len(b) >= 8 {
		k := uint64(key) | uint64(key)<<32
		// Whole 64-byte blocks through an array pointer: no bounds checks,
		// and eight independent words per step.
		for len(b) >= 64 {
			p := (*[64]byte)(b)
			binary.LittleEndian.PutUint64(p[0:], binary.LittleEndian.Uint64(p[0:])^k)
			binary.LittleEndian.PutUint64(p[8:], binary.LittleEndian.Uint64(p[8:])^k)
			binary.LittleEndian.PutUint64(p[16:], binary.LittleEndian.Uint64(p[16:])^k)
			binary.LittleEndian.PutUint64(p[24:], binary.LittleEndian.Uint64(p[24:])^k)
			binary.LittleEndian.PutUint64(p[32:], binary.LittleEndian.Uint64(p[32:])^k)
			binary.LittleEndian.PutUint64(p[40:], binary.LittleEndian.Uint64(p[40:])^k)
			binary.LittleEndian.PutUint64(p[48:], binary.LittleEndian.Uint64(p[48:])^k)
			binary.LittleEndian.PutUint64(p[56:], binary.LittleEndian.Uint64(p[56:])^k)
			b = b[64:]
		}
		for len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
			b = b[8:]
		}
	}
	for i := range b {
		b[i] ^= byte(key)
		key = key>>8 | key<<24
	}
	return key
}

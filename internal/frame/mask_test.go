package frame

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"strconv"
	"testing"
)

// TestRFC6455_5_3_MaskMatchesNaive: Mask agrees with the RFC's byte-by-byte
// definition for every length 0..200, at every key phase, and returns the
// key rotated for the next byte.
func TestRFC6455_5_3_MaskMatchesNaive(t *testing.T) {
	key := testKey
	k32 := binary.LittleEndian.Uint32(key[:])
	for n := 0; n <= 200; n++ {
		p := pattern(n)
		for off := range 4 {
			got := bytes.Clone(p)
			next := Mask(rotateKey(k32, off), got)
			if want := maskNaive(key, off, p); !bytes.Equal(got, want) {
				t.Fatalf("length %d offset %d: got % x, want % x", n, off, got, want)
			}
			if want := rotateKey(k32, off+n); next != want {
				t.Fatalf("length %d offset %d: returned key %#x, want %#x", n, off, next, want)
			}
		}
	}
}

// TestRFC6455_5_3_MaskPieces: masking a payload in pieces, resuming with the
// returned key, equals masking it whole, for every split of every length
// up to 200 and three-way splits of a longer payload.
func TestRFC6455_5_3_MaskPieces(t *testing.T) {
	k32 := binary.LittleEndian.Uint32(testKey[:])
	for n := 0; n <= 200; n++ {
		p := pattern(n)
		want := maskNaive(testKey, 0, p)
		for i := 0; i <= n; i++ {
			got := bytes.Clone(p)
			k := Mask(k32, got[:i])
			Mask(k, got[i:])
			if !bytes.Equal(got, want) {
				t.Fatalf("length %d split at %d: got % x, want % x", n, i, got, want)
			}
		}
	}
	p := pattern(1000)
	want := maskNaive(testKey, 0, p)
	for i := 0; i < 200; i += 7 {
		for j := i; j < 1000; j += 131 {
			got := bytes.Clone(p)
			k := Mask(k32, got[:i])
			k = Mask(k, got[i:j])
			Mask(k, got[j:])
			if !bytes.Equal(got, want) {
				t.Fatalf("splits %d,%d differ", i, j)
			}
		}
	}
}

// TestMask_Involution: masking twice restores the payload.
func TestMask_Involution(t *testing.T) {
	p := pattern(4099)
	got := bytes.Clone(p)
	Mask(0x12345678, got)
	if bytes.Equal(got, p) {
		t.Fatal("mask left the payload as it was")
	}
	Mask(0x12345678, got)
	if !bytes.Equal(got, p) {
		t.Fatal("mask is not its own inverse")
	}
}

func BenchmarkMask(b *testing.B) {
	for _, n := range []int{16, 1024, 64 << 10} {
		p := make([]byte, n)
		b.Run(byteSize(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				Mask(0xdeadbeef, p)
			}
		})
	}
}

func byteSize(n int) string {
	if n >= 1<<10 && n%(1<<10) == 0 {
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}

// testKey is a mask key whose bytes differ, so that a key applied at the
// wrong phase shows.
var testKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// rotateKey returns the mask key shifted so that masking resumes n bytes
// into a payload.
func rotateKey(key uint32, n int) uint32 {
	return bits.RotateLeft32(key, -8*(n&3))
}

// maskNaive masks p as RFC 6455 section 5.3 states it, byte by byte, from
// byte off of the key.
func maskNaive(key [4]byte, off int, p []byte) []byte {
	out := make([]byte, len(p))
	for i := range p {
		out[i] = p[i] ^ key[(off+i)%4]
	}
	return out
}

// pattern returns n bytes of a recognizable pattern.
func pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*31 + i>>8)
	}
	return p
}

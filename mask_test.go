package wss

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"testing"
)

// TestMask_5_3_MatchesNaive: mask agrees with the RFC's byte-by-byte
// definition for every length 0..200, at every key phase, and returns the
// key rotated for the next byte.
func TestMask_5_3_MatchesNaive(t *testing.T) {
	key := testKey
	k32 := binary.LittleEndian.Uint32(key[:])
	for n := 0; n <= 200; n++ {
		p := payloadOf(n, false)
		for off := range 4 {
			got := bytes.Clone(p)
			next := mask(rotateKey(k32, off), got)
			if want := maskNaive(key, off, p); !bytes.Equal(got, want) {
				t.Fatalf("length %d offset %d: got % x, want % x", n, off, got, want)
			}
			if want := rotateKey(k32, off+n); next != want {
				t.Fatalf("length %d offset %d: returned key %#x, want %#x", n, off, next, want)
			}
		}
	}
}

// TestMask_5_3_Pieces: masking a payload in pieces, resuming with the
// returned key, equals masking it whole, for every split of every length
// up to 200 and three-way splits of a longer payload.
func TestMask_5_3_Pieces(t *testing.T) {
	k32 := binary.LittleEndian.Uint32(testKey[:])
	for n := 0; n <= 200; n++ {
		p := payloadOf(n, false)
		want := maskNaive(testKey, 0, p)
		for i := 0; i <= n; i++ {
			got := bytes.Clone(p)
			k := mask(k32, got[:i])
			mask(k, got[i:])
			if !bytes.Equal(got, want) {
				t.Fatalf("length %d split at %d: got % x, want % x", n, i, got, want)
			}
		}
	}
	p := payloadOf(1000, false)
	want := maskNaive(testKey, 0, p)
	for i := 0; i < 200; i += 7 {
		for j := i; j < 1000; j += 131 {
			got := bytes.Clone(p)
			k := mask(k32, got[:i])
			k = mask(k, got[i:j])
			mask(k, got[j:])
			if !bytes.Equal(got, want) {
				t.Fatalf("splits %d,%d differ", i, j)
			}
		}
	}
}

// TestMask_Involution: masking twice restores the payload.
func TestMask_Involution(t *testing.T) {
	p := payloadOf(4099, false)
	got := bytes.Clone(p)
	mask(0x12345678, got)
	if bytes.Equal(got, p) {
		t.Fatal("mask left the payload as it was")
	}
	mask(0x12345678, got)
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
				mask(0xdeadbeef, p)
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

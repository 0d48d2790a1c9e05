package wss

import "testing"

// TestBufferPoolSizes takes and returns buffers at each edge of the pooled
// sizes, 0 included: each is large enough, pooled by the power of two at
// or above its size, and any capacity goes back without harm.
func TestBufferPoolSizes(t *testing.T) {
	tests := []struct {
		n, wantCap int
	}{
		{0, 512}, {1, 512}, {511, 512}, {512, 512}, {513, 1024},
		{1<<maxPoolShift - 1, 1 << maxPoolShift}, {1 << maxPoolShift, 1 << maxPoolShift},
		{1<<maxPoolShift + 1, 1<<maxPoolShift + 1}, // not pooled: exactly n
	}
	for _, tt := range tests {
		b := getBuf(tt.n)
		if len(*b) != 0 || cap(*b) != tt.wantCap {
			t.Errorf("getBuf(%d): len %d cap %d, want 0 and %d", tt.n, len(*b), cap(*b), tt.wantCap)
		}
		putBuf(b)
	}
	for _, c := range []int{0, 1, 3, 511, 513, 1 << 23} { // capacities no pool holds
		b := make([]byte, 0, c)
		putBuf(&b)
	}
}

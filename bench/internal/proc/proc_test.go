package proc

import (
	"os"
	"testing"
)

func TestSelf(t *testing.T) {
	// Burn enough CPU to cross a 10 ms tick.
	var x uint64
	for i := range uint64(50_000_000) {
		x += i * i
	}
	_ = x
	if d, err := CPUTime(os.Getpid()); err != nil || d <= 0 {
		t.Errorf("CPUTime = %v, %v; want > 0", d, err)
	}
	if n, err := RSS(os.Getpid()); err != nil || n < 1<<20 {
		t.Errorf("RSS = %d, %v; want at least 1 MiB", n, err)
	}
}

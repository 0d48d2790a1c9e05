package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wssgo/wss/internal/wstest"
)

// TestMeasureIdleRSS measures the memory of an idle chat node (a child
// process, embedded NATS server with its file store) 30 s after one
// writer filled 2,000 rooms with a message each and 10 rooms with 17
// images of 1 MiB (170 MiB), then left. It runs only when asked:
//
//	CHAT_MEASURE_RSS=1 go test -run TestMeasureIdleRSS -v ./cmd/chat
func TestMeasureIdleRSS(t *testing.T) {
	if os.Getenv("CHAT_MEASURE_RSS") == "" {
		t.Skip("a measurement: set CHAT_MEASURE_RSS=1")
	}
	p := startNodeProcess(t, childConfig{Data: t.TempDir(), Generous: true, MaxMessage: 1 << 20})
	c := dialChat(t, p.server())
	for i := range 2000 {
		c.join("ann", fmt.Sprintf("r%d", i))
		c.sayAll("m", i, 1)
	}
	img := pngImage(t, 64, 64)
	img = append(img, make([]byte, 1<<20-len(img))...)
	for r := range 10 {
		c.join("ann", fmt.Sprintf("pics%d", r))
		for range 17 {
			c.cl.Write(wstest.OpBinary, img)
			for {
				if _, got := c.next(); got != nil {
					break
				}
			}
		}
	}
	t.Logf("after the writes: %s", memOf(t, p.cmd.Process.Pid))
	c.cl.SendClose(1000)
	time.Sleep(30 * time.Second) // the measurement is of an idle server 30 s on
	t.Logf("30 s after the writer left: %s", memOf(t, p.cmd.Process.Pid))

}

func memOf(t *testing.T, pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS") || strings.HasPrefix(l, "VmHWM") {
			out = append(out, strings.Join(strings.Fields(l), " "))
		}
	}
	return strings.Join(out, ", ")
}

package main

import (
	"slices"
	"strings"
	"testing"
)

func TestRatios(t *testing.T) {
	servers := []server{{name: "floor"}, {name: "wss"}, {name: "a", rival: true}, {name: "b", rival: true}, {name: "c"}}
	var samples []sample
	add := func(name string, rate, cpu float64, err string) {
		samples = append(samples, sample{Server: name, Scenario: "echo64", MsgsPerSec: rate, CPUPerMsg: cpu, CPUSeconds: 1, Err: err})
	}
	add("floor", 100, 10, "")
	samples = append(samples, sample{Server: "c", Scenario: "echo64", MsgsPerSec: 1, CPUPerMsg: 50, CPUSeconds: 0.1})
	add("wss", 50, 20, "")
	add("wss", 70, 30, "")
	add("wss", 60, 25, "")
	add("a", 40, 40, "")
	add("b", 30, 35, "")
	add("b", 0, 0, "server exited")
	r := &report{servers: servers, samples: samples}
	for _, c := range []struct {
		server string
		col    column
		want   string
	}{
		{"wss", column{header: "msg/s", scenarios: []string{"echo64"}, metric: msgsPerSec}, "60 (f ×0.60, r ×1.50)"},   // median 60; best rival a: 40
		{"wss", column{header: "cpu", scenarios: []string{"echo64"}, metric: cpuPerMsg}, "25.0 µs (f ×2.50, r ×0.71)"}, // best rival b: 35
		{"floor", column{header: "cpu", scenarios: []string{"echo64"}, metric: cpuPerMsg}, "10.0 µs (r ×0.29)"},
		{"b", column{header: "cpu", scenarios: []string{"echo64"}, metric: cpuPerMsg}, "35.0 µs† (f ×3.50, r ×1.00)"},
		{"c", column{header: "cpu", scenarios: []string{"echo64"}, metric: cpuPerMsg}, "~50.0 µs (f ×5.00, r ×1.43)"}, // 0.1 s of CPU: coarse
	} {
		i := slices.IndexFunc(servers, func(s server) bool { return s.name == c.server })
		got := r.cellText(servers[i], c.col)
		if !strings.HasPrefix(got, c.want) {
			t.Errorf("%s %s = %q, want %q", c.server, c.col.header, got, c.want)
		}
	}
}

func TestFmtCount(t *testing.T) {
	for n, want := range map[int]string{7: "7", 1000: "1,000", 19000: "19,000", 1234567: "1,234,567"} {
		if got := fmtCount(n); got != want {
			t.Errorf("fmtCount(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestSlowReaderColumnDividesByTheBaseline(t *testing.T) {
	samples := []sample{
		{Server: "wss", Scenario: "slow0", P99Micros: 2000},
		{Server: "wss", Scenario: "slow50", P99Micros: 3000},
		{Server: "wss", Scenario: "slow50", P99Micros: 5000},
		{Server: "wss", Scenario: "slow50", P99Micros: 9000},
		{Server: "gws", Scenario: "slow50", P99Micros: 9000},
	}
	servers := []server{{name: "wss"}, {name: "gws", rival: true}}
	r := &report{servers: servers, samples: samples}
	col := column{header: "ratio", scenarios: []string{"slow50"}, metric: p99, base: []string{"slow0"}}
	for _, c := range []struct {
		server server
		want   string
	}{
		{servers[0], "×2.50"}, // median 5000 over 2000
		{servers[1], "–"},     // no baseline measured
	} {
		if got := r.cellText(c.server, col); got != c.want {
			t.Errorf("%s: %q, want %q", c.server.name, got, c.want)
		}
	}
}

// TestFanoutRatios checks that a fan-out cell shows ratios to both fan-out
// floors, that a burst latency of 0 (no burst completed) is not a figure,
// and that a server without a fan-out command has no row.
func TestFanoutRatios(t *testing.T) {
	servers := []server{{name: "floor"}, {name: "fanfloor"}, {name: "fanfloor-batch"}, {name: "wss"}, {name: "u", rival: true}}
	sc := fanoutScenario(1000, 64, 16)
	samples := []sample{
		{Server: "fanfloor", Scenario: sc.key, CPUPerMsg: 2, CPUSeconds: 1, P50Micros: 100},
		{Server: "fanfloor-batch", Scenario: sc.key, CPUPerMsg: 0.5, CPUSeconds: 1, P50Micros: 10},
		{Server: "wss", Scenario: sc.key, CPUPerMsg: 1, CPUSeconds: 1},
		{Server: "u", Scenario: sc.key, CPUPerMsg: 0.4, CPUSeconds: 1, P50Micros: 20},
	}
	r := &report{servers: servers, samples: samples}
	cols := fanoutColumns(sc)
	cpu := cols[slices.IndexFunc(cols, func(c column) bool { return c.header == "server CPU/delivery" })]
	burst := cols[slices.IndexFunc(cols, func(c column) bool { return c.header == "burst p50" })]
	if got, want := r.cellText(servers[3], cpu), "1.00 µs (f ×0.50, b ×2.00, r ×2.50)"; got != want {
		t.Errorf("wss CPU/delivery = %q, want %q", got, want)
	}
	if got, want := r.cellText(servers[3], burst), "–"; got != want {
		t.Errorf("wss burst p50 with no burst completed = %q, want %q", got, want)
	}
	r.table(sc.title, cols)
	if out := r.buf.String(); strings.Contains(out, "| floor |") || !strings.Contains(out, "| fanfloor-batch |") {
		t.Errorf("fan-out table rows:\n%s", out)
	}
}

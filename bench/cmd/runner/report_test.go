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
		{"wss", column{"msg/s", []string{"echo64"}, msgsPerSec}, "60 (f ×0.60, r ×1.50)"},   // median 60; best rival a: 40
		{"wss", column{"cpu", []string{"echo64"}, cpuPerMsg}, "25.0 µs (f ×2.50, r ×0.71)"}, // best rival b: 35
		{"floor", column{"cpu", []string{"echo64"}, cpuPerMsg}, "10.0 µs (r ×0.29)"},
		{"b", column{"cpu", []string{"echo64"}, cpuPerMsg}, "35.0 µs† (f ×3.50, r ×1.00)"},
		{"c", column{"cpu", []string{"echo64"}, cpuPerMsg}, "~50.0 µs (f ×5.00, r ×1.43)"}, // 0.1 s of CPU: coarse
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

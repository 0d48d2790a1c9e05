package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// metric is one figure of a sample.
type metric struct {
	value        func(sample) float64
	format       func(float64) string
	higherBetter bool
	ratios       bool              // false for diagnostics, which are not figures of merit
	coarse       func(sample) bool // whether a sample's value is imprecise; nil: never
	zeroMissing  bool              // 0 means not measured (a fan-out window in which no burst completed)
}

// minCPUSeconds is the server CPU time under which CPU/msg is marked coarse:
// /proc/PID/stat counts 10 ms ticks, so 0.5 s is good to ±2 %.
const minCPUSeconds = 0.5

var (
	msgsPerSec = metric{value: func(s sample) float64 { return s.MsgsPerSec }, format: fmtRate, higherBetter: true, ratios: true}
	p50        = metric{value: func(s sample) float64 { return s.P50Micros }, format: fmtMicros, ratios: true, zeroMissing: true}
	p99        = metric{value: func(s sample) float64 { return s.P99Micros }, format: fmtMicros, ratios: true, zeroMissing: true}
	maxLatency = metric{value: func(s sample) float64 { return s.MaxMicros }, format: fmtMicros, ratios: true, zeroMissing: true}
	cpuPerMsg  = metric{value: func(s sample) float64 { return s.CPUPerMsg }, format: fmtMicros, ratios: true,
		coarse: func(s sample) bool { return s.CPUSeconds < minCPUSeconds }}
	serverCPU  = metric{value: func(s sample) float64 { return s.ServerCPU }, format: fmtPct}
	loadgenCPU = metric{value: func(s sample) float64 { return s.LoadgenCPU }, format: fmtPct}
	baseRSS    = metric{value: func(s sample) float64 { return s.BaseRSS }, format: fmtBytes, ratios: true}
	rssPerConn = metric{value: func(s sample) float64 { return s.RSSPerConn }, format: fmtBytes, ratios: true}
)

// column is a table column: a metric over the samples of some scenarios.
// With base set, it shows the server's median over scenarios divided by its
// median over base.
type column struct {
	header    string
	scenarios []string
	metric    metric
	base      []string
	floors    []floorRef // the servers ratios are shown to; nil: the echo floor
}

// floorRef names a server that ratios are shown to, and the ratio's label.
type floorRef struct{ name, label string }

var (
	echoFloor    = []floorRef{{"floor", "f"}}
	fanoutFloors = []floorRef{{"fanfloor", "f"}, {"fanfloor-batch", "b"}}
	serverRSS    = metric{value: func(s sample) float64 { return s.ServerRSS }, format: fmtBytes, ratios: true}
)

// fanoutColumns are the columns of a fan-out cell, with ratios to both
// fan-out floors.
func fanoutColumns(sc scenario) []column {
	key := []string{sc.key}
	return []column{
		{header: "deliveries/s", scenarios: key, metric: msgsPerSec, floors: fanoutFloors},
		{header: "burst p50", scenarios: key, metric: p50, floors: fanoutFloors},
		{header: "burst p99", scenarios: key, metric: p99, floors: fanoutFloors},
		{header: "server CPU/delivery", scenarios: key, metric: cpuPerMsg, floors: fanoutFloors},
		{header: "server RSS", scenarios: key, metric: serverRSS, floors: fanoutFloors},
		{header: "server CPU", scenarios: key, metric: serverCPU},
		{header: "loadgen CPU", scenarios: key, metric: loadgenCPU},
	}
}

// slowColumns are the columns of a slow-reader cell: the latency of the
// echo connections, and beside slow readers, their p99 against the same
// server's without them (the figure the target bounds).
func slowColumns(sc scenario, scs []scenario) []column {
	key := []string{sc.key}
	cols := []column{
		{header: "msg/s", scenarios: key, metric: msgsPerSec},
		{header: "p50", scenarios: key, metric: p50},
		{header: "p99", scenarios: key, metric: p99},
		{header: "max", scenarios: key, metric: maxLatency},
		{header: "server CPU", scenarios: key, metric: serverCPU},
	}
	if slices.ContainsFunc(scs, func(b scenario) bool { return b.key == sc.slowOf }) {
		cols = append(cols, column{header: "p99 ÷ " + sc.slowOf + " p99", scenarios: key, metric: p99, base: []string{sc.slowOf}})
	}
	return cols
}

// cell is the median of a column for one server.
type cell struct {
	value      float64
	ok, failed int // samples that succeeded and failed
	coarse     int // samples whose value is imprecise
}

type report struct {
	servers []server
	samples []sample
	buf     bytes.Buffer
}

// markdown renders the report; load is the machine's load average at the
// start of the run, shown beside the one at its end.
func markdown(o options, load string, servers []server, scs []scenario, samples []sample) string {
	r := &report{servers: servers, samples: samples}
	r.header(o, load)
	var idle []scenario
	for _, sc := range scs {
		if sc.idle {
			idle = append(idle, sc)
			continue
		}
		key := []string{sc.key}
		if sc.slowPeers {
			r.table(sc.title, slowColumns(sc, scs))
			continue
		}
		if sc.fanout {
			r.table(sc.title, fanoutColumns(sc))
			continue
		}
		r.table(sc.title, []column{
			{header: "msg/s", scenarios: key, metric: msgsPerSec},
			{header: "p50", scenarios: key, metric: p50},
			{header: "p99", scenarios: key, metric: p99},
			{header: "server CPU/msg", scenarios: key, metric: cpuPerMsg},
			{header: "server CPU", scenarios: key, metric: serverCPU},
			{header: "loadgen CPU", scenarios: key, metric: loadgenCPU},
		})
	}
	if len(idle) > 0 {
		cols := []column{{header: "RSS at start", scenarios: nil, metric: baseRSS}}
		var counts []string
		for _, sc := range idle {
			cols[0].scenarios = append(cols[0].scenarios, sc.key)
			cols = append(cols, column{header: "RSS/conn @ " + fmtCount(sc.conns), scenarios: []string{sc.key}, metric: rssPerConn})
			counts = append(counts, fmtCount(sc.conns))
		}
		r.table("Idle memory: server RSS growth per connection at "+strings.Join(counts, " and ")+" connections", cols)
	}
	r.failures()
	return r.buf.String()
}

func (r *report) header(o options, load string) {
	fmt.Fprintf(&r.buf, "# wss benchmark\n\n")
	fmt.Fprintf(&r.buf, "`go run ./cmd/runner %s` on %s.\n\n", strings.Join(os.Args[1:], " "), time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&r.buf, "- Machine: %s; %s; Linux %s. Load average (1 min) %s at the start, %s at the end: "+
		"other work on the machine competes with the pinned processes.\n", cpuModel(), runtime.Version(), kernel(), load, loadAverage())
	fmt.Fprintf(&r.buf, "- wss at %s.\n", describe(o.root))
	kind := "binary"
	if o.text {
		kind = "text"
	}
	fmt.Fprintf(&r.buf, "- %d repetition(s), medians shown. Echo and fan-out cells: %v measured after %v of warm-up, %s messages, "+
		"one in flight per connection unless the title says otherwise. Server on CPU %s, load generator on CPU %s.\n",
		o.reps, o.duration, o.warmup, kind, o.serverCPU, o.loadgenCPU)
	fmt.Fprintf(&r.buf, "- Fan-out cells: one publisher, every other connection subscribed to one topic; the publisher sends W messages "+
		"with one write and the next W once every subscriber has all of them (each delivery checked). Burst p50/p99: from a burst's "+
		"send to its last delivery. `f`: fanfloor (one write per delivery); `b`: fanfloor-batch (one write per subscriber for all "+
		"the messages of one read).\n")
	fmt.Fprintf(&r.buf, "- `(f ×a, r ×b)`: the figure divided by the floor's and by the best rival's (the best of %s "+
		"for that figure). Higher msg/s is better; lower is better for everything else. "+
		"Server and loadgen CPU are diagnostics: a loadgen near 100 %% means the generator, not the server, set the pace; "+
		"both far below 100 %% means other work starved the cell, so read CPU/msg rather than msg/s. "+
		"A ~ marks a CPU/msg measured from less than %.1f s of server CPU in some repetition "+
		"(/proc/PID/stat counts 10 ms ticks): coarser than ±2 %%.\n",
		strings.Join(rivalNames(r.servers), ", "), minCPUSeconds)
}

// table writes one Markdown table, a row per server.
func (r *report) table(title string, cols []column) {
	fmt.Fprintf(&r.buf, "\n### %s\n\n| server |", title)
	for _, c := range cols {
		fmt.Fprintf(&r.buf, " %s |", c.header)
	}
	r.buf.WriteString("\n|---|")
	r.buf.WriteString(strings.Repeat("---:|", len(cols)))
	r.buf.WriteString("\n")
	for _, s := range r.servers {
		if !r.ran(s.name, cols) {
			continue // a server without a command for this kind of cell
		}
		fmt.Fprintf(&r.buf, "| %s |", s.name)
		for _, c := range cols {
			fmt.Fprintf(&r.buf, " %s |", r.cellText(s, c))
		}
		r.buf.WriteString("\n")
	}
}

// ran reports whether the server has any sample, failed or not, in the
// scenarios of cols.
func (r *report) ran(server string, cols []column) bool {
	return slices.ContainsFunc(r.samples, func(s sample) bool {
		return s.Server == server && slices.ContainsFunc(cols, func(c column) bool { return slices.Contains(c.scenarios, s.Scenario) })
	})
}

func (r *report) cellText(s server, c column) string {
	v := r.cell(s.name, c)
	if c.base != nil {
		b := r.cell(s.name, column{scenarios: c.base, metric: c.metric})
		if v.ok == 0 || b.ok == 0 || b.value == 0 {
			return "–"
		}
		return fmt.Sprintf("×%.2f", v.value/b.value)
	}
	if v.ok == 0 {
		if v.failed > 0 {
			return "failed"
		}
		return "–"
	}
	text := c.metric.format(v.value)
	if v.coarse > 0 {
		text = "~" + text
	}
	if v.failed > 0 {
		text += "†"
	}
	if !c.metric.ratios {
		return text
	}
	var ratios []string
	floors := c.floors
	if floors == nil {
		floors = echoFloor
	}
	for _, fl := range floors {
		if f := r.cell(fl.name, c); s.name != fl.name && f.ok > 0 && f.value != 0 {
			ratios = append(ratios, fmt.Sprintf("%s ×%.2f", fl.label, v.value/f.value))
		}
	}
	if best, ok := r.bestRival(c); ok && best != 0 {
		ratios = append(ratios, fmt.Sprintf("r ×%.2f", v.value/best))
	}
	if len(ratios) == 0 {
		return text
	}
	return text + " (" + strings.Join(ratios, ", ") + ")"
}

// cell returns the median of column c over the server's successful samples.
func (r *report) cell(server string, c column) cell {
	var vals []float64
	var failed, coarse int
	for _, s := range r.samples {
		if s.Server != server || !slices.Contains(c.scenarios, s.Scenario) {
			continue
		}
		if s.Err != "" {
			failed++
			continue
		}
		v := c.metric.value(s)
		if v == 0 && c.metric.zeroMissing {
			continue
		}
		if c.metric.coarse != nil && c.metric.coarse(s) {
			coarse++
		}
		vals = append(vals, v)
	}
	return cell{value: median(vals), ok: len(vals), failed: failed, coarse: coarse}
}

func (r *report) bestRival(c column) (float64, bool) {
	var best float64
	var found bool
	for _, s := range r.servers {
		v := r.cell(s.name, c)
		if !s.rival || v.ok == 0 {
			continue
		}
		if !found || c.metric.higherBetter == (v.value > best) {
			best, found = v.value, true
		}
	}
	return best, found
}

func (r *report) failures() {
	var lines []string
	for _, s := range r.samples {
		if s.Err != "" {
			first, _, _ := strings.Cut(s.Err, "\n")
			lines = append(lines, fmt.Sprintf("- %s, %s, repetition %d: %s", s.Server, s.Scenario, s.Rep, first))
		}
	}
	if len(lines) > 0 {
		fmt.Fprintf(&r.buf, "\n### Failures\n\n† marks a median over fewer repetitions because of these:\n\n%s\n", strings.Join(lines, "\n"))
	}
}

func rivalNames(servers []server) []string {
	var names []string
	for _, s := range servers {
		if s.rival {
			names = append(names, s.name)
		}
	}
	return names
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Sorted(slices.Values(v))
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func fmtRate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

func fmtMicros(v float64) string {
	switch {
	case v < 10:
		return fmt.Sprintf("%.2f µs", v)
	case v < 100:
		return fmt.Sprintf("%.1f µs", v)
	case v < 1000:
		return fmt.Sprintf("%.0f µs", v)
	case v < 10_000:
		return fmt.Sprintf("%.2f ms", v/1000)
	default:
		return fmt.Sprintf("%.1f ms", v/1000)
	}
}

func fmtPct(v float64) string { return fmt.Sprintf("%.0f %%", v) }

func fmtBytes(v float64) string {
	switch {
	case v < 1<<10:
		return fmt.Sprintf("%.0f B", v)
	case v < 10<<10:
		return fmt.Sprintf("%.2f KiB", v/(1<<10))
	case v < 1<<20:
		return fmt.Sprintf("%.1f KiB", v/(1<<10))
	default:
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	}
}

func fmtCount(n int) string {
	if n < 1000 {
		return fmt.Sprint(n)
	}
	return fmtCount(n/1000) + fmt.Sprintf(",%03d", n%1000)
}

// loadAverage returns the machine's 1-minute load average.
func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for line := range bytes.Lines(b) {
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && string(bytes.TrimSpace(k)) == "model name" {
			return fmt.Sprintf("%d × %s", runtime.NumCPU(), bytes.TrimSpace(v))
		}
	}
	return fmt.Sprintf("%d CPUs", runtime.NumCPU())
}

func kernel() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "?"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// describe names the commit of the wss checkout, marked dirty if it has
// uncommitted changes.
func describe(root string) string {
	out, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty").Output()
	if err != nil {
		return "an unknown commit"
	}
	return "commit " + strings.TrimSpace(string(out))
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/wssgo/wss/bench/internal/result"
)

// fanoutScenario is the cell of subs subscribers of one topic, size-byte
// messages and window messages unacknowledged at once.
func fanoutScenario(subs, size, window int) scenario {
	sizeKey, sizeTitle := strconv.Itoa(size), fmt.Sprintf("%d B", size)
	if size >= 1<<10 {
		sizeKey, sizeTitle = fmt.Sprintf("%dk", size>>10), fmt.Sprintf("%d KiB", size>>10)
	}
	return scenario{
		key:    fmt.Sprintf("fan%dk%sw%d", subs/1000, sizeKey, window),
		title:  fmt.Sprintf("Fan-out, %s subscribers × %s, W=%d", fmtCount(subs), sizeTitle, window),
		conns:  subs,
		size:   size,
		fanout: true,
		window: window,
	}
}

// fanout runs the load generator's fan-out mode for sc: subscribers and the
// publisher in one process, on the load generator's CPU, apart from the
// server's (each process under its own open-file limit).
func (r *runner) fanout(ctx context.Context, sc scenario, addr string, srv *process) (sample, error) {
	argv := []string{r.loadgen, "-fanout", "-addr", addr, "-conns", strconv.Itoa(sc.conns), "-size", strconv.Itoa(sc.size),
		"-window", strconv.Itoa(sc.window), "-duration", r.duration.String(), "-warmup", r.warmup.String(),
		"-pid", strconv.Itoa(srv.pid()), "-setup-timeout", setupTimeout.String()}
	var out bytes.Buffer
	lg, err := start(ctx, r.loadgenCPU, argv, nil, &out)
	if err != nil {
		return sample{}, err
	}
	if err := lg.wait(); err != nil {
		return sample{}, loadgenFailure(err, lg, srv)
	}
	var res result.Fanout
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return sample{}, fmt.Errorf("loadgen output %q: %w", out.Bytes(), err)
	}
	if res.Deliveries == 0 || res.ServerCPU == 0 {
		return sample{}, fmt.Errorf("nothing measured: %s", out.Bytes())
	}
	return sample{
		MsgsPerSec: res.DeliveriesPerSec,
		P50Micros:  res.P50Micros,
		P99Micros:  res.P99Micros,
		CPUPerMsg:  res.ServerCPU / float64(res.Deliveries) * 1e6,
		CPUSeconds: res.ServerCPU,
		ServerCPU:  res.ServerCPU / res.Seconds * 100,
		LoadgenCPU: res.LoadgenCPU / res.Seconds * 100,
		ServerRSS:  float64(res.ServerRSS),
	}, nil
}

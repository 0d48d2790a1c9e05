#!/bin/sh
# slowreaders.sh ECHO MODE SLOW PORT: one cell, server on CPU 0, loadgen(s) on CPU 1;
# the slow readers run in a loadgen process of their own.
ECHO=$1 MODE=$2 SLOW=$3 PORT=$4
taskset -c 0 $ECHO -addr 127.0.0.1:$PORT -dispatcher $MODE 2>/dev/null &
SP=$!
sleep 0.3
if [ "$SLOW" -gt 0 ]; then
  taskset -c 1 ${LOADGEN:-./loadgen} -addr 127.0.0.1:$PORT -conns 0 -slow $SLOW -src 127.0.0.9 -warmup 0s -duration 30s >/dev/null 2>&1 &
  LP=$!
  sleep 0.2
fi
taskset -c 1 ${LOADGEN:-./loadgen} -addr 127.0.0.1:$PORT -conns 10 -size 64 -warmup ${WARMUP:-0s} -duration ${DUR:-4s} -pid $SP | python3 -c 'import json,sys; r=json.load(sys.stdin); print("msgs/s %.0f p50 %.0fus p99 %.0fus max %.0fus srvcpu %.2fs" % (r["msgs_per_sec"], r["p50_us"], r["p99_us"], r["max_us"], r["server_cpu_s"]))'
[ -n "$LP" ] && kill $LP
kill $SP; wait 2>/dev/null

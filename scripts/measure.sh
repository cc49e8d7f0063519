#!/usr/bin/env bash
# Collects the figures for docs/BENCHMARKS.md. Output: /tmp/measure.out
# Usage: cargo build --release; scripts/measure.sh [OUT]. The fault-cost part needs two builds,
# es-nofaults (commit dcfe442) and es-faults (31f8f3f), in $ES_DIR; it is skipped without them.
set -u
cd "$(dirname "$0")/.."
B=target/release/exchange-sim
CFG=examples/bench.json
out=${1:-/tmp/measure.out}
: > $out
j() { tail -1 | python3 -c "import json,sys; d=json.load(sys.stdin); print(json.dumps({k:d[k] for k in d if k in sys.argv[1].split(',')}))" "$1"; }
start() { $B --port $1 --config ${2:-$CFG} > /dev/null 2>&1 & sleep 1; }
stop() { pkill -f "port $1" ; sleep 0.5; }
echo "## engine" >> $out
for i in 1 2 3; do $B bench engine --orders 2000000 --json | j ops_per_sec,p50_ns,p99_ns,p999_ns,max_ns >> $out; done
echo "## echo roundtrip" >> $out
for i in 1 2 3; do $B bench echo --duration 5 --json 2>/dev/null | j orders_per_s,p50_us,p99_us,p999_us,max_us >> $out; done
echo "## server roundtrip (ioc)" >> $out
start 18901
for i in 1 2 3; do $B bench roundtrip --url ws://127.0.0.1:18901/ws --duration 5 --tif ioc --json 2>/dev/null | j orders_per_s,p50_us,p99_us,p999_us,max_us >> $out; done
stop 18901
echo "## echo pipeline 100" >> $out
for i in 1 2; do $B bench echo --pipeline --connections 100 --duration 5 --json 2>/dev/null | j orders_per_s,p50_us,p99_us >> $out; done
echo "## server pipeline 100 (client 1 thread, then 2)" >> $out
start 18902
for t in 1 2; do for i in 1 2; do echo "threads=$t" >> $out; $B bench pipeline --url ws://127.0.0.1:18902/ws --connections 100 --duration 5 --threads $t --json 2>/dev/null | j orders_per_s,p50_us,p99_us >> $out; done; done
stop 18902
echo "## connections 10000" >> $out
start 18903
$B bench connections --url ws://127.0.0.1:18903/ws --connections 10000 --duration 5 --json 2>/dev/null | tail -1 >> $out
stop 18903
echo "## fanout 1000 subscribers, client 2 threads" >> $out
start 18904
for i in 1 2; do $B bench fanout --url ws://127.0.0.1:18904/ws --subscribers 1000 --duration 5 --threads 2 --json 2>/dev/null | tail -1 >> $out; done
stop 18904
[ -x "${ES_DIR:-/tmp}/es-nofaults" ] || { echo DONE >> $out; exit 0; }
echo "## fault layer off: before/after the layer (pipeline 100, client 1 thread)" >> $out
for i in 1 2 3; do for b in nofaults faults; do p=$((18910+i)); ${ES_DIR:-/tmp}/es-$b --port $p --config $CFG > /dev/null 2>&1 & sleep 1; echo "$b" >> $out; $B bench pipeline --url ws://127.0.0.1:$p/ws --connections 100 --duration 5 --json 2>/dev/null | j orders_per_s,p50_us >> $out; pkill -f "es-$b --port $p"; sleep 0.5; done; done
echo "DONE" >> $out

#!/usr/bin/env bash
# Compares server builds on the pipelined-orders benchmark, interleaved so that the host's drift
# (figures on these shared VMs move by 1.5x within an hour) falls on every build alike.
#
# Usage: scripts/ab.sh ROUNDS SERVER_BINARY... ; CLIENT=path picks the load generator's binary
# (default: the first server binary), so that every build is driven by the same client.
#
# Per run it prints the build, orders/s, and the CPU each order cost: the server's (user + system
# time from /proc/PID/stat over the run, divided by the orders answered) and the client's (from
# /usr/bin/time). CPU per order is far steadier than the rate: it does not depend on how the host
# shares its cores at that moment. Then the medians per build.
set -u
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian: apt-get install time)"; exit 1; }
rounds=$1
shift
client=${CLIENT:-$1}
config="$(dirname "$0")/../examples/bench.json"
results=$(mktemp)
port=19300
for _ in $(seq "$rounds"); do
    for server in "$@"; do
        port=$((port + 1))
        "$server" --port $port --config "$config" > /dev/null 2>&1 &
        pid=$!
        for _ in $(seq 50); do
            python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/api/v1/health', timeout=1)" 2> /dev/null && break
            sleep 0.1
        done
        before=$(awk '{print $14 + $15}' /proc/$pid/stat)
        /usr/bin/time -f "%U %S" -o "$results.time" "$client" bench pipeline \
            --url ws://127.0.0.1:$port/ws --connections 100 --duration 5 --json 2> /dev/null |
            tail -1 > "$results.json"
        after=$(awk '{print $14 + $15}' /proc/$pid/stat)
        kill $pid
        wait $pid 2> /dev/null
        python3 - "$server" "$before" "$after" "$results.json" "$results.time" << 'EOF' | tee -a "$results"
import json, os, sys
server, before, after, report, times = sys.argv[1:]
d = json.load(open(report))
n = max(1, d["completed"])
tick = os.sysconf("SC_CLK_TCK")
# The last line: GNU time puts "Command exited with non-zero status N" first when it fails.
client = sum(float(x) for x in open(times).read().splitlines()[-1].split()[:2])
print(server, int(d["orders_per_s"]), round((int(after) - int(before)) / tick / n * 1e6, 2),
      round(client / n * 1e6, 2))
EOF
    done
done
python3 - "$results" << 'EOF'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    server, rate, server_us, client_us = line.split()
    runs[server].append((int(rate), float(server_us), float(client_us)))
for server, r in runs.items():
    print(f"{server}: median {statistics.median(x[0] for x in r):,.0f} orders/s, "
          f"server {statistics.median(x[1] for x in r)} us/order, "
          f"client {statistics.median(x[2] for x in r)} us/order, runs {sorted(x[0] for x in r)}")
EOF
rm -f "$results" "$results.json" "$results.time"

"""The market's cost: CPU of the server and its engine thread, and orders/s (docs/BENCHMARKS.md).

Usage: cargo build --release; pip install websockets; python3 scripts/market_measure.py
"""
import asyncio, json, os, subprocess, sys, time, websockets

B = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "release", "exchange-sim")

def thread_cpu(pid):
    total, engine = 0, 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = open(f"/proc/{pid}/task/{tid}/stat").read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1: stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        t = int(fields[11]) + int(fields[12])
        total += t
        if name == "engine":
            engine += t
    return total, engine

async def last_order_id(url):
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "PLACE_ORDER", "request_id": 1, "symbol": "BTC/USD", "side": "BUY",
                                  "order_type": "LIMIT", "price": "1000", "quantity": "0.001"}))
        while True:
            m = json.loads(await ws.recv())
            if m.get("request_id") == 1:
                return int(m["order_id"])

async def measure(label, config, port, seconds=10):
    path = f"/tmp/market-{port}.json"
    open(path, "w").write(json.dumps(config))
    p = subprocess.Popen([B, "--port", str(port), "--config", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(3)
    url = f"ws://127.0.0.1:{port}/ws"
    o0 = await last_order_id(url); c0 = thread_cpu(p.pid); t0 = time.time()
    await asyncio.sleep(seconds)
    o1 = await last_order_id(url); c1 = thread_cpu(p.pid); t1 = time.time()
    hz = os.sysconf("SC_CLK_TCK")
    dt = t1 - t0
    print(f"{label}: {(o1-o0)/dt:.0f} orders/s; process {100*(c1[0]-c0[0])/hz/dt:.1f}% of a core, engine thread {100*(c1[1]-c0[1])/hz/dt:.1f}%")
    p.terminate(); p.wait()

async def main():
    await measure("default market", {}, 18950)
    await measure("taker flow 25000/s per symbol (2 symbols)",
                  {"server": {"limits": {"max_messages_per_second": 1000000}},
                   "exchange": {"tick_interval": 0.05,
                                "market_makers": {"levels": 50, "size": "50"},
                                "taker_flow": {"rate_per_s": 25000}}}, 18951)

asyncio.run(main())

#!/usr/bin/env python3
"""The original simulator's documented REST flow, as its clients run it, against a running
exchange-simulator: health, ticker, an order placed, read, listed and cancelled in a session,
balance, position, price history. Standard library only.

    python3 examples/original_rest_flow.py [http://127.0.0.1:8765]

Prints each step and PASS (exit code 0), or FAIL with the reason (exit code 1).
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request

BASE = (sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8765").rstrip("/")
SESSION = {"X-Session-ID": "original-flow"}


def call(method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", **SESSION}
    request = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read() or b"{}")


def check(condition: bool, what: str, detail: object = "") -> None:
    if not condition:
        print(f"FAIL: {what} {detail}")
        sys.exit(1)
    print(f"ok   {what}")


def main() -> None:
    status, health = call("GET", "/health")
    check(status == 200 and health.get("status") == "ok", "GET /health", health)

    status, ticker = call("GET", "/api/v1/ticker?symbol=BTC/USD")
    check(status == 200 and "last_price" in ticker, "GET /api/v1/ticker has last_price", ticker)

    order = {"symbol": "BTC/USD", "side": "BUY", "type": "LIMIT", "price": "1000.00",
             "quantity": "0.01", "time_in_force": "GTC"}
    status, placed = call("POST", "/api/v1/orders", order)
    check(status == 201 and placed.get("status") == "OPEN", "POST /api/v1/orders", placed)
    order_id = placed["order_id"]

    status, got = call("GET", f"/api/v1/orders/{order_id}")
    check(status == 200 and got.get("type") == "LIMIT", "GET /api/v1/orders/{id}", got)

    status, listed = call("GET", "/api/v1/orders?symbol=BTC/USD&status=OPEN")
    ids = [o["order_id"] for o in listed.get("orders", [])]
    check(status == 200 and order_id in ids, "GET /api/v1/orders", listed)

    status, balance = call("GET", "/api/v1/balance")
    check(status == 200 and "USD" in balance.get("balances", {}), "GET /api/v1/balance", balance)

    status, position = call("GET", "/api/v1/position?symbol=BTC/USD")
    check(status == 200 and position.get("asset") == "BTC", "GET /api/v1/position", position)

    status, cancelled = call("DELETE", f"/api/v1/orders/{order_id}")
    check(status == 200 and cancelled.get("status") == "cancelled", "DELETE /api/v1/orders/{id}",
          cancelled)

    deadline = time.monotonic() + 10
    while True:
        status, prices = call("GET", "/api/v1/prices?symbol=BTC/USD&limit=10")
        if status == 200 and prices.get("prices"):
            break
        check(time.monotonic() < deadline, "GET /api/v1/prices fills", prices)
        time.sleep(0.2)
    check({"timestamp", "price", "bid", "ask"} <= set(prices["prices"][0]), "GET /api/v1/prices",
          prices["prices"][0])
    print("PASS")


if __name__ == "__main__":
    try:
        main()
    except (urllib.error.URLError, OSError) as unreachable:
        print(f"FAIL: cannot reach {BASE}: {unreachable} (start the server with `exchange-sim`)")
        sys.exit(1)

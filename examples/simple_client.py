#!/usr/bin/env python3
"""The original simulator's flow against exchange-simulator: ping, subscribe to trades, place an
order, match it from a second connection, cancel what is left.

    pip install websockets
    python3 examples/simple_client.py [ws://127.0.0.1:8765/ws]

Exits 0 when every step got the answer it expects, 1 otherwise (CI runs it as a smoke test).
"""

import asyncio
import json
import sys

import websockets

URL = sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:8765/ws"
TIMEOUT_S = 10


async def request(ws, message):
    """Sends a request and returns the frame that echoes its request_id, printing the rest."""
    await ws.send(json.dumps(message))
    print(f"> {message}")
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S))
        if frame.get("request_id") == message["request_id"]:
            print(f"< {frame}")
            return frame
        print(f"  (meanwhile) {frame['type']}")


async def next_of_type(ws, wanted):
    """Reads frames until one of type `wanted`."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S))
        if frame["type"] == wanted:
            print(f"< {frame}")
            return frame


def expect(condition, what):
    if not condition:
        print(f"FAILED: {what}")
        sys.exit(1)


async def main():
    # Each connection without LOGIN gets its own account with the default balance.
    async with websockets.connect(URL) as maker, websockets.connect(URL) as taker:
        pong = await request(maker, {"type": "PING", "request_id": "PING1"})
        expect(pong["type"] == "PONG", "PING is answered with PONG")

        sub = await request(
            maker, {"type": "SUBSCRIBE", "channel": "TRADES", "symbol": "BTC/USD", "request_id": "SUB1"}
        )
        expect(sub["type"] == "SUBSCRIBED", "SUBSCRIBE is acknowledged")

        # Bid one tick above the best bid (or at 1000 on an empty book), so that ours is the
        # best bid even when the synthetic market makers quote: the sell below then meets it first.
        book = await request(maker, {"type": "GET_ORDERBOOK", "symbol": "BTC/USD", "depth": 1,
                                     "request_id": "BOOK1"})
        bids = book["bids"]
        price = f"{float(bids[0]['price']) + 0.01:.2f}" if bids else "1000.00"
        buy = await request(
            maker,
            {"type": "PLACE_ORDER", "request_id": "ORDER1", "symbol": "BTC/USD", "side": "BUY",
             "order_type": "LIMIT", "price": price, "quantity": "0.5"},
        )
        expect(buy["type"] == "ORDER_ACK", "the buy is accepted")
        order_id = buy["order_id"]

        sell = await request(
            taker,
            {"type": "PLACE_ORDER", "request_id": "ORDER2", "symbol": "BTC/USD", "side": "SELL",
             "order_type": "LIMIT", "price": price, "quantity": "0.2", "time_in_force": "IOC"},
        )
        expect(sell["type"] == "ORDER_ACK", "the sell is accepted")

        fill = await next_of_type(maker, "ORDER_FILL")
        expect(fill["order_id"] == order_id and fill["price"] == price, "the buy is filled")
        trade = await next_of_type(maker, "TRADE")
        while trade["price"] != price:  # the synthetic market trades too
            trade = await next_of_type(maker, "TRADE")
        expect(trade["taker_side"] == "SELL", "the trade prints on TRADES")

        cancel = await request(maker, {"type": "CANCEL_ORDER", "request_id": "CANCEL1", "order_id": order_id})
        expect(cancel["type"] == "ORDER_CANCEL" and cancel["status"] == "CANCELLED",
               "the rest of the buy is cancelled")
        print("Client session complete")


if __name__ == "__main__":
    asyncio.run(main())

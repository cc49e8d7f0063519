#!/usr/bin/env python3
"""A trading client that survives an unreliable exchange, and shows how to write one.

    pip install websockets
    python3 examples/resilient_client.py --url ws://127.0.0.1:8765/ws --account alice --api-key KEY

It logs in with cancel-on-disconnect, places a seeded list of intended orders (each exactly once),
cancels some, and keeps a view of its orders, fills, balances and the BTC/USD book. Everything it
knows comes from the event streams, so it must notice what the network did to them:

- `seq` (per connection, every frame): a gap is a lost frame, a repeat a duplicate, a step back a
  reordering. Counted; the account stream below is what makes them harmless.
- `account_seq` (per account, every private event): events are applied strictly in this order,
  exactly once. Anything at or below the last applied is a duplicate (or a fabricated fill) and is
  ignored; anything ahead waits for the events before it. A gap that does not fill in soon is
  repaired by reconnecting and RESUME-ing from the last applied event; if the server no longer
  holds that far back (RESUME_GAP), the view is rebuilt from GET_ORDERS, GET_BALANCE, GET_FILLS.
- The book: snapshot plus deltas whose `prev_sequence` must be the last applied `sequence`, and
  whose `checksum` must match; otherwise (or on STREAM_RESET) it subscribes again for a fresh one.
- Trades: `trade_id` on the TRADES channel is gap-free per symbol; a jump is counted as lost trades
  (GET /api/v1/trades has them if they matter), a repeat as a duplicate.
- Orders: a PLACE_ORDER whose answer was lost (timeout, disconnect) is never sent again blindly:
  the client reconnects and resumes (which shows every order the exchange took, since events of
  the old connection come before the new one's RESUME), and only places again if the order is
  still unknown. After UNKNOWN_OUTCOME it asks GET_ORDER with the `client_order_id`: found, the
  order stands; not found, it was never taken. EXCHANGE_BUSY, EXCHANGE_UNAVAILABLE and
  RATE_LIMITED mean the order never reached the engine, so it is retried after a back-off.
- Reconnects and retries back off exponentially (100 ms doubling to 5 s) with jitter, so that a
  crowd of clients does not hammer a recovering exchange in step.

With --no-recovery it trusts every frame as it comes: the test in tests/resilient_client.rs shows
that its view then drifts from the exchange's truth under faults, and that with recovery it does
not. When trading is done it prints TRADING_DONE, waits for a line on stdin (the test turns the
faults off meanwhile), settles, and prints its final view as one JSON line.
"""

import argparse
import asyncio
import json
import random
import sys
import zlib

import websockets

SYMBOL = "BTC/USD"
WORKING = {"PENDING", "OPEN", "PARTIALLY_FILLED"}
ANSWER_TIMEOUT_S = 1.0
GAP_PATIENCE_S = 0.5
NOT_EXECUTED = {"EXCHANGE_BUSY", "EXCHANGE_UNAVAILABLE", "RATE_LIMITED"}


class Backoff:
    """Waits 100 ms, then twice as long each time up to a cap, each wait a random 50-100% of it."""

    def __init__(self, rng, first=0.1, cap=5.0):
        self.rng, self.delay, self.cap = rng, first, cap

    async def wait(self):
        await asyncio.sleep(self.delay * self.rng.uniform(0.5, 1.0))
        self.delay = min(self.delay * 2, self.cap)


class Reconnect(Exception):
    """The connection must be replaced (lost, or deliberately dropped to resynchronise)."""


class Book:
    """An L2 book kept from a snapshot and deltas, with the wire's own strings."""

    def __init__(self):
        self.bids, self.asks, self.sequence = {}, {}, None

    def load(self, snap):
        self.bids, self.asks = {}, {}
        self._apply(snap)
        self.sequence = snap["sequence"]
        return self.checksum() == snap["checksum"]

    def update(self, delta):
        """False when the delta does not follow (gap) or the result does not match (checksum)."""
        if self.sequence is None or delta["prev_sequence"] != self.sequence:
            return False
        self._apply(delta)
        self.sequence = delta["sequence"]
        return self.checksum() == delta["checksum"]

    def _apply(self, msg):
        for side, levels in (("bids", self.bids), ("asks", self.asks)):
            for level in msg[side]:
                if float(level["quantity"]) == 0:
                    levels.pop(level["price"], None)
                else:
                    levels[level["price"]] = level["quantity"]

    def sorted_side(self, side):
        levels = self.bids if side == "bids" else self.asks
        return sorted(levels.items(), key=lambda pq: float(pq[0]), reverse=(side == "bids"))

    def checksum(self):
        parts = [f"{p}:{q}" for p, q in self.sorted_side("asks")[:10]]
        parts += [f"{p}:{q}" for p, q in self.sorted_side("bids")[:10]]
        return zlib.crc32("|".join(parts).encode())

    def top(self):
        bids, asks = self.sorted_side("bids"), self.sorted_side("asks")
        return {"bid": list(bids[0]) if bids else None, "ask": list(asks[0]) if asks else None}


class ResilientClient:
    def __init__(self, args):
        self.args = args
        self.recovery = not args.no_recovery
        self.rng = random.Random(args.seed)  # the plan
        self.jitter = random.Random(args.seed + 1)  # back-off waits, apart from the plan
        self.last_trade_id = None
        # The exchange as this client sees it.
        self.orders = {}  # order_id -> {"coid", "status", "remaining"}
        self.fills = {}  # fill_id -> [price, quantity]
        self.fill_count = 0  # fills applied, duplicates included when recovery is off
        self.balances = {}  # asset -> [total, available, locked]
        self.book = Book()
        self.applied_seq = 0
        self.applied = {}  # account_seq -> what was applied there, to spot a conflicting copy
        self.pending = {}  # account_seq -> event, waiting for the ones before it
        self.gap_since = None
        # The connection.
        self.ws = None
        self.last_frame_seq = 0
        self.resume_token = None
        self.answers = {}  # request_id -> future
        self.next_request = 0
        self.conflict = False
        self.stats = {k: 0 for k in ("lost_frames", "duplicate_frames", "reordered_frames",
                                     "corrupt_frames", "duplicate_events", "gap_repairs",
                                     "conflicts", "rebuilds", "book_resyncs", "reconnects",
                                     "retries", "reconciled", "lost_trades",
                                     "duplicate_trades")}

    # ----- connection ------------------------------------------------------------------------

    async def connect(self):
        """Opens a connection and binds it: LOGIN the first time, RESUME after that."""
        backoff = Backoff(self.jitter)
        while True:
            try:
                self.ws = await websockets.connect(self.args.url, max_size=2**22,
                                                   open_timeout=2, close_timeout=0.5)
                break
            except (OSError, websockets.WebSocketException):
                await backoff.wait()
        self.last_frame_seq = 0
        self.reader = asyncio.create_task(self.read_loop())
        if self.resume_token is None or not self.recovery:
            answer = await self.ask({"type": "LOGIN", "account": self.args.account,
                                     "api_key": self.args.api_key, "cancel_on_disconnect": True})
            self.resume_token = answer["resume_token"]
            if self.recovery:
                await self.rebuild()
        else:
            answer = await self.ask({"type": "RESUME", "resume_token": self.resume_token,
                                     "last_account_seq": self.applied_seq,
                                     "cancel_on_disconnect": True})
            if answer["type"] == "ERROR" and answer["code"] == "RESUME_GAP":
                await self.rebuild()
            elif answer["type"] == "ERROR":
                raise Reconnect(answer["code"])
        await self.ask({"type": "SUBSCRIBE", "channel": "HEARTBEAT"})
        await self.ask({"type": "SUBSCRIBE", "channel": "TRADES", "symbol": SYMBOL})
        await self.subscribe_book()

    async def reconnect(self, why):
        """Replaces the connection, as often as it takes."""
        self.stats["reconnects"] += 1
        backoff = Backoff(self.jitter)
        while True:
            for future in self.answers.values():
                future.cancel()
            self.answers.clear()
            if self.ws is not None:
                self.reader.cancel()
                await self.ws.close()
            try:
                await self.connect()
                return
            except (Reconnect, ConnectionError, OSError, websockets.WebSocketException):
                await backoff.wait()

    async def ask(self, request, timeout=ANSWER_TIMEOUT_S):
        """Sends a request and waits for the frame that echoes its request_id."""
        self.next_request += 1
        rid = f"r{self.next_request}"
        future = asyncio.get_running_loop().create_future()
        self.answers[rid] = future
        try:
            await self.ws.send(json.dumps(dict(request, request_id=rid)))
            return await asyncio.wait_for(future, timeout)
        except (asyncio.TimeoutError, websockets.WebSocketException) as e:
            raise Reconnect(f"no answer to {request['type']}") from e
        finally:
            self.answers.pop(rid, None)

    async def read_loop(self):
        try:
            async for text in self.ws:
                self.on_frame(text)
        except websockets.WebSocketException:
            pass
        for future in self.answers.values():
            if not future.done():
                future.set_exception(ConnectionError("connection lost"))

    def on_frame(self, text):
        try:
            msg = json.loads(text)
            seq = msg["seq"]
        except (ValueError, KeyError, TypeError):
            self.stats["corrupt_frames"] += 1  # whatever it was, the account stream will tell
            return
        if seq > self.last_frame_seq + 1:
            self.stats["lost_frames"] += seq - self.last_frame_seq - 1
        elif seq == self.last_frame_seq:
            self.stats["duplicate_frames"] += 1
        elif seq < self.last_frame_seq:
            self.stats["reordered_frames"] += 1
        self.last_frame_seq = max(self.last_frame_seq, seq)
        future = self.answers.get(msg.get("request_id"))
        if future is not None and not future.done():
            future.set_result(msg)
        if is_private_event(msg):
            self.on_private_event(msg)
        elif msg["type"] == "HEARTBEAT" and msg.get("account_seq") is not None:
            if msg["account_seq"] > self.applied_seq and self.gap_since is None:
                self.gap_since = asyncio.get_running_loop().time()
        elif msg["type"] == "TRADE":
            self.on_trade(msg)
        elif msg["type"] == "STREAM_RESET" and msg.get("channel") == "TRADES":
            self.last_trade_id = None  # trades were dropped on purpose: start counting afresh
        elif msg.get("channel") == "ORDERBOOK_L2" or msg["type"] == "STREAM_RESET":
            self.on_book(msg)

    def on_trade(self, trade):
        """Trade ids are gap-free per symbol: a jump is lost trades, a repeat a duplicate."""
        trade_id = trade["trade_id"]
        if self.last_trade_id is not None:
            if trade_id <= self.last_trade_id:
                self.stats["duplicate_trades"] += 1
                return
            self.stats["lost_trades"] += trade_id - self.last_trade_id - 1
        self.last_trade_id = trade_id

    # ----- the account stream, exactly once and in order ---------------------------------------

    def on_private_event(self, event):
        if not self.recovery:
            self.apply(event)
            return
        seq = event["account_seq"]
        known = self.applied.get(seq) or (fingerprint(self.pending[seq]) if seq in self.pending
                                          else None)
        if known is not None and known != fingerprint(event):
            # Two different events claim one place in the stream: one is a lie (a fabricated
            # fill). Which one cannot be told from here, so the view is rebuilt from the truth.
            self.conflict = True
            return
        if seq <= self.applied_seq or seq in self.pending:
            self.stats["duplicate_events"] += 1
            return
        self.pending[seq] = event
        while self.applied_seq + 1 in self.pending:
            self.applied_seq += 1
            event = self.pending.pop(self.applied_seq)
            self.applied[self.applied_seq] = fingerprint(event)
            self.apply(event)
        self.gap_since = (asyncio.get_running_loop().time() if self.pending else None)

    def apply(self, e):
        kind = e["type"]
        if kind in ("ORDER_ACK", "ORDER_STATUS"):
            self.orders[e["order_id"]] = {"coid": e["client_order_id"], "status": e["status"],
                                          "remaining": e["remaining_quantity"]}
        elif kind == "ORDER_FILL":
            self.fill_count += 1
            self.fills[e["fill_id"]] = [e["price"], e["quantity"]]
            self.orders.setdefault(e["order_id"], {"coid": e["client_order_id"]}).update(
                status=e["status"], remaining=e["remaining_quantity"])
        elif kind in ("ORDER_CANCEL", "ORDER_AMENDED"):
            order = self.orders.setdefault(e["order_id"], {"coid": e["client_order_id"]})
            order["remaining"] = e["remaining_quantity"]
            order["status"] = e.get("status", order.get("status", "OPEN"))
        elif kind == "BALANCE_UPDATE":
            for asset, b in e["balances"].items():
                self.balances[asset] = [b["total"], b["available"], b["locked"]]

    async def rebuild(self):
        """Replaces the view with the exchange's answers, all taken at one account_seq."""
        self.stats["rebuilds"] += 1
        while True:
            orders = await self.ask({"type": "GET_ORDERS"})
            balance = await self.ask({"type": "GET_BALANCE"})
            fills = await self.ask({"type": "GET_FILLS"})
            seqs = {orders.get("account_seq"), balance.get("account_seq"), fills.get("account_seq")}
            if len(seqs) == 1 and None not in seqs:
                break
        self.orders = {o["order_id"]: {"coid": o["client_order_id"], "status": o["status"],
                                       "remaining": o["remaining_quantity"]}
                       for o in orders["orders"]}
        self.fills = {f["fill_id"]: [f["price"], f["quantity"]] for f in fills["fills"]}
        self.fill_count = len(self.fills)
        self.balances = {a: [b["total"], b["available"], b["locked"]]
                         for a, b in balance["balances"].items()}
        self.applied_seq = seqs.pop()
        self.applied = {}
        self.pending = {s: e for s, e in self.pending.items() if s > self.applied_seq}
        self.gap_since = None
        self.conflict = False

    async def repair_gaps(self):
        """A gap in the account stream that did not fill in by itself: resume over it. A
        conflict (two events for one account_seq): rebuild from the exchange's answers."""
        if not self.recovery:
            return
        if self.conflict:
            self.stats["conflicts"] += 1
            await self.rebuild()
        if self.gap_since is None:
            return
        if asyncio.get_running_loop().time() - self.gap_since > GAP_PATIENCE_S:
            self.stats["gap_repairs"] += 1
            raise Reconnect("account stream gap")

    # ----- the book ------------------------------------------------------------------------------

    async def subscribe_book(self):
        await self.ask({"type": "SUBSCRIBE", "channel": "ORDERBOOK_L2", "symbol": SYMBOL})

    def on_book(self, msg):
        ok = True
        if msg["type"] == "ORDERBOOK_SNAPSHOT":
            ok = self.book.load(msg)
        elif msg["type"] == "ORDERBOOK_UPDATE":
            ok = self.book.update(msg) if self.recovery else (self.book._apply(msg) or True)
        elif msg["type"] == "STREAM_RESET":
            ok = False
        if not ok and self.recovery:
            self.stats["book_resyncs"] += 1
            self.book.sequence = None
            asyncio.get_running_loop().create_task(self.resubscribe_book())

    async def resubscribe_book(self):
        try:
            await self.ask({"type": "UNSUBSCRIBE", "channel": "ORDERBOOK_L2", "symbol": SYMBOL})
            await self.subscribe_book()
        except (Reconnect, ConnectionError, asyncio.CancelledError):
            pass  # the next connection subscribes afresh

    # ----- trading -------------------------------------------------------------------------------

    def intended_orders(self):
        """The seeded plan: limit orders around 50000, some to be cancelled later."""
        plan = []
        for i in range(self.args.orders):
            side = self.rng.choice(["BUY", "SELL"])
            offset = self.rng.randint(-40, 40) * 10
            price = 50000 + (offset if side == "BUY" else -offset)
            plan.append({"coid": f"{self.args.account}-{self.args.seed}-{i}", "side": side,
                         "price": f"{price}", "quantity": f"0.0{self.rng.randint(1, 9)}",
                         "cancel": self.rng.random() < 0.3})
        return plan

    def known(self, coid):
        return any(o.get("coid") == coid for o in self.orders.values())

    async def place_once(self, intent):
        """Places an intended order so that the exchange takes it exactly once."""
        backoff = Backoff(self.jitter)
        while not self.known(intent["coid"]):
            try:
                answer = await self.ask({"type": "PLACE_ORDER", "symbol": SYMBOL,
                                         "side": intent["side"], "order_type": "LIMIT",
                                         "price": intent["price"], "quantity": intent["quantity"],
                                         "client_order_id": intent["coid"]})
            except Reconnect:
                if not self.recovery:
                    self.stats["retries"] += 1
                    if self.reader.done():
                        raise  # the link is gone: the caller reconnects
                    continue  # blind retry: this is how orders get placed twice
                await self.reconnect("placement outcome unknown")
                continue  # the resumed stream says whether the exchange took it
            if answer["type"] == "ORDER_ACK":
                self.orders.setdefault(answer["order_id"], {"coid": intent["coid"],
                                                            "status": answer["status"],
                                                            "remaining": answer["remaining_quantity"]})
                return
            if answer.get("code") in NOT_EXECUTED:
                self.stats["retries"] += 1
                await backoff.wait()
            elif answer.get("code") == "UNKNOWN_OUTCOME" and self.recovery:
                await self.reconcile(intent)
            elif answer.get("code") == "UNKNOWN_OUTCOME":
                self.stats["retries"] += 1
            else:
                return  # refused by the engine (funds, ...): it is not on the book

    async def reconcile(self, intent):
        """After UNKNOWN_OUTCOME: ask the exchange whether it took the order. Found, it stands
        (its events come on the account stream, where the lost ack leaves a gap to repair); not
        found, the caller places it again, safely: the client_order_id is an idempotency key."""
        status = await self.ask({"type": "GET_ORDER", "client_order_id": intent["coid"]})
        if status["type"] == "ORDER_STATUS":
            self.stats["reconciled"] += 1
            self.orders.setdefault(status["order_id"], {"coid": intent["coid"],
                                                        "status": status["status"],
                                                        "remaining": status["remaining_quantity"]})

    async def cancel(self, intent):
        try:
            await self.ask({"type": "CANCEL_ORDER", "client_order_id": intent["coid"]})
        except Reconnect:
            pass  # cancelling is idempotent: the outcome arrives on the account stream

    async def trade(self):
        plan = self.intended_orders()
        for n, intent in enumerate(plan):
            while True:
                try:
                    await self.repair_gaps()
                    await self.place_once(intent)
                    if n >= 3 and plan[n - 3]["cancel"]:
                        await self.cancel(plan[n - 3])
                    break
                except (Reconnect, ConnectionError):
                    await self.reconnect("lost")
        return plan

    async def settle(self):
        """With the network calm again: catch up completely, then report."""
        while True:
            try:
                await self.reconnect("settle")
                if self.recovery:
                    await self.ask({"type": "PING"})
                    await self.repair_gaps()
                    if self.gap_since is not None:
                        continue
                return
            except (Reconnect, ConnectionError):
                continue

    def view(self, plan):
        open_orders = {oid: o["remaining"] for oid, o in self.orders.items()
                       if o.get("status") in WORKING}
        return {"open_orders": open_orders, "fills": self.fills, "fill_count": self.fill_count,
                "balances": self.balances, "book_top": self.book.top(),
                "intended": [p["coid"] for p in plan], "stats": self.stats}


def fingerprint(event):
    """What identifies a private event, to tell a repeat from a different event."""
    return (event["type"], event.get("fill_id"), event.get("order_id"), event.get("asset"))


EVENT_TYPES = {"ORDER_ACK", "ORDER_FILL", "ORDER_CANCEL", "ORDER_AMENDED", "BALANCE_UPDATE",
               "POSITION_UPDATE"}


def is_private_event(msg):
    """A private event of the account stream. The asker's copy of an ORDER_ACK or ORDER_CANCEL
    is one (it carries request_id too); a BALANCE_UPDATE answering GET_BALANCE is not."""
    if msg["type"] not in EVENT_TYPES or "account_seq" not in msg:
        return False
    return not ("request_id" in msg and msg["type"] in ("BALANCE_UPDATE", "POSITION_UPDATE"))


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8765/ws")
    parser.add_argument("--account", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--orders", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-recovery", action="store_true")
    args = parser.parse_args()
    client = ResilientClient(args)
    await client.reconnect("start")
    client.stats["reconnects"] = 0
    plan = await client.trade()
    print("TRADING_DONE", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await client.settle()
    await asyncio.sleep(0.2)  # let the resubscribed book's snapshot arrive
    print(json.dumps(client.view(plan)), flush=True)


if __name__ == "__main__":
    asyncio.run(main())

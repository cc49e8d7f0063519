#!/usr/bin/env python3
"""A trading client that survives an unreliable exchange, and checks that it did.

    pip install websockets
    exchange-sim --config examples/recovery_demo.json                          # one terminal
    python3 examples/resilient_client.py --account alice --api-key alice-key --verify

It logs in with cancel-on-disconnect, places a seeded list of intended orders (each exactly once),
cancels some, and keeps a view of its orders, fills, balances and the BTC/USD book. The recovery
itself (seq and account_seq accounting, RESUME, rebuilds, book checksums, reconciliation of
UNKNOWN_OUTCOME, back-off) is the exchange_sim package's ResilientClient:
python/src/exchange_sim/client.py explains it. This program only trades and reports.

- --verify: when trading is done, catch up, compare the view with the exchange's truth over REST
  (orders, fills, balances, the book, and each intended order placed exactly once), print PASS or
  FAIL with the differences, and exit 0 or 1.
- Without --verify (how tests/resilient_client.rs drives it): print TRADING_DONE, wait for a line
  on stdin (the test calms the network meanwhile; a prompt says so on stderr), catch up, and print
  the final view as one JSON line.
- --no-recovery trusts every frame as it comes: under faults its view drifts from the truth.

A refused login (AUTH_FAILED) or an unreachable server is reported on stderr, exit code 2.

The package is imported from this checkout's python/src when it is there, so the example always
runs the code next to it; elsewhere, from an installed exchange-sim-client (pip install ./python).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import urllib.parse
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

CHECKOUT_PACKAGE = Path(__file__).resolve().parent.parent / "python" / "src"
if (CHECKOUT_PACKAGE / "exchange_sim").is_dir():
    sys.path.insert(0, str(CHECKOUT_PACKAGE))

from exchange_sim import (  # noqa: E402 (after the path is set)
    Admin,
    AuthFailed,
    OrderRejected,
    RequestError,
    ResilientClient,
    differences,
)
from exchange_sim.book import Level  # noqa: E402
from exchange_sim.money import format_decimal  # noqa: E402

SYMBOL = "BTC/USD"
EXIT_FAIL = 1
EXIT_CANNOT_RUN = 2
START_TIMEOUT_S = 10  # to connect and log in, retries included


@dataclass(frozen=True)
class Intent:
    """One order the plan means to have on the exchange exactly once."""

    client_order_id: str
    side: str
    price: Decimal
    quantity: Decimal
    cancel: bool  # cancelled three orders later


def intended_orders(account: str, seed: int, count: int) -> list[Intent]:
    """The seeded plan: limit orders around 50000, some of them to be cancelled later."""
    rng = random.Random(seed)
    plan = []
    for i in range(count):
        side = rng.choice(["BUY", "SELL"])
        offset = rng.randint(-40, 40) * 10
        price = 50000 + (offset if side == "BUY" else -offset)
        plan.append(
            Intent(
                client_order_id=f"{account}-{seed}-{i}",
                side=side,
                price=Decimal(price),
                quantity=Decimal(f"0.0{rng.randint(1, 9)}"),
                cancel=rng.random() < 0.3,
            )
        )
    return plan


async def trade(client: ResilientClient, plan: list[Intent]) -> None:
    for n, intent in enumerate(plan):
        try:
            await client.place_order(
                SYMBOL,
                intent.side,
                intent.quantity,
                price=intent.price,
                client_order_id=intent.client_order_id,
            )
        except OrderRejected as e:
            print(f"resilient_client: {intent.client_order_id} refused: {e}", file=sys.stderr)
        if n >= 3 and plan[n - 3].cancel:
            try:
                await client.cancel_order(client_order_id=plan[n - 3].client_order_id)
            except RequestError as e:
                print(
                    f"resilient_client: cancel of {plan[n - 3].client_order_id}: {e}",
                    file=sys.stderr,
                )


def final_view(client: ResilientClient, plan: list[Intent]) -> dict[str, object]:
    """The view in the wire's own strings, as tests/resilient_client.rs compares it with REST."""
    bid, ask = client.books[SYMBOL].top()
    return {
        "open_orders": {
            oid: format_decimal(o.remaining_quantity)
            for oid, o in client.view.open_orders().items()
        },
        "fills": {
            fid: [format_decimal(f.price), format_decimal(f.quantity)]
            for fid, f in client.view.fills.items()
        },
        "fill_count": client.view.fill_count,
        "balances": {
            asset: [format_decimal(b.total), format_decimal(b.available), format_decimal(b.locked)]
            for asset, b in client.view.balances.items()
        },
        "book_top": {"bid": wire_level(bid), "ask": wire_level(ask)},
        "intended": [intent.client_order_id for intent in plan],
        "stats": client.stats.as_dict(),
    }


def wire_level(level: Level | None) -> list[str] | None:
    return None if level is None else [format_decimal(level[0]), format_decimal(level[1])]


async def verify(client: ResilientClient, plan: list[Intent], admin: Admin) -> int:
    """Compares the final view with REST; prints PASS or FAIL and returns the exit code."""
    found = await differences(client, admin)
    orders = (await asyncio.to_thread(admin.orders, client.api_key))["orders"]
    for intent in plan:
        placed = sum(o["client_order_id"] == intent.client_order_id for o in orders)
        if placed != 1:
            found.append(f"{intent.client_order_id} was placed {placed} times")
    print(f"faults seen and handled: {json.dumps(client.stats.as_dict())}")
    if found:
        print(f"FAIL: the client's view differs from the exchange's truth in {len(found)} places:")
        print("\n".join(f"  {line}" for line in found))
        return EXIT_FAIL
    print(
        f"PASS: the client's view equals the exchange's truth, and each of the {len(plan)} "
        "intended orders was placed exactly once"
    )
    return 0


def http_base(ws_url: str) -> str:
    """The REST base of a WebSocket URL: ws://host:port/ws -> http://host:port."""
    parts = urllib.parse.urlsplit(ws_url)
    scheme = "https" if parts.scheme == "wss" else "http"
    return f"{scheme}://{parts.netloc}"


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8765/ws")
    parser.add_argument("--account", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--orders", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--no-recovery",
        action="store_true",
        help="trust every frame (to see what faults do to a naive client)",
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="after trading, compare the view with REST and print PASS or FAIL",
    )
    args = parser.parse_args()
    plan = intended_orders(args.account, args.seed, args.orders)
    client = ResilientClient(
        args.url,
        args.account,
        args.api_key,
        symbols=[SYMBOL],
        recovery=not args.no_recovery,
        seed=args.seed + 1,
    )
    try:
        await client.start(timeout_s=START_TIMEOUT_S)
    except AuthFailed as e:
        print(
            f"resilient_client: login refused ({e}); check --account and --api-key", file=sys.stderr
        )
        return EXIT_CANNOT_RUN
    except asyncio.TimeoutError:
        print(f"resilient_client: no exchange answers at {args.url}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    try:
        await trade(client, plan)
        if args.verify:
            return await verify(client, plan, Admin(http_base(args.url)))
        print("TRADING_DONE", flush=True)
        print(
            "resilient_client: trading done; send a line (press Enter) to settle and print the "
            "final view",
            file=sys.stderr,
            flush=True,
        )
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        await client.sync()
        print(json.dumps(final_view(client, plan)), flush=True)
        return 0
    finally:
        # The exchange keeps what the report showed: no cancel-on-disconnect at the exit.
        await client.close(keep_orders=True)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

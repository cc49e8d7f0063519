"""Whether a client's view equals the exchange's truth over REST.

The account is compared at one `account_seq` and each book at one book `sequence`: comparing at
equal counters is what makes the check exact while the market keeps moving (a fill between the two
reads would otherwise look like a bug).
"""

from __future__ import annotations

import asyncio
from typing import Any

from .account import AccountView, Balance, Order
from .admin import Admin
from .book import CHECKSUM_LEVELS, Level, OrderBook
from .client import ResilientClient
from .money import format_decimal, parse_decimal

COMPARE_ATTEMPTS_MAX = 20  # reads of REST before giving up on catching the counters equal


async def differences(client: ResilientClient, admin: Admin) -> list[str]:
    """Syncs the client, then lists where its view differs from REST; empty when it agrees.

    Compared: every order REST knows (status, remaining quantity) and every order the client
    thinks working, every fill (price, quantity) and the number of fills applied, every balance,
    and each subscribed book's top 10 levels.
    """
    found: list[str] = []
    for _ in range(COMPARE_ATTEMPTS_MAX):
        await client.sync()
        orders, fills, balances = await asyncio.to_thread(_account_truth, admin, client.api_key)
        seqs = {orders["account_seq"], fills["account_seq"], balances["account_seq"]}
        if len(seqs) != 1 or (client.recovery and seqs != {client.view.account_seq}):
            found = [f"account_seq: client {client.view.account_seq} / exchange {sorted(seqs)}"]
            continue
        found = compare_account(client.view, orders, fills, balances)
        books = [
            await asyncio.to_thread(admin.orderbook, s, CHECKSUM_LEVELS) for s in client.symbols
        ]
        behind = [
            f"book {b['symbol']}: client at sequence {client.books[b['symbol']].sequence} / "
            f"exchange at {b['sequence']}"
            for b in books
            if b["sequence"] != client.books[b["symbol"]].sequence
        ]
        if behind:
            found += behind
            continue
        for snapshot in books:
            found += compare_book(client.books[snapshot["symbol"]], snapshot)
        return found
    return found


def compare_account(
    view: AccountView, orders: dict[str, Any], fills: dict[str, Any], balances: dict[str, Any]
) -> list[str]:
    """Where the view differs from REST's /orders, /fills and /balances answers."""
    found = []
    truth_orders = {o["order_id"]: Order.from_wire(o) for o in orders["orders"]}
    for order_id in sorted(truth_orders.keys() | view.open_orders().keys(), key=int):
        mine, truth = view.orders.get(order_id), truth_orders.get(order_id)
        if _order_state(mine) != _order_state(truth):
            found.append(
                f"order {order_id}: client {_order_state(mine)} / exchange {_order_state(truth)}"
            )
    truth_fills = {
        f["fill_id"]: (parse_decimal(f["price"]), parse_decimal(f["quantity"]))
        for f in fills["fills"]
    }
    my_fills = {f.fill_id: (f.price, f.quantity) for f in view.fills.values()}
    for fill_id in sorted(truth_fills.keys() | my_fills.keys(), key=int):
        if my_fills.get(fill_id) != truth_fills.get(fill_id):
            found.append(
                f"fill {fill_id}: client {_text(my_fills.get(fill_id))} / "
                f"exchange {_text(truth_fills.get(fill_id))}"
            )
    if view.fill_count != len(truth_fills):
        found.append(f"fills applied: client {view.fill_count} / exchange {len(truth_fills)}")
    truth_balances = {a: Balance.from_wire(b) for a, b in balances["balances"].items()}
    for asset in sorted(truth_balances.keys() | view.balances.keys()):
        mine_b, truth_b = view.balances.get(asset), truth_balances.get(asset)
        if mine_b != truth_b:
            found.append(
                f"balance {asset}: client {_balance(mine_b)} / exchange {_balance(truth_b)}"
            )
    return found


def compare_book(book: OrderBook, snapshot: dict[str, Any]) -> list[str]:
    """Where the book's top 10 levels per side differ from a REST order book snapshot."""
    found = []
    for side, mine in (("bids", book.bids()), ("asks", book.asks())):
        truth = [
            (parse_decimal(lv["price"]), parse_decimal(lv["quantity"])) for lv in snapshot[side]
        ]
        if mine[:CHECKSUM_LEVELS] != truth[:CHECKSUM_LEVELS]:
            found.append(
                f"book {book.symbol} {side}: client {_levels(mine)} / exchange {_levels(truth)}"
            )
    return found


def _account_truth(admin: Admin, api_key: str) -> tuple[Any, Any, Any]:
    return admin.orders(api_key), admin.fills(api_key), admin.balances(api_key)


def _order_state(order: Order | None) -> tuple[str, str] | None:
    return None if order is None else (order.status, format_decimal(order.remaining_quantity))


def _text(pair: tuple[Any, Any] | None) -> str:
    return "none" if pair is None else ":".join(map(format_decimal, pair))


def _balance(balance: Balance | None) -> str:
    if balance is None:
        return "none"
    return "/".join(format_decimal(v) for v in (balance.total, balance.available, balance.locked))


def _levels(levels: list[Level]) -> str:
    return " ".join(_text(level) for level in levels[:CHECKSUM_LEVELS]) or "empty"

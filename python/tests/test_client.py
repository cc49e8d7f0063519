"""ResilientClient on a calm link: orders placed and cancelled, a view of Decimals that equals
REST, and refusals raised with the server's code."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from exchange_sim import (
    AuthFailed,
    OrderRejected,
    RequestError,
    ResilientClient,
    Simulator,
    differences,
)
from support import QUIET, eventually

pytestmark = pytest.mark.exchange_sim(config=QUIET)
D = Decimal


def test_the_client_places_and_cancels_and_its_view_equals_rest(exchange_sim: Simulator) -> None:
    async def scenario() -> None:
        async with (
            ResilientClient(exchange_sim.url, "alice", "alice-key", symbols=["BTC/USD"]) as alice,
            ResilientClient(exchange_sim.url, "bob", "bob-key") as bob,
        ):
            bid = await alice.place_order("BTC/USD", "BUY", D("0.1"), price=D("49000"))
            await alice.place_order("BTC/USD", "BUY", "0.2", price="48000", client_order_id="low")
            ask = await alice.place_order("BTC/USD", "SELL", "0.3", price="51000")
            assert (bid.status, bid.price, bid.remaining_quantity) == (
                "OPEN",
                D("49000.00"),
                D("0.10000"),
            )
            assert await alice.cancel_order(client_order_id="low") == "CANCELLED"
            assert await alice.cancel_order(client_order_id="low") == "CANCELLED"  # repeat: closed
            await bob.place_order("BTC/USD", "SELL", "0.04", price="49000")
            assert await alice.cancel_all("ETH/USD") == 0

            assert await differences(alice, exchange_sim.admin) == []
            assert set(alice.view.open_orders()) == {bid.order_id, ask.order_id}
            assert alice.view.orders[bid.order_id].remaining_quantity == D("0.06000")
            assert [(f.price, f.quantity) for f in alice.view.fills.values()] == [
                (D("49000.00"), D("0.04000"))
            ]
            # 100 + 0.04 bought - 0.3 locked; the maker fee (0.000008) is below one lot: zero.
            assert alice.view.balances["BTC"].available == D("99.74000")
            assert alice.books["BTC/USD"].top() == (
                (D("49000.00"), D("0.06000")),
                (D("51000.00"), D("0.30000")),
            )
            assert alice.stats.reconnects == 0 and alice.stats.lost_frames == 0

    asyncio.run(scenario())


def test_refusals_raise_with_the_servers_code(exchange_sim: Simulator) -> None:
    async def scenario() -> None:
        with pytest.raises(AuthFailed) as refused:
            await ResilientClient(exchange_sim.url, "alice", "wrong-key").start()
        assert refused.value.code == "AUTH_FAILED"
        async with ResilientClient(exchange_sim.url, "alice", "alice-key") as alice:
            with pytest.raises(OrderRejected) as rejected:
                await alice.place_order("BTC/USD", "BUY", "100", price="50000")
            assert rejected.value.code == "INSUFFICIENT_FUNDS"
            first = await alice.place_order(
                "BTC/USD", "BUY", "0.01", price="40000", client_order_id="once"
            )
            again = await alice.place_order(
                "BTC/USD", "BUY", "0.01", price="40000", client_order_id="once"
            )
            assert again.order_id == first.order_id  # the same order: idempotent
            with pytest.raises(OrderRejected) as rejected:
                await alice.place_order(
                    "BTC/USD", "BUY", "0.02", price="40000", client_order_id="once"
                )
            assert rejected.value.code == "DUPLICATE_CLIENT_ORDER_ID"
            with pytest.raises(RequestError) as refused:
                await alice.cancel_order(client_order_id="never-placed")
            assert refused.value.code == "ORDER_NOT_FOUND"
            # A malformed request might have been damaged in transit: sent three more times.
            with pytest.raises(RequestError) as refused:
                await alice.place_order("BTC/USD", "BUY", "0.01", price="40000.001")
            assert (refused.value.code, alice.stats.retries) == ("TICK_SIZE", 3)
            with pytest.raises(TypeError):
                await alice.place_order("BTC/USD", "BUY", 0.01, price="40000")  # type: ignore[arg-type]

    asyncio.run(scenario())


def test_closing_cancels_the_orders_unless_asked_to_keep_them(exchange_sim: Simulator) -> None:
    def statuses() -> dict[str, str]:
        orders = exchange_sim.admin.orders("alice-key")["orders"]
        return {o["client_order_id"]: o["status"] for o in orders}

    async def scenario() -> None:
        for keep in (False, True):
            alice = ResilientClient(exchange_sim.url, "alice", "alice-key")
            await alice.start()
            await alice.place_order(
                "BTC/USD", "BUY", "0.01", price="40000", client_order_id=f"k{keep}"
            )
            await alice.close(keep_orders=keep)
        expected = {"kFalse": "CANCELLED", "kTrue": "OPEN"}
        await eventually(lambda: statuses() == expected, f"orders {expected}")

    asyncio.run(scenario())

"""ResilientClient through faults: whatever the link and the exchange do, it ends with the view
REST shows, every intended order placed exactly once. Each test checks the faults really bit."""

from __future__ import annotations

import asyncio
import random

import pytest
from exchange_sim import Admin, ApiError, ResilientClient, Simulator, differences
from support import LIVELY, QUIET, eventually

SYMBOL = "BTC/USD"


async def cut(admin: Admin, *, abrupt: bool) -> None:
    """Disconnects alice's connection from the server's side, once she has one (a fault may just
    have cut the last one, and the client be reconnecting)."""

    def disconnected() -> bool:
        ids = [c["id"] for c in admin.connections() if c["account"] == "alice"]
        try:
            return bool(ids) and bool(admin.disconnect(ids[0], abrupt=abrupt, code=4000))
        except ApiError as gone:  # closed between the listing and the cut
            assert gone.status == 404, gone
            return False

    await eventually(disconnected, "a connection of alice's to cut")


async def trade(client: ResilientClient, orders: int, seed: int) -> list[str]:
    """Places `orders` limit orders around 50000 (some cross, some rest), cancelling every third
    one later on; returns their client_order_ids."""
    rng = random.Random(seed)
    placed = []
    for i in range(orders):
        side = rng.choice(["BUY", "SELL"])
        offset = rng.randint(-20, 20) * 10
        price = 50000 + (offset if side == "BUY" else -offset)
        coid = f"t{seed}-{i}"
        await client.place_order(
            SYMBOL, side, f"0.0{rng.randint(1, 9)}", price=str(price), client_order_id=coid
        )
        placed.append(coid)
        if i >= 3 and (i - 3) % 3 == 0:
            await client.cancel_order(client_order_id=placed[i - 3])
    return placed


def placed_once(admin: Admin, coids: list[str]) -> dict[str, int]:
    """How many exchange orders carry each client_order_id that is not there exactly once."""
    orders = admin.orders("alice-key")["orders"]
    counts = {c: sum(o["client_order_id"] == c for o in orders) for c in coids}
    return {c: n for c, n in counts.items() if n != 1}


@pytest.mark.exchange_sim(scenario="flaky_mobile", seed=42, config=LIVELY)
def test_the_client_survives_a_flaky_mobile_link(exchange_sim: Simulator) -> None:
    admin = exchange_sim.admin
    # The scenario, made denser so that a short test meets every kind of its faults.
    admin.patch_fault("duplicate_messages", {"probability": 0.05})
    admin.patch_fault("disconnect", {"mean_interval_s": 8})

    async def scenario() -> ResilientClient:
        # Delays reach 5 s on this link: a slow answer is not yet a lost one.
        async with ResilientClient(
            exchange_sim.url, "alice", "alice-key", symbols=[SYMBOL], answer_timeout_s=3.0
        ) as alice:
            coids = await trade(alice, 6, seed=1)
            await cut(admin, abrupt=False)
            coids += await trade(alice, 6, seed=2)
            await cut(admin, abrupt=True)
            coids += await trade(alice, 6, seed=3)
            admin.put_faults({"enabled": False})
            assert await differences(alice, admin) == []
            assert placed_once(admin, coids) == {}
            return alice

    stats = asyncio.run(scenario()).stats
    assert stats.lost_frames > 0 and stats.duplicate_frames > 0 and stats.reconnects >= 2, stats
    injected = admin.fault_stats()
    for counter in ("dropped_count", "delayed_count", "duplicated_count", "reordered_count"):
        assert injected[counter] > 0, (counter, injected)


@pytest.mark.exchange_sim(scenario="fill_chaos", config=LIVELY)
def test_the_client_sees_through_an_exchange_that_lies(exchange_sim: Simulator) -> None:
    admin = exchange_sim.admin
    # Denser than the file, so that every lie is told in a short test.
    admin.patch_fault("phantom_fills", {"mean_interval_s": 0.5})
    admin.patch_fault("duplicate_fills", {"probability": 0.5})
    admin.patch_fault("unknown_outcome", {"probability": 0.4})
    admin.patch_fault("reject_orders", {"probability": 0.4})

    async def scenario() -> ResilientClient:
        # Cancel acks come up to 2.5 s late here: late is not lost, so the client waits for them.
        async with ResilientClient(
            exchange_sim.url, "alice", "alice-key", symbols=[SYMBOL], answer_timeout_s=3.0
        ) as alice:
            coids = await trade(alice, 14, seed=4)
            await alice.cancel_all(SYMBOL)
            admin.put_faults({"enabled": False})
            assert await differences(alice, admin) == []
            assert placed_once(admin, coids) == {}
            return alice

    stats = asyncio.run(scenario()).stats
    assert stats.reconciled > 0 and stats.retries > 0 and stats.duplicate_events > 0, stats
    injected = admin.fault_stats()
    for counter in (
        "phantom_fill_count",
        "duplicate_fill_count",
        "unknown_outcome_count",
        "rejected_order_count",
    ):
        assert injected[counter] > 0, (counter, injected)


@pytest.mark.exchange_sim(
    config={**QUIET, "exchange": {**QUIET["exchange"], "history": {"resume_events_per_account": 1}}}
)
def test_a_resume_from_too_far_back_rebuilds_the_view(exchange_sim: Simulator) -> None:
    admin = exchange_sim.admin
    admin.put_faults({"enabled": True, "modes": {}})

    async def scenario() -> ResilientClient:
        async with ResilientClient(
            exchange_sim.url, "alice", "alice-key", cancel_on_disconnect=False
        ) as alice:
            # The order's acknowledgement and balance are lost: the client cannot know it was
            # placed, and the server keeps too few events to resume over both.
            admin.one_shot(
                {"action": "drop", "count": 2, "message_types": ["ORDER_ACK", "BALANCE_UPDATE"]}
            )
            order = await alice.place_order(
                SYMBOL, "BUY", "0.01", price="49000", client_order_id="lost"
            )
            assert order.client_order_id == "lost" and order.working
            assert await differences(alice, admin) == []
            assert placed_once(admin, ["lost"]) == {}
            return alice

    stats = asyncio.run(scenario()).stats
    assert (stats.rebuilds, stats.reconnects) == (2, 1), stats  # at LOGIN, then at RESUME_GAP


@pytest.mark.exchange_sim(config=LIVELY)
def test_books_and_trades_are_resynchronised_after_gaps(exchange_sim: Simulator) -> None:
    admin = exchange_sim.admin
    admin.put_faults(
        {
            "enabled": True,
            "modes": {
                "sequence_gap": {"probability": 0.1, "announce": True},
                "drop_messages": {
                    "probability": 0.1,
                    "message_types": ["ORDERBOOK_UPDATE", "TRADE"],
                },
            },
        }
    )

    async def scenario() -> ResilientClient:
        async with ResilientClient(
            exchange_sim.url, "alice", "alice-key", symbols=[SYMBOL]
        ) as alice:
            await eventually(
                lambda: alice.stats.book_resyncs >= 5 and alice.stats.lost_trades > 0,
                "books to be found wrong and trades to go missing",
            )
            admin.put_faults({"enabled": False})
            assert await differences(alice, admin) == []
            return alice

    assert asyncio.run(scenario()).stats.book_resyncs >= 5
    assert admin.fault_stats()["sequence_gap_count"] > 0

"""Admin: the fault API round trips, statistics that rise while a client trades, connections cut
on demand, and the REST ground truth with its typed errors."""

from __future__ import annotations

import asyncio

import pytest
from exchange_sim import ApiError, ResilientClient, Simulator, differences, find_scenario
from support import QUIET, SCENARIOS, eventually

pytestmark = pytest.mark.exchange_sim(config=QUIET)


def test_a_patched_fault_shows_in_get_and_goes_again(exchange_sim: Simulator) -> None:
    admin = exchange_sim.admin
    assert admin.faults() == {"enabled": False, "modes": {}}
    admin.put_faults({"enabled": True, "modes": {}})
    admin.patch_fault("drop_messages", {"probability": 0.5, "accounts": ["alice"]})
    mode = admin.faults()["modes"]["drop_messages"]
    assert (mode["probability"], mode["accounts"]) == (0.5, ["alice"])
    admin.patch_fault("drop_messages", None)
    assert "drop_messages" not in admin.faults()["modes"]


def test_an_invalid_fault_is_refused_with_its_code_and_path(exchange_sim: Simulator) -> None:
    with pytest.raises(ApiError) as refused:
        exchange_sim.admin.patch_fault("drop_messages", {"probability": 2})
    assert (refused.value.status, refused.value.code) == (400, "INVALID_FAULT_CONFIG")
    assert refused.value.body["path"] == "failures.modes.drop_messages.probability"


def test_a_scenario_file_is_put_as_it_is(exchange_sim: Simulator) -> None:
    answer = exchange_sim.admin.put_faults(find_scenario("fill_chaos", SCENARIOS))
    assert answer["enabled"] and "phantom_fills" in answer["modes"]


def test_statistics_log_and_metrics_rise_while_a_client_trades(exchange_sim: Simulator) -> None:
    admin = exchange_sim.admin
    admin.put_faults(
        {
            "enabled": True,
            "modes": {"duplicate_messages": {"probability": 0.5, "direction": "outbound"}},
        }
    )
    admin.one_shot({"action": "drop", "count": 1, "message_types": ["BALANCE_UPDATE"]})

    async def trade() -> list[str]:
        async with ResilientClient(exchange_sim.url, "alice", "alice-key") as alice:
            for i in range(5):
                await alice.place_order("BTC/USD", "BUY", "0.01", price=f"4900{i}")
            admin.put_faults({"enabled": False})
            return await differences(alice, admin)

    assert asyncio.run(trade()) == []
    stats = admin.fault_stats()
    assert stats["duplicated_count"] > 0 and stats["one_shot_count"] == 1
    assert any(c["connection_key"] == "alice" for c in stats["by_connection"].values())
    assert {"duplicate_messages", "one_shot"} <= {entry["mode"] for entry in admin.fault_log()}
    metrics = admin.metrics()
    assert (
        'exchange_faults_injected_total{mode="duplicate_messages",direction="outbound"}' in metrics
    )
    assert admin.reset_faults() == {"reset": True}
    assert admin.fault_stats()["total_count"] == 0


def test_connections_are_listed_and_cut_cleanly_or_abruptly(exchange_sim: Simulator) -> None:
    admin = exchange_sim.admin

    def alices_connection() -> int | None:
        ids = [c["id"] for c in admin.connections() if c["account"] == "alice"]
        return ids[0] if len(ids) == 1 else None

    async def cut_twice() -> ResilientClient:
        async with ResilientClient(exchange_sim.url, "alice", "alice-key") as alice:
            await alice.place_order("BTC/USD", "BUY", "0.01", price="49000")
            for abrupt in (False, True):
                first = alices_connection()
                assert first is not None
                assert admin.disconnect(first, abrupt=abrupt, code=4000) == {"disconnected": first}
                await eventually(
                    lambda cut=first: alices_connection() not in (None, cut), "a new connection"
                )
                await alice.request({"type": "PING"})
            assert await differences(alice, admin) == []
            return alice

    alice = asyncio.run(cut_twice())
    assert alice.stats.reconnects == 2
    # cancel-on-disconnect took the order off the book at the first cut, and the view knows it.
    assert alice.view.open_orders() == {}
    with pytest.raises(ApiError) as missing:
        admin.disconnect(999_999)
    assert missing.value.status == 404


def test_the_rest_ground_truth_and_its_errors(exchange_sim: Simulator) -> None:
    admin = exchange_sim.admin

    async def trade() -> None:
        # alice's order must outlive her connection, to be read over REST afterwards.
        async with (
            ResilientClient(
                exchange_sim.url, "alice", "alice-key", cancel_on_disconnect=False
            ) as alice,
            ResilientClient(exchange_sim.url, "bob", "bob-key") as bob,
        ):
            await alice.place_order("BTC/USD", "BUY", "0.10", price="49000", client_order_id="a1")
            await bob.place_order("BTC/USD", "SELL", "0.04", price="49000")
            await alice.sync()

    asyncio.run(trade())
    assert admin.health()["status"] == "ok"
    assert admin.symbols()[0]["tick_size"] == "0.01"
    assert {a["account"]: a["open_orders"] for a in admin.accounts()} == {"alice": 1, "bob": 0}
    order = admin.order("a1", "alice-key")
    assert (order["status"], order["remaining_quantity"]) == ("PARTIALLY_FILLED", "0.06000")
    assert admin.orders("alice-key")["orders"] == [order]
    assert [f["quantity"] for f in admin.fills("alice-key")["fills"]] == ["0.04000"]
    assert admin.balances("alice-key")["balances"]["USD"]["locked"] == "2940.0000000"
    assert admin.orderbook("BTC/USD", depth=5)["bids"] == [
        {"price": "49000.00", "quantity": "0.06000"}
    ]
    assert [t["trade_id"] for t in admin.trades("BTC/USD")] == [1]
    assert admin.ticker("BTC/USD")["last"] == "49000.00"
    assert admin.candles("BTC/USD", "1m")[0]["trades"] == 1
    for call, status, code in [
        (lambda: admin.balances(), 401, "NOT_LOGGED_IN"),
        (lambda: admin.balances("wrong-key"), 401, "AUTH_FAILED"),
        (lambda: admin.order("999", "alice-key"), 404, "ORDER_NOT_FOUND"),
        (lambda: admin.orderbook("XRP/USD"), 404, "UNKNOWN_SYMBOL"),
    ]:
        with pytest.raises(ApiError) as refused:
            call()
        assert (refused.value.status, refused.value.code) == (status, code)

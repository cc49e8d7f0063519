"""The account view alone: events applied in account_seq order exactly once, gaps reported,
conflicting events flagged, and a rebuild that keeps what came after it."""

from decimal import Decimal

from exchange_sim import AccountView
from exchange_sim.account import Outcome


def balance_event(seq: int, usd: str) -> dict:
    b = {"total": usd, "available": usd, "locked": "0.0000000"}
    return {"type": "BALANCE_UPDATE", "asset": "USD", "balances": {"USD": b}, "account_seq": seq}


def fill_event(seq: int, fill_id: str) -> dict:
    return {
        "type": "ORDER_FILL",
        "fill_id": fill_id,
        "order_id": "7",
        "client_order_id": "c1",
        "symbol": "BTC/USD",
        "side": "BUY",
        "price": "50000.00",
        "quantity": "0.10000",
        "filled_quantity": "0.10000",
        "remaining_quantity": "0.00000",
        "status": "FILLED",
        "fee": "0.00005",
        "fee_currency": "BTC",
        "account_seq": seq,
    }


def built_view(seq: int = 3) -> AccountView:
    view = AccountView()
    view.replace(
        {"orders": [], "account_seq": seq},
        {
            "balances": {
                "USD": {"total": "1.0000000", "available": "1.0000000", "locked": "0.0000000"}
            },
            "account_seq": seq,
        },
        {"fills": [], "account_seq": seq},
        now=0.0,
    )
    return view


def test_events_apply_in_account_seq_order_whatever_order_they_come_in() -> None:
    view = built_view()
    assert view.on_event(balance_event(5, "5.0000000"), now=1.0) is Outcome.HELD
    assert view.gap_age(now=1.5) == 0.5
    assert view.on_event(balance_event(4, "4.0000000"), now=2.0) is Outcome.APPLIED
    assert view.account_seq == 5
    assert view.balances["USD"].total == Decimal("5.0000000")
    assert view.gap_age(now=2.0) is None


def test_a_repeat_is_ignored_and_a_different_event_at_the_same_place_is_a_conflict() -> None:
    view = built_view()
    assert view.on_event(fill_event(4, "9"), now=0.0) is Outcome.APPLIED
    assert view.on_event(fill_event(4, "9"), now=0.0) is Outcome.DUPLICATE
    assert view.fill_count == 1
    assert view.on_event(fill_event(4, "281474976710656"), now=0.0) is Outcome.CONFLICT
    assert view.needs_rebuild and view.fill_count == 1


def test_the_exchange_being_ahead_is_a_gap() -> None:
    view = built_view()
    view.note_exchange_seq(6, now=10.0)
    assert view.gap_age(now=10.25) == 0.25


def test_a_rebuild_keeps_the_events_after_it_and_drops_those_before() -> None:
    view = built_view()
    view.hold()
    view.on_event(balance_event(4, "4.0000000"), now=0.0)
    view.on_event(balance_event(5, "5.0000000"), now=0.0)
    assert view.account_seq == 3
    view.replace(
        {"orders": [], "account_seq": 4},
        {
            "balances": {
                "USD": {"total": "4.0000000", "available": "4.0000000", "locked": "0.0000000"}
            },
            "account_seq": 4,
        },
        {"fills": [], "account_seq": 4},
        now=0.0,
    )
    assert view.account_seq == 5
    assert view.balances["USD"].total == Decimal("5.0000000")


def test_an_unordered_view_applies_everything_it_gets() -> None:
    view = AccountView(ordered=False)
    view.on_event(fill_event(4, "9"), now=0.0)
    view.on_event(fill_event(4, "9"), now=0.0)
    assert view.fill_count == 2
    assert view.orders["7"].status == "FILLED"

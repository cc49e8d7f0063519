"""The L2 book alone: the protocol's worked checksum example, deltas that follow on, repeats,
gaps, bad checksums and deltas that overtake their snapshot."""

from decimal import Decimal

from exchange_sim import OrderBook, book_checksum

D = Decimal
SNAPSHOT = {
    "symbol": "BTC/USD",
    "bids": [
        {"price": "49990.00", "quantity": "0.70000"},
        {"price": "49980.00", "quantity": "1.25000"},
    ],
    "asks": [
        {"price": "50010.00", "quantity": "0.50000"},
        {"price": "50020.00", "quantity": "1.00000"},
        {"price": "50030.00", "quantity": "2.00000"},
    ],
    "sequence": 5,
    "checksum": 957875229,
}


def delta(prev: int, seq: int, asks: list[tuple[str, str]], checksum: int) -> dict:
    return {
        "symbol": "BTC/USD",
        "bids": [],
        "asks": [{"price": p, "quantity": q} for p, q in asks],
        "first_sequence": prev + 1,
        "sequence": seq,
        "prev_sequence": prev,
        "checksum": checksum,
    }


def after_taking_the_best_ask() -> int:
    """The snapshot's checksum once 50010.00 is gone (computed independently of OrderBook)."""
    return book_checksum(
        [(D("49990.00"), D("0.70000")), (D("49980.00"), D("1.25000"))],
        [(D("50020.00"), D("1.00000")), (D("50030.00"), D("2.00000"))],
    )


def test_the_checksum_of_the_protocols_worked_example() -> None:
    bids = [(D("49990.00"), D("0.70000")), (D("49980.00"), D("1.25000"))]
    asks = [
        (D("50010.00"), D("0.50000")),
        (D("50020.00"), D("1.00000")),
        (D("50030.00"), D("2.00000")),
    ]
    assert book_checksum(bids, asks) == 957875229
    assert book_checksum([], [(D("50010.00"), D("0.50000"))]) == 2578673769
    assert book_checksum([], []) == 0


def test_a_snapshot_then_a_delta_that_follows_on() -> None:
    book = OrderBook("BTC/USD")
    assert book.on_snapshot(SNAPSHOT)
    assert book.top() == ((D("49990.00"), D("0.70000")), (D("50010.00"), D("0.50000")))
    assert book.on_delta(delta(5, 6, [("50010.00", "0.00000")], after_taking_the_best_ask()))
    assert book.sequence == 6
    assert book.top()[1] == (D("50020.00"), D("1.00000"))


def test_a_repeated_delta_changes_nothing() -> None:
    book = OrderBook("BTC/USD")
    book.on_snapshot(SNAPSHOT)
    step = delta(5, 6, [("50010.00", "0.00000")], after_taking_the_best_ask())
    assert book.on_delta(step) and book.on_delta(step)
    assert book.sequence == 6


def test_a_gap_or_a_wrong_checksum_resets_the_book() -> None:
    book = OrderBook("BTC/USD")
    book.on_snapshot(SNAPSHOT)
    assert not book.on_delta(delta(6, 7, [("50010.00", "0.00000")], after_taking_the_best_ask()))
    assert not book.synced and book.top() == (None, None)
    book.on_snapshot(SNAPSHOT)
    assert not book.on_delta(delta(5, 6, [("50010.00", "0.00000")], 12345))
    assert not book.synced


def test_a_delta_that_overtook_its_snapshot_is_applied_after_it() -> None:
    book = OrderBook("BTC/USD")
    assert book.on_delta(delta(5, 6, [("50010.00", "0.00000")], after_taking_the_best_ask()))
    assert book.on_snapshot(SNAPSHOT)
    assert book.sequence == 6


def test_a_snapshot_with_a_wrong_checksum_is_refused() -> None:
    book = OrderBook("BTC/USD")
    assert not book.on_snapshot({**SNAPSHOT, "checksum": 1})
    assert not book.synced

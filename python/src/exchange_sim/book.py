"""An ORDERBOOK_L2 book kept from a snapshot and deltas, and trusted only while it checks out.

A delta applies only if its `prev_sequence` is the book's `sequence`; a delta at or below it is a
repeat or a late frame and changes nothing; after each delta the book's CRC-32 must equal the
delta's `checksum`. Anything else means the book is wrong: it resets itself and waits for a fresh
snapshot, keeping the deltas that arrive meanwhile (a reordered delta may overtake its snapshot).
Sans-IO: the client resubscribes when `on_delta` or `on_snapshot` answers False.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from .money import format_decimal, parse_decimal

CHECKSUM_LEVELS = 10  # levels per side the checksum covers (PROTOCOL.md, book checksum)
EARLY_DELTAS_MAX = 256  # deltas kept while waiting for a snapshot

Level = tuple[Decimal, Decimal]  # price, quantity


def book_checksum(bids: Sequence[Level], asks: Sequence[Level]) -> int:
    """CRC-32 of `price:quantity` for the best 10 asks (lowest first) then the best 10 bids
    (highest first), joined with `|`, in the wire's decimal text."""
    levels = [*asks[:CHECKSUM_LEVELS], *bids[:CHECKSUM_LEVELS]]
    text = "|".join(f"{format_decimal(p)}:{format_decimal(q)}" for p, q in levels)
    return zlib.crc32(text.encode("ascii"))


class OrderBook:
    """One symbol's L2 book. `sequence` is None while it waits for a snapshot."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.sequence: int | None = None
        self._bids: dict[Decimal, Decimal] = {}
        self._asks: dict[Decimal, Decimal] = {}
        self._early: list[dict[str, Any]] = []

    @property
    def synced(self) -> bool:
        return self.sequence is not None

    def bids(self) -> list[Level]:
        """Highest price first."""
        return sorted(self._bids.items(), reverse=True)

    def asks(self) -> list[Level]:
        """Lowest price first."""
        return sorted(self._asks.items())

    def top(self) -> tuple[Level | None, Level | None]:
        """The best bid and the best ask, each None when its side is empty."""
        bid = max(self._bids.items(), default=None)
        ask = min(self._asks.items(), default=None)
        return bid, ask

    def checksum(self) -> int:
        return book_checksum(self.bids(), self.asks())

    def reset(self) -> None:
        """Forgets the book until the next snapshot."""
        self.sequence = None
        self._bids, self._asks = {}, {}
        self._early = []

    def on_snapshot(self, snapshot: dict[str, Any]) -> bool:
        """Loads a whole book, then the deltas that came early. False: it does not check out."""
        early = sorted(self._early, key=lambda d: d["sequence"])
        self.reset()
        self._set_levels(snapshot)
        self.sequence = snapshot["sequence"]
        if self.checksum() != snapshot["checksum"]:
            self.reset()
            return False
        return all(self.on_delta(delta) for delta in early)

    def on_delta(self, delta: dict[str, Any]) -> bool:
        """Applies a delta if it follows on. False: the book is wrong and has been reset."""
        if self.sequence is None:
            if len(self._early) < EARLY_DELTAS_MAX:
                self._early.append(delta)
            return True
        if delta["sequence"] <= self.sequence:
            return True
        if delta["prev_sequence"] != self.sequence:
            self.reset()
            return False
        self._set_levels(delta)
        self.sequence = delta["sequence"]
        if self.checksum() != delta["checksum"]:
            self.reset()
            return False
        return True

    def apply_unchecked(self, frame: dict[str, Any]) -> None:
        """Applies a snapshot's or delta's levels with no check at all (the naive client)."""
        self._set_levels(frame)
        self.sequence = frame["sequence"]

    def _set_levels(self, frame: dict[str, Any]) -> None:
        for side, levels in (("bids", self._bids), ("asks", self._asks)):
            for level in frame[side]:
                price, quantity = parse_decimal(level["price"]), parse_decimal(level["quantity"])
                if quantity == 0:
                    levels.pop(price, None)
                else:
                    levels[price] = quantity

"""The account as its private event stream tells it: orders, fills and balances.

Every private event carries the account's gap-free `account_seq`. The view applies events strictly
in that order and exactly once: one at or below the last applied is a repeat and is ignored, one
ahead waits for those before it. What it cannot settle alone it reports: a gap that stays open (the
client resumes over it), and two different events claiming one `account_seq` (a fabricated fill: the
client rebuilds the view from the exchange's answers, `replace`).

Sans-IO: frames and the current time go in, nothing is sent from here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from .money import parse_decimal

WORKING_STATUSES = frozenset({"PENDING", "OPEN", "PARTIALLY_FILLED"})
EVENT_TYPES = frozenset(
    {
        "ORDER_ACK",
        "ORDER_FILL",
        "ORDER_CANCEL",
        "ORDER_AMENDED",
        "BALANCE_UPDATE",
        "POSITION_UPDATE",
    }
)
# How far back a repeat is still compared with what was applied at its place (older ones are
# simply ignored), and how many events may wait for a missing one before the view gives up on the
# stream and asks to be rebuilt.
FINGERPRINTS_KEPT = 10_000
PENDING_MAX = 100_000

Frame = dict[str, Any]


@dataclass(frozen=True)
class Order:
    """One order as the exchange last described it."""

    order_id: str
    client_order_id: str | None
    symbol: str
    side: str
    status: str
    price: Decimal | None
    filled_quantity: Decimal
    remaining_quantity: Decimal

    @property
    def working(self) -> bool:
        """Still on the book (or about to match): PENDING, OPEN or PARTIALLY_FILLED."""
        return self.status in WORKING_STATUSES

    @classmethod
    def from_wire(cls, obj: Frame) -> Order:
        """From an order object (ORDER_ACK, ORDER_STATUS, an element of ORDERS or REST /orders)."""
        price = obj.get("price")
        return cls(
            order_id=obj["order_id"],
            client_order_id=obj.get("client_order_id"),
            symbol=obj["symbol"],
            side=obj["side"],
            status=obj["status"],
            price=None if price is None else parse_decimal(price),
            filled_quantity=parse_decimal(obj["filled_quantity"]),
            remaining_quantity=parse_decimal(obj["remaining_quantity"]),
        )


@dataclass(frozen=True)
class Fill:
    """One fill of one of the account's orders."""

    fill_id: str
    order_id: str
    symbol: str
    side: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_currency: str

    @classmethod
    def from_wire(cls, obj: Frame) -> Fill:
        """From an ORDER_FILL event or an element of FILLS."""
        return cls(
            fill_id=obj["fill_id"],
            order_id=obj["order_id"],
            symbol=obj["symbol"],
            side=obj["side"],
            price=parse_decimal(obj["price"]),
            quantity=parse_decimal(obj["quantity"]),
            fee=parse_decimal(obj["fee"]),
            fee_currency=obj["fee_currency"],
        )


@dataclass(frozen=True)
class Balance:
    """One asset's balance: `total = available + locked`."""

    total: Decimal
    available: Decimal
    locked: Decimal

    @classmethod
    def from_wire(cls, obj: Frame) -> Balance:
        return cls(*(parse_decimal(obj[k]) for k in ("total", "available", "locked")))


class Outcome(enum.Enum):
    """What became of one private event."""

    APPLIED = "applied"  # applied now, with whatever waited behind it
    HELD = "held"  # ahead of the stream: waits for the events before it
    DUPLICATE = "duplicate"  # applied or waiting already: ignored
    CONFLICT = "conflict"  # another event holds its account_seq: the view needs a rebuild
    OVERFLOW = "overflow"  # too much waits for a missing event: the view needs a rebuild


def is_private_event(frame: Frame) -> bool:
    """Whether a frame belongs to the account stream. The requester's copy of an ORDER_ACK or
    ORDER_CANCEL does (it carries request_id too); a BALANCE_UPDATE answering GET_BALANCE does
    not."""
    if frame["type"] not in EVENT_TYPES or "account_seq" not in frame:
        return False
    return not ("request_id" in frame and frame["type"] in ("BALANCE_UPDATE", "POSITION_UPDATE"))


def fingerprint(event: Frame) -> tuple[Any, ...]:
    """What identifies a private event: tells a repeat from a different event at one place."""
    return (event["type"], event.get("fill_id"), event.get("order_id"), event.get("asset"))


class AccountView:
    """The account's orders, fills and balances, kept from its private events.

    With `ordered=False` every event is applied as it arrives, repeats and fabrications included:
    that is the naive client the recovery tests compare against, not something to use.
    """

    def __init__(self, *, ordered: bool = True) -> None:
        self.ordered = ordered
        self.orders: dict[str, Order] = {}
        self.fills: dict[str, Fill] = {}
        self.fill_count = 0  # fills applied; more than len(fills) only when unordered
        self.balances: dict[str, Balance] = {}
        self.account_seq = 0  # the last event applied
        self.needs_rebuild = False
        self._exchange_seq = 0  # the highest account_seq the exchange has shown
        self._pending: dict[int, Frame] = {}
        self._fingerprints: dict[int, tuple[Any, ...]] = {}
        self._holding = False
        self._gap_since: float | None = None

    def open_orders(self) -> dict[str, Order]:
        """The working orders by order_id."""
        return {oid: o for oid, o in self.orders.items() if o.working}

    def find(self, client_order_id: str) -> Order | None:
        """The newest order with this client_order_id, if the view has one."""
        matches = [o for o in self.orders.values() if o.client_order_id == client_order_id]
        return max(matches, key=lambda o: int(o.order_id), default=None)

    def on_event(self, event: Frame, now: float) -> Outcome:
        """Takes one private event (see `is_private_event`)."""
        if not self.ordered:
            self._apply(event)
            return Outcome.APPLIED
        seq: int = event["account_seq"]
        known = self._fingerprints.get(seq)
        if known is None and seq in self._pending:
            known = fingerprint(self._pending[seq])
        if known is not None and known != fingerprint(event):
            self.needs_rebuild = True
            return Outcome.CONFLICT
        if seq <= self.account_seq or seq in self._pending:
            return Outcome.DUPLICATE
        if len(self._pending) >= PENDING_MAX:
            self.needs_rebuild = True
            return Outcome.OVERFLOW
        self._pending[seq] = event
        before = self.account_seq
        self._drain()
        self._track_gap(now)
        return Outcome.APPLIED if self.account_seq > before else Outcome.HELD

    def note_exchange_seq(self, account_seq: int, now: float) -> None:
        """The exchange says the account is at `account_seq` (HEARTBEAT, LOGGED_IN, RESUMED, a
        query's answer). A view behind it is missing events: that is a gap too."""
        if not self.ordered:
            return
        self._exchange_seq = max(self._exchange_seq, account_seq)
        self._track_gap(now)

    def gap_age(self, now: float) -> float | None:
        """For how long events have been missing, or None when nothing is."""
        if self._holding or self._gap_since is None:
            return None
        return now - self._gap_since

    def hold(self) -> None:
        """Keeps new events waiting instead of applying them, while the view is rebuilt."""
        self._holding = True

    def release(self, now: float) -> None:
        """Ends `hold` (after a rebuild that did not complete): waiting events apply again."""
        self._holding = False
        self._drain()
        self._track_gap(now)

    def replace(self, orders: Frame, balance: Frame, fills: Frame, now: float) -> None:
        """Rebuilds the view from the answers to GET_ORDERS, GET_BALANCE and GET_FILLS, which must
        all reflect one `account_seq`. Events after it that are waiting then apply."""
        seq: int = orders["account_seq"]
        if balance["account_seq"] != seq or fills["account_seq"] != seq:
            raise ValueError("the three answers reflect different account_seq values")
        self.orders = {o["order_id"]: Order.from_wire(o) for o in orders["orders"]}
        self.fills = {f["fill_id"]: Fill.from_wire(f) for f in fills["fills"]}
        self.fill_count = len(self.fills)
        self.balances = {a: Balance.from_wire(b) for a, b in balance["balances"].items()}
        self.account_seq = seq
        self._exchange_seq = max(self._exchange_seq, seq)
        self._fingerprints.clear()
        self._pending = {s: e for s, e in self._pending.items() if s > seq}
        self.needs_rebuild = False
        self._gap_since = None
        self.release(now)

    def _drain(self) -> None:
        while not self._holding and self.account_seq + 1 in self._pending:
            self.account_seq += 1
            event = self._pending.pop(self.account_seq)
            self._fingerprints[self.account_seq] = fingerprint(event)
            self._fingerprints.pop(self.account_seq - FINGERPRINTS_KEPT, None)
            self._apply(event)

    def _track_gap(self, now: float) -> None:
        missing = bool(self._pending) or self.account_seq < self._exchange_seq
        if not missing:
            self._gap_since = None
        elif self._gap_since is None:
            self._gap_since = now

    def _apply(self, event: Frame) -> None:
        kind = event["type"]
        if kind == "ORDER_ACK":
            self.orders[event["order_id"]] = Order.from_wire(event)
        elif kind == "ORDER_FILL":
            fill = Fill.from_wire(event)
            self.fill_count += 1
            self.fills[fill.fill_id] = fill
            self._update_order(event, event["status"])
        elif kind == "ORDER_CANCEL":
            self._update_order(event, event["status"])
        elif kind == "ORDER_AMENDED":
            self._update_order(event, None)
        elif kind == "BALANCE_UPDATE":
            for asset, balance in event["balances"].items():
                self.balances[asset] = Balance.from_wire(balance)
        # POSITION_UPDATE: positions are not kept (REST has no route to check them against).

    def _update_order(self, event: Frame, status: str | None) -> None:
        """An order's quantities (and status, unless None) from a fill, cancel or amend. An order
        the view never saw acknowledged is added from the event itself."""
        filled = parse_decimal(event["filled_quantity"])
        remaining = parse_decimal(event["remaining_quantity"])
        order = self.orders.get(event["order_id"])
        if order is None:
            order = Order(
                order_id=event["order_id"],
                client_order_id=event.get("client_order_id"),
                symbol=event["symbol"],
                side=event["side"],
                status=status or "OPEN",
                price=None,
                filled_quantity=filled,
                remaining_quantity=remaining,
            )
        self.orders[order.order_id] = replace(
            order,
            status=status or order.status,
            filled_quantity=filled,
            remaining_quantity=remaining,
        )

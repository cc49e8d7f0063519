"""Which server frames are well formed: every field this package reads has the type it expects.

The fault layer's `corrupt_messages` can turn a frame into text that still parses, with a number
where a string was or a key misspelt. Such a frame is dropped here, before anything reads it,
exactly as if the network had lost it: the counters (`account_seq`, book sequences) then show the
loss and the usual repair applies. Everything after this check may index the fields below without
guarding.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .money import is_wire_decimal

Check = Callable[[Any], bool]


def _int(value: Any) -> bool:
    return type(value) is int


def _str(value: Any) -> bool:
    return isinstance(value, str)


def _optional(check: Check) -> Check:
    return lambda value: value is None or check(value)


def _fields(spec: dict[str, Check]) -> Check:
    return lambda obj: isinstance(obj, dict) and all(check(obj.get(k)) for k, check in spec.items())


def _list_of(check: Check) -> Check:
    return lambda value: isinstance(value, list) and all(check(item) for item in value)


def _map_of(check: Check) -> Check:
    return lambda value: isinstance(value, dict) and all(check(item) for item in value.values())


_dec = is_wire_decimal
_ORDER = {
    "order_id": _str,
    "client_order_id": _optional(_str),
    "symbol": _str,
    "side": _str,
    "status": _str,
    "price": _optional(_dec),
    "filled_quantity": _dec,
    "remaining_quantity": _dec,
}
_FILL = {
    "fill_id": _str,
    "order_id": _str,
    "client_order_id": _optional(_str),
    "symbol": _str,
    "side": _str,
    "price": _dec,
    "quantity": _dec,
    "filled_quantity": _dec,
    "remaining_quantity": _dec,
    "status": _str,
    "fee": _dec,
    "fee_currency": _str,
}
_CLOSE = {
    "order_id": _str,
    "client_order_id": _optional(_str),
    "symbol": _str,
    "side": _str,
    "filled_quantity": _dec,
    "remaining_quantity": _dec,
}
_LEVELS = _list_of(_fields({"price": _dec, "quantity": _dec}))
_BALANCES = _map_of(_fields({"total": _dec, "available": _dec, "locked": _dec}))
_BOOK = {"symbol": _str, "bids": _LEVELS, "asks": _LEVELS, "sequence": _int, "checksum": _int}
_SEQ: dict[str, Check] = {"account_seq": _int}

# Every server message type (PROTOCOL.md, message reference) with the fields read from it.
SHAPES: dict[str, dict[str, Check]] = {
    "PONG": {},
    "LOGGED_IN": {"resume_token": _str, **_SEQ},
    "RESUMED": {"resume_token": _str, **_SEQ},
    "LOGGED_OUT": {},
    "ORDER_ACK": {**_ORDER, **_SEQ},
    "ORDER_STATUS": {**_ORDER, **_SEQ},
    "ORDER_REJECT": {"code": _str},
    "ORDER_FILL": {**_FILL, **_SEQ},
    "ORDER_CANCEL": {**_CLOSE, "status": _str, **_SEQ},
    "ORDER_AMENDED": {**_CLOSE, **_SEQ},
    "BALANCE_UPDATE": {"balances": _BALANCES, **_SEQ},
    "POSITION_UPDATE": _SEQ,
    "CANCEL_ALL_ACK": _SEQ,
    "CANCEL_ALL_AFTER_ACK": {},
    "CANCEL_ON_DISCONNECT_SET": {},
    "ORDERS": {"orders": _list_of(_fields(_ORDER)), **_SEQ},
    "FILLS": {"fills": _list_of(_fields(_FILL)), **_SEQ},
    "ORDERBOOK_SNAPSHOT": _BOOK,
    "ORDERBOOK_UPDATE": _BOOK,
    "TRADE": {"symbol": _str, "trade_id": _int},
    "MARKET_DATA": {},
    "CANDLE": {},
    "HEARTBEAT": {"account_seq": _optional(_int)},
    "SUBSCRIBED": {},
    "UNSUBSCRIBED": {},
    "STREAM_RESET": {"channel": _str, "symbol": _optional(_str)},
    "SERVER_NOTICE": {},
    "ERROR": {"code": _str, "details": _optional(lambda d: isinstance(d, dict))},
}


def well_formed(frame: Any) -> bool:
    """Whether a decoded frame is an object of a known type whose read fields have their types."""
    if not isinstance(frame, dict) or not _int(frame.get("seq")):
        return False
    kind = frame.get("type")
    shape = SHAPES.get(kind) if isinstance(kind, str) else None
    if shape is None or not all(check(frame.get(k)) for k, check in shape.items()):
        return False
    if kind == "ORDERBOOK_UPDATE" and frame.get("channel") == "ORDERBOOK_L2":
        return _int(frame.get("prev_sequence"))
    return True

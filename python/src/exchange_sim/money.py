"""Money on the wire is decimal strings; inside this package it is `Decimal`, never a float.

A `Decimal` made from a wire string keeps its scale, so `format_decimal` gives back the very same
text ("0.10000" stays "0.10000", "0.0000000" does not become "0E-7"): the book checksum and a byte
for byte comparison with REST depend on that.
"""

from __future__ import annotations

import re
from decimal import Decimal

# What the server writes: digits, optionally a point and more digits (no sign, no exponent).
_WIRE_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")


def is_wire_decimal(value: object) -> bool:
    """Whether `value` is a decimal string as the server writes one."""
    return isinstance(value, str) and _WIRE_DECIMAL.fullmatch(value) is not None


def parse_decimal(text: str) -> Decimal:
    """A wire decimal string as a `Decimal` with the same scale."""
    if not is_wire_decimal(text):
        raise ValueError(f"not a decimal string of the wire: {text!r}")
    return Decimal(text)


def format_decimal(value: Decimal) -> str:
    """The wire's text of a `Decimal`: fixed point, never an exponent."""
    return format(value, "f")


def request_decimal(value: Decimal | str | int) -> str:
    """A price or quantity for a request. Floats are refused: they are not exact, and the server
    refuses JSON numbers for prices and quantities anyway."""
    if isinstance(value, (bool, float)):
        raise TypeError(f"prices and quantities are Decimal or str, not {type(value).__name__}")
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, (str, int)):
        return str(value)
    raise TypeError(f"prices and quantities are Decimal or str, not {type(value).__name__}")

"""What the package's tests share: configurations and a condition wait. Every test that needs a
server gets its own through the plugin's `exchange_sim` fixture, configured by its marker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
SCENARIOS = REPOSITORY / "examples" / "faults"

ALICE = {"api_key": "alice-key", "balances": {"USD": "1000000", "BTC": "100"}}
BOB = {"api_key": "bob-key", "balances": {"USD": "1000000", "BTC": "100"}}
# Only the accounts' own orders on the book: every frame a test sees is caused by the test.
QUIET = {
    "exchange": {"market_makers": {"enabled": False}, "taker_flow": {"enabled": False}},
    "accounts": {"alice": ALICE, "bob": BOB},
}
# A living market: makers refresh every 100 ms and takers trade, so streams keep flowing.
LIVELY = {
    "exchange": {
        "market_makers": {"refresh_ms": 100},
        "history": {"resume_events_per_account": 100000},
    },
    "accounts": {"alice": ALICE},
}
WAIT_S = 20.0  # how long a test waits for a condition before failing (never a synchronisation)


async def eventually(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    """Waits until `condition()` holds, checking every 10 ms; fails the test after `timeout_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)

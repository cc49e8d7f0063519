"""Exponential back-off with jitter, so that a crowd of clients does not hammer a recovering
exchange in step."""

from __future__ import annotations

import asyncio
import random


class Backoff:
    """Waits `first_s`, then twice as long each time up to `cap_s`, each wait a random 50-100%."""

    def __init__(self, rng: random.Random, first_s: float = 0.1, cap_s: float = 5.0) -> None:
        self._rng = rng
        self._delay_s = first_s
        self._cap_s = cap_s

    def next_delay_s(self) -> float:
        """The next wait, and doubles the one after."""
        delay_s = self._delay_s * self._rng.uniform(0.5, 1.0)
        self._delay_s = min(self._delay_s * 2, self._cap_s)
        return delay_s

    async def wait(self) -> None:
        await asyncio.sleep(self.next_delay_s())

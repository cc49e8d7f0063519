"""One WebSocket connection to the exchange: numbered requests matched to their answers, and every
incoming frame checked (`seq` accounting, well-formedness) before the client sees it.

A link is never repaired: when it ends or stops answering, the client drops it and opens another.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from .frames import well_formed
from .stats import Stats

MAX_FRAME_BYTES = 2**22  # a full L2 snapshot of a deep book is large
CLOSE_TIMEOUT_S = 0.5  # a dying link gets this long to close cleanly

Frame = dict[str, Any]


class LinkLost(Exception):
    """The connection ended, or a request got no answer in time: the link must be replaced."""


class Link:
    """An open connection. `on_frame` sees every well-formed frame, answers included, in order."""

    def __init__(
        self,
        ws: ClientConnection,
        stats: Stats,
        on_frame: Callable[[Frame], None],
        on_lost: Callable[[Link], None],
    ) -> None:
        self.lost = False
        self.failure: BaseException | None = None  # a bug in a frame handler, not a network fault
        self._ws = ws
        self._stats = stats
        self._on_frame = on_frame
        self._on_lost = on_lost
        self._answers: dict[str, asyncio.Future[Frame]] = {}
        self._next_request = 0
        self._last_seq = 0
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(
        cls,
        url: str,
        stats: Stats,
        on_frame: Callable[[Frame], None],
        on_lost: Callable[[Link], None],
        open_timeout_s: float,
    ) -> Link:
        """Connects. Raises OSError, TimeoutError or a WebSocketException (a refused upgrade)."""
        ws = await connect(
            url,
            max_size=MAX_FRAME_BYTES,
            open_timeout=open_timeout_s,
            close_timeout=CLOSE_TIMEOUT_S,
        )
        return cls(ws, stats, on_frame, on_lost)

    async def ask(self, request: Frame, timeout_s: float) -> Frame:
        """Sends a request with a fresh request_id and returns the frame that answers it."""
        if self.lost:
            raise LinkLost("the link is gone")
        self._next_request += 1
        request_id = f"r{self._next_request}"
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._answers[request_id] = future
        try:
            await self._ws.send(json.dumps({**request, "request_id": request_id}))
            return await asyncio.wait_for(future, timeout_s)
        except (asyncio.TimeoutError, OSError, WebSocketException) as e:
            raise LinkLost(f"no answer to {request['type']}") from e
        finally:
            self._answers.pop(request_id, None)

    def abandon(self) -> None:
        """Gives the link up at once: pending requests fail, later frames are ignored."""
        if self.lost:
            return
        self.lost = True
        for future in self._answers.values():
            if not future.done():
                future.set_exception(LinkLost("the link was given up"))
        self._on_lost(self)

    async def close(self) -> None:
        """Abandons the link and closes the connection."""
        self.abandon()
        await self._ws.close()
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)

    async def _read(self) -> None:
        try:
            async for text in self._ws:
                if self.lost:
                    break
                self._take(text)
        except (OSError, WebSocketException):
            pass
        except Exception as e:  # a handler's bug: surfaced by the client, never taken for a fault
            self.failure = e
        self.abandon()

    def _take(self, text: str | bytes) -> None:
        try:
            frame = json.loads(text)
        except ValueError:
            frame = None
        seq = frame.get("seq") if isinstance(frame, dict) else None
        if type(seq) is int:
            self._count_seq(seq)
        if not well_formed(frame):
            self._stats.corrupt_frames += 1
            return
        assert isinstance(frame, dict)
        self._on_frame(frame)
        request_id = frame.get("request_id")
        future = self._answers.get(request_id) if isinstance(request_id, str) else None
        if future is not None and not future.done():
            future.set_result(frame)

    def _count_seq(self, seq: int) -> None:
        if seq > self._last_seq + 1:
            self._stats.lost_frames += seq - self._last_seq - 1
        elif seq == self._last_seq:
            self._stats.duplicate_frames += 1
        elif seq < self._last_seq:
            self._stats.reordered_frames += 1
        self._last_seq = max(self._last_seq, seq)

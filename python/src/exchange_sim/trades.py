"""Loss and repeat counting for one symbol's TRADES stream, whose `trade_id` is gap-free."""

from __future__ import annotations


class TradeTape:
    """The last `trade_id` seen on one symbol's TRADES stream."""

    def __init__(self) -> None:
        self.last_trade_id: int | None = None

    def observe(self, trade_id: int) -> int | None:
        """How many trades were skipped before this one (0 when it follows on), or None when it
        is a repeat or a late frame."""
        last, self.last_trade_id = self.last_trade_id, max(trade_id, self.last_trade_id or 0)
        if last is None:
            return 0
        if trade_id <= last:
            return None
        return trade_id - last - 1

    def restart(self) -> None:
        """After STREAM_RESET the next id may jump on purpose: start counting afresh."""
        self.last_trade_id = None

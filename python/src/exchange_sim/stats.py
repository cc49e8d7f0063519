"""What a client noticed the network and the exchange do to it, counted."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Stats:
    """Counters of one ResilientClient. Each says how often a fault was seen and handled."""

    lost_frames: int = 0  # frames missing from `seq`
    duplicate_frames: int = 0  # a `seq` seen again
    reordered_frames: int = 0  # a `seq` below the highest seen
    corrupt_frames: int = 0  # frames that did not parse or had fields of the wrong type
    duplicate_events: int = 0  # private events at or below the last applied `account_seq`
    gap_repairs: int = 0  # account stream gaps that did not fill in, resumed over
    conflicts: int = 0  # two different events at one `account_seq` (a fabricated fill)
    rebuilds: int = 0  # views rebuilt from GET_ORDERS, GET_BALANCE, GET_FILLS
    book_resyncs: int = 0  # books found wrong (gap, checksum, STREAM_RESET) and reloaded
    reconnects: int = 0  # connections replaced after being established
    retries: int = 0  # requests sent again (EXCHANGE_BUSY, EXCHANGE_UNAVAILABLE, RATE_LIMITED, ...)
    reconciled: int = 0  # UNKNOWN_OUTCOME placements found on the exchange
    lost_trades: int = 0  # `trade_id`s skipped on a TRADES stream
    duplicate_trades: int = 0  # `trade_id`s seen again

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

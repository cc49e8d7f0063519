"""ResilientClient: a native-protocol client that keeps a true view of one account through an
unreliable link, and the reference for how a bot should recover (PROTOCOL.md, recovery).

- The link: a supervisor task keeps one connection bound to the account. It LOGINs (with
  cancel-on-disconnect) the first time and RESUMEs from the last applied `account_seq` after every
  reconnect; on RESUME_GAP it rebuilds the view from GET_ORDERS, GET_BALANCE and GET_FILLS.
  Reconnects back off exponentially with jitter.
- The account: private events go through `AccountView` (strictly in `account_seq` order, exactly
  once). A gap that does not fill in within `gap_patience_s` is resumed over; two different events
  at one `account_seq` (a fabricated fill) make the client rebuild the view.
- Books: ORDERBOOK_L2 per symbol through `OrderBook` (`prev_sequence` chain and CRC-32 checksum);
  on a mismatch or STREAM_RESET the client subscribes again for a fresh snapshot.
- Trades: `trade_id` gaps and repeats are counted per symbol.
- Orders: `place_order` makes the exchange take an order exactly once. The client_order_id is the
  idempotency key: after a lost answer the client resumes (which shows every order the exchange
  took) and sends again only if the order is still unknown; after UNKNOWN_OUTCOME it asks
  GET_ORDER. EXCHANGE_BUSY, EXCHANGE_UNAVAILABLE and RATE_LIMITED mean the request never reached
  the engine: it is sent again after a back-off.

With `recovery=False` the client trusts every frame (no ordering, no resume, no book checks, blind
retries): it exists to show what the faults do to a naive client, nothing else.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable
from decimal import Decimal

from websockets.exceptions import InvalidURI, WebSocketException

from .account import AccountView, Order, Outcome, is_private_event
from .backoff import Backoff
from .book import OrderBook
from .errors import AuthFailed, OrderRejected, RequestError
from .link import Frame, Link, LinkLost
from .money import request_decimal
from .stats import Stats
from .trades import TradeTape

# Codes that mean the request never reached the engine: safe to send again after a back-off.
NOT_EXECUTED = frozenset({"EXCHANGE_BUSY", "EXCHANGE_UNAVAILABLE", "RATE_LIMITED"})
# Codes that say a request arrived damaged. The fault layer corrupts what clients send too, and a
# malformed request changes nothing, so it is sent again, a few times (a request that really is
# wrong, a price off the tick say, then raises).
MALFORMED = frozenset(
    {
        "INVALID_JSON",
        "INVALID_MESSAGE",
        "UNKNOWN_TYPE",
        "MISSING_FIELD",
        "INVALID_FIELD",
        "UNKNOWN_SYMBOL",
        "UNKNOWN_CHANNEL",
        "TICK_SIZE",
        "LOT_SIZE",
        "NOT_POSITIVE",
        "OVERFLOW",
    }
)
MALFORMED_RETRIES_MAX = 3
# Answers that carry the account's current account_seq (besides the private events themselves).
SEQ_ANSWERS = frozenset(
    {
        "LOGGED_IN",
        "RESUMED",
        "ORDER_STATUS",
        "ORDERS",
        "FILLS",
        "BALANCE_UPDATE",
        "POSITION_UPDATE",
        "CANCEL_ALL_ACK",
        "HEARTBEAT",
    }
)
REBUILD_ATTEMPTS_MAX = 20  # tries at three answers of one account_seq before the link is replaced
RESUBSCRIBES_MAX = 5  # SUBSCRIBEs without a snapshot before the link is replaced


class ResilientClient:
    """A client of one configured account. Use as `async with ResilientClient(...) as client:`.

    What it knows is in `view` (orders, fills, balances), `books` (per symbol) and `stats`.
    """

    def __init__(
        self,
        url: str,
        account: str,
        api_key: str,
        *,
        symbols: Iterable[str] = (),
        cancel_on_disconnect: bool = True,
        recovery: bool = True,
        answer_timeout_s: float = 1.0,
        gap_patience_s: float = 0.5,
        open_timeout_s: float = 2.0,
        seed: int | None = None,
    ) -> None:
        self.url = url
        self.account = account
        self.api_key = api_key
        self.symbols = tuple(symbols)
        self.cancel_on_disconnect = cancel_on_disconnect
        self.recovery = recovery
        self.answer_timeout_s = answer_timeout_s
        self.gap_patience_s = gap_patience_s
        self.open_timeout_s = open_timeout_s
        self.view = AccountView(ordered=recovery)
        self.books = {symbol: OrderBook(symbol) for symbol in self.symbols}
        self.tapes = {symbol: TradeTape() for symbol in self.symbols}
        self.stats = Stats()
        self._rng = random.Random(seed)  # back-off jitter and made-up client_order_ids
        self._order_prefix = f"c{self._rng.getrandbits(32):08x}"
        self._next_order = 0
        self._link: Link | None = None
        self._resume_token: str | None = None
        # Whether the view was ever built from the exchange's answers. Until it was, there is
        # nothing to resume from: the opening deposits take account_seq values but are never sent.
        self._built = False
        self._ready = asyncio.Event()  # set while a bound link is up (or once the client failed)
        self._attention = asyncio.Event()  # wakes the supervisor: link lost, gap, conflict
        self._progress = asyncio.Event()  # set whenever the view applied an event
        self._books_loaded = {symbol: asyncio.Event() for symbol in self.symbols}
        self._resyncs: dict[str, asyncio.Task[None]] = {}
        self._fatal: BaseException | None = None
        self._supervisor: asyncio.Task[None] | None = None

    # ----- lifetime ----------------------------------------------------------------------------

    async def __aenter__(self) -> ResilientClient:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self, timeout_s: float = 30.0) -> None:
        """Connects and binds. Raises AuthFailed when the account or api key is wrong, and
        TimeoutError when no connection could be bound in `timeout_s`."""
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise())
        try:
            await asyncio.wait_for(self._wait_ready(), timeout_s)
        except BaseException:
            await self.close()
            raise

    async def close(self, *, keep_orders: bool = False) -> None:
        """Stops reconnecting and closes the connection. Cancel-on-disconnect then cancels the
        account's open orders, as on any disconnect; with `keep_orders` the client first sends
        LOGOUT, which ends the protection, so that the orders stay on the book."""
        tasks = [t for t in (self._supervisor, *self._resyncs.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        link = self._link
        if link is not None:
            if keep_orders and not link.lost:
                try:
                    await link.ask({"type": "LOGOUT"}, self.answer_timeout_s)
                except LinkLost:
                    pass  # unanswered: the close below may still cancel the orders
            await link.close()
        if self._fatal is None:
            self._fatal = RuntimeError("the client is closed")
        self._ready.set()

    # ----- requests ----------------------------------------------------------------------------

    async def request(self, message: Frame) -> Frame:
        """Sends a request that is safe to repeat (a query, a subscription, PING) until it is
        answered, and returns the answer. Raises RequestError for an ERROR the exchange means."""
        retries = _Retries(self)
        while True:
            link = await self._wait_ready()
            try:
                answer = await link.ask(message, self.answer_timeout_s)
            except LinkLost:
                self._replace(link)
                continue
            if answer["type"] != "ERROR":
                return answer
            if not await retries.again(answer["code"]):
                raise RequestError(answer)

    async def place_order(
        self,
        symbol: str,
        side: str,
        quantity: Decimal | str,
        *,
        price: Decimal | str | None = None,
        order_type: str = "LIMIT",
        time_in_force: str | None = None,
        post_only: bool | None = None,
        client_order_id: str | None = None,
    ) -> Order:
        """Places an order so that the exchange takes it exactly once, and returns it as the
        exchange acknowledged it. Without a client_order_id one is made up (it is what makes a
        retry safe). Placing the same order again with the same client_order_id returns the
        existing order; another order with a used client_order_id raises OrderRejected
        (DUPLICATE_CLIENT_ORDER_ID), as does any order the engine refuses."""
        coid = client_order_id or self._make_client_order_id()
        request: Frame = {
            "type": "PLACE_ORDER",
            "symbol": symbol,
            "side": side,
            "order_type": order_type,
            "quantity": request_decimal(quantity),
            "client_order_id": coid,
        }
        if price is not None:
            request["price"] = request_decimal(price)
        if time_in_force is not None:
            request["time_in_force"] = time_in_force
        if post_only is not None:
            request["post_only"] = post_only
        retries = _Retries(self)
        uncertain = False  # an earlier attempt may have reached the exchange
        while True:
            link = await self._wait_ready()
            known = self.view.find(coid) if uncertain and self.recovery else None
            if known is not None:
                return known
            try:
                answer = await link.ask(request, self.answer_timeout_s)
            except LinkLost:
                uncertain = True
                if self.recovery:
                    self._replace(link)  # the resumed stream shows whether the exchange took it
                else:
                    self.stats.retries += 1  # a blind retry: how naive clients place twice
                continue
            if answer["type"] == "ORDER_ACK":
                return Order.from_wire(answer)
            code = answer["code"]
            if code == "UNKNOWN_OUTCOME":
                uncertain = True
                if not self.recovery:
                    self.stats.retries += 1
                    continue
                found = await self._reconcile(coid)
                if found is not None:
                    return found
            elif code == "DUPLICATE_CLIENT_ORDER_ID":
                # An earlier attempt reached the exchange, or this one arrived twice (the fault
                # layer duplicates what clients send too): the order with this id is the one,
                # unless it is another order that merely reuses the id.
                existing = await self._order_status(coid)
                if uncertain or _same_order(existing, request):
                    return existing
                raise OrderRejected(answer)
            elif answer["type"] == "ORDER_REJECT":
                raise OrderRejected(answer)
            elif not await retries.again(code):
                raise RequestError(answer)

    async def cancel_order(
        self, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> str:
        """Cancels an order and returns its final status (CANCELLED, or the status it had already
        closed with). Safe to repeat: after a lost answer it is sent again."""
        request: Frame = {"type": "CANCEL_ORDER"}
        if order_id is not None:
            request["order_id"] = order_id
        if client_order_id is not None:
            request["client_order_id"] = client_order_id
        try:
            answer = await self.request(request)
        except RequestError as e:
            if e.code == "ORDER_CLOSED":
                return str(e.details.get("status"))
            raise
        return str(answer["status"])

    async def cancel_all(self, symbol: str | None = None) -> int:
        """Cancels every open order (of one symbol); returns how many this request cancelled."""
        request: Frame = {"type": "CANCEL_ALL"}
        if symbol is not None:
            request["symbol"] = symbol
        answer = await self.request(request)
        return int(answer.get("cancelled", 0))

    async def sync(self, timeout_s: float = 30.0) -> None:
        """Returns once the view holds every event of the account up to now and each book has
        been loaded afresh: after it, the view may be compared with REST."""
        await asyncio.wait_for(self._sync(), timeout_s)

    # ----- the link's supervisor -------------------------------------------------------------

    async def _supervise(self) -> None:
        backoff = Backoff(self._rng)
        malformed = 0  # binding requests answered as malformed in a row
        try:
            while True:
                try:
                    link = await Link.open(
                        self.url, self.stats, self._on_frame, self._on_lost, self.open_timeout_s
                    )
                except InvalidURI:
                    raise
                except (OSError, asyncio.TimeoutError, WebSocketException):
                    await backoff.wait()
                    continue
                self._link = link
                try:
                    await self._bind(link)
                    await self._subscribe(link)
                except (LinkLost, _Retry) as e:
                    await self._drop(link)
                    if isinstance(e, _Retry) and e.answer["code"] in MALFORMED:
                        malformed += 1
                        if malformed > MALFORMED_RETRIES_MAX:
                            raise RequestError(e.answer) from None
                    await backoff.wait()
                    continue
                backoff = Backoff(self._rng)
                malformed = 0
                self._ready.set()
                await self._watch(link)
                self._ready.clear()
                self.stats.reconnects += 1
                await self._drop(link)
        except asyncio.CancelledError:
            raise
        except BaseException as e:
            self._fatal = e
            self._ready.set()

    @staticmethod
    async def _drop(link: Link) -> None:
        """Closes a link; a bug met while reading it is raised, never taken for a network fault."""
        await link.close()
        if link.failure is not None:
            raise link.failure

    async def _wait_ready(self) -> Link:
        """The current bound link, once there is one."""
        while True:
            await self._ready.wait()
            if self._fatal is not None:
                raise self._fatal
            link = self._link
            if link is not None and not link.lost:
                return link
            self._ready.clear()

    def _replace(self, link: Link) -> None:
        """Asks the supervisor for a new link (if `link` is still the current one)."""
        if link is self._link:
            link.abandon()

    def _on_lost(self, link: Link) -> None:
        if link is self._link:
            self._ready.clear()
            self._attention.set()

    async def _bind(self, link: Link) -> None:
        """LOGIN, or RESUME from the last applied event; rebuilds the view when events are lost."""
        if self.recovery and self._built and self._resume_token is not None:
            answer = await self._ask(
                link,
                {
                    "type": "RESUME",
                    "resume_token": self._resume_token,
                    "last_account_seq": self.view.account_seq,
                    "cancel_on_disconnect": self.cancel_on_disconnect,
                },
            )
            if answer["type"] == "RESUMED":
                self._resume_token = answer["resume_token"]
                return
            if answer["code"] == "RESUME_GAP":
                self._resume_token = answer["details"].get("resume_token", self._resume_token)
                await self._rebuild(link)
                return
            if answer["code"] != "INVALID_RESUME_TOKEN":
                raise _refusal(answer)
        answer = await self._ask(
            link,
            {
                "type": "LOGIN",
                "account": self.account,
                "api_key": self.api_key,
                "cancel_on_disconnect": self.cancel_on_disconnect,
            },
        )
        if answer["type"] != "LOGGED_IN":
            raise _refusal(answer)
        self._resume_token = answer["resume_token"]
        if self.recovery:
            await self._rebuild(link)

    async def _subscribe(self, link: Link) -> None:
        channels: list[Frame] = []
        if self.recovery:
            channels.append({"type": "SUBSCRIBE", "channel": "HEARTBEAT"})
        for symbol in self.symbols:
            channels.append({"type": "SUBSCRIBE", "channel": "TRADES", "symbol": symbol})
            self.books[symbol].reset()
            self._books_loaded[symbol].clear()
            channels.append({"type": "SUBSCRIBE", "channel": "ORDERBOOK_L2", "symbol": symbol})
        # Sent together: on a slow link one round trip for all of them, not one each.
        for answer in await asyncio.gather(*(self._ask(link, r) for r in channels)):
            if answer["type"] != "SUBSCRIBED":
                raise _refusal(answer)

    async def _watch(self, link: Link) -> None:
        """Returns when the link must be replaced: it was lost, or a gap outlived the patience."""
        while True:
            self._attention.clear()
            if link.lost:
                return
            if self.view.needs_rebuild:
                self.stats.conflicts += 1
                try:
                    await self._rebuild(link)
                except (LinkLost, _Retry):
                    return
                continue
            age = self.view.gap_age(self._now())
            if age is not None and age >= self.gap_patience_s:
                self.stats.gap_repairs += 1
                return
            timeout_s = None if age is None else self.gap_patience_s - age
            try:
                await asyncio.wait_for(self._attention.wait(), timeout_s)
            except asyncio.TimeoutError:
                pass

    async def _rebuild(self, link: Link) -> None:
        """Replaces the view with the exchange's answers, all three taken at one account_seq."""
        self.stats.rebuilds += 1
        self.view.hold()
        try:
            for _ in range(REBUILD_ATTEMPTS_MAX):
                orders = await self._ask(link, {"type": "GET_ORDERS"})
                balance = await self._ask(link, {"type": "GET_BALANCE"})
                fills = await self._ask(link, {"type": "GET_FILLS"})
                answers = (orders, balance, fills)
                if any(a["type"] == "ERROR" for a in answers):
                    raise _refusal(next(a for a in answers if a["type"] == "ERROR"))
                if len({a["account_seq"] for a in answers}) == 1:
                    self.view.replace(orders, balance, fills, self._now())
                    self._built = True
                    self._progress.set()
                    return
            raise LinkLost("the account kept changing during a rebuild")
        finally:
            self.view.release(self._now())

    async def _ask(self, link: Link, request: Frame) -> Frame:
        return await link.ask(request, self.answer_timeout_s)

    # ----- frames ------------------------------------------------------------------------------

    def _on_frame(self, frame: Frame) -> None:
        kind = frame["type"]
        if is_private_event(frame):
            self._on_private_event(frame)
        elif kind in SEQ_ANSWERS:
            if frame.get("account_seq") is not None:
                self.view.note_exchange_seq(frame["account_seq"], self._now())
                self._attention.set()
        elif kind == "TRADE":
            self._on_trade(frame)
        elif kind == "STREAM_RESET":
            if frame["channel"] == "TRADES" and frame["symbol"] in self.tapes:
                self.tapes[frame["symbol"]].restart()
            elif frame["channel"] == "ORDERBOOK_L2" and frame["symbol"] in self.books:
                self.books[frame["symbol"]].reset()
                self._resync_book(frame["symbol"])
        elif (
            kind in ("ORDERBOOK_SNAPSHOT", "ORDERBOOK_UPDATE")
            and frame.get("channel") == "ORDERBOOK_L2"
        ):
            self._on_book(frame)

    def _on_private_event(self, event: Frame) -> None:
        before = self.view.account_seq
        outcome = self.view.on_event(event, self._now())
        if outcome is Outcome.DUPLICATE:
            self.stats.duplicate_events += 1
        if self.view.account_seq != before or not self.recovery:
            self._progress.set()
        if outcome in (Outcome.HELD, Outcome.CONFLICT, Outcome.OVERFLOW):
            self._attention.set()

    def _on_trade(self, trade: Frame) -> None:
        tape = self.tapes.get(trade["symbol"])
        if tape is None:
            return
        skipped = tape.observe(trade["trade_id"])
        if skipped is None:
            self.stats.duplicate_trades += 1
        else:
            self.stats.lost_trades += skipped

    def _on_book(self, frame: Frame) -> None:
        symbol = frame["symbol"]
        book = self.books.get(symbol)
        if book is None:
            return
        if not self.recovery:
            book.apply_unchecked(frame)
            if frame["type"] == "ORDERBOOK_SNAPSHOT":
                self._books_loaded[symbol].set()
            return
        if frame["type"] == "ORDERBOOK_SNAPSHOT":
            ok = book.on_snapshot(frame)
        else:
            ok = book.on_delta(frame)
        if book.synced:
            self._books_loaded[symbol].set()
        if not ok:
            self._resync_book(symbol)

    def _resync_book(self, symbol: str, *, count: bool = True) -> None:
        """Starts loading a fresh snapshot of a book found wrong (one SUBSCRIBE at a time)."""
        if count:
            self.stats.book_resyncs += 1
        self._books_loaded[symbol].clear()
        task = self._resyncs.get(symbol)
        if task is None or task.done():
            self._resyncs[symbol] = asyncio.get_running_loop().create_task(
                self._resubscribe(symbol)
            )

    async def _resubscribe(self, symbol: str) -> None:
        """SUBSCRIBE again (on whichever link is current) until a snapshot loads. A link that
        does not deliver one after a few tries is replaced."""
        loaded = self._books_loaded[symbol]
        tries = 0
        while not loaded.is_set():
            link = await self._wait_ready()
            request = {"type": "SUBSCRIBE", "channel": "ORDERBOOK_L2", "symbol": symbol}
            try:
                await self._ask(link, request)
                await asyncio.wait_for(loaded.wait(), self.answer_timeout_s)
            except LinkLost:
                self._replace(link)
            except asyncio.TimeoutError:
                tries += 1
                if tries == RESUBSCRIBES_MAX:
                    tries = 0
                    self._replace(link)

    # ----- helpers -----------------------------------------------------------------------------

    async def _sync(self) -> None:
        if not self.recovery:
            self._replace(await self._wait_ready())
            await self.request({"type": "PING"})
        else:
            while True:
                answer = await self.request({"type": "GET_BALANCE"})
                if await self._caught_up(answer["account_seq"]):
                    break
                self._replace(await self._wait_ready())
        for symbol in self.symbols:
            self.books[symbol].reset()
            self._resync_book(symbol, count=False)
            await self._books_loaded[symbol].wait()

    async def _caught_up(self, account_seq: int) -> bool:
        """Waits up to the gap patience for the view to reach `account_seq` (and to be rebuilt,
        if a conflict asked for that)."""
        deadline = self._now() + self.gap_patience_s
        while self.view.account_seq < account_seq or self.view.needs_rebuild:
            remaining_s = deadline - self._now()
            if remaining_s <= 0:
                return False
            self._progress.clear()
            try:
                await asyncio.wait_for(self._progress.wait(), remaining_s)
            except asyncio.TimeoutError:
                return False
        return True

    async def _reconcile(self, client_order_id: str) -> Order | None:
        """After UNKNOWN_OUTCOME: the order if the exchange took it, else None (send it again)."""
        try:
            order = await self._order_status(client_order_id)
        except RequestError as e:
            if e.code == "ORDER_NOT_FOUND":
                return None
            raise
        self.stats.reconciled += 1
        return order

    async def _order_status(self, client_order_id: str) -> Order:
        answer = await self.request({"type": "GET_ORDER", "client_order_id": client_order_id})
        return Order.from_wire(answer)

    def _make_client_order_id(self) -> str:
        self._next_order += 1
        return f"{self._order_prefix}-{self._next_order}"

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()


class _Retries:
    """Whether an ERROR answer means "send the request again", and the wait that goes with it."""

    def __init__(self, client: ResilientClient) -> None:
        self._stats = client.stats
        self._backoff = Backoff(client._rng)
        self._malformed = 0

    async def again(self, code: str) -> bool:
        if code in NOT_EXECUTED:
            self._stats.retries += 1
            await self._backoff.wait()
            return True
        if code in MALFORMED and self._malformed < MALFORMED_RETRIES_MAX:
            self._malformed += 1
            self._stats.retries += 1
            return True
        return False


class _Retry(Exception):
    """A binding request refused for now (EXCHANGE_UNAVAILABLE, damaged in transit...): the
    supervisor tries a new link later."""

    def __init__(self, answer: Frame) -> None:
        super().__init__(answer.get("code"))
        self.answer = answer


def _same_order(order: Order, request: Frame) -> bool:
    """Whether an order is what a PLACE_ORDER request asked for (symbol, side, price, quantity)."""
    price = None if "price" not in request else Decimal(request["price"])
    return (order.symbol, order.side, order.price) == (
        request["symbol"],
        request["side"],
        price,
    ) and order.filled_quantity + order.remaining_quantity == Decimal(request["quantity"])


def _refusal(answer: Frame) -> Exception:
    """The exception for an ERROR answer while binding: retry later, or give up for good."""
    code = answer.get("code")
    if code in NOT_EXECUTED or code in MALFORMED:
        return _Retry(answer)
    if code == "AUTH_FAILED":
        return AuthFailed(answer)
    return RequestError(answer)

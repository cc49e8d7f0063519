"""The exceptions this package raises. Those that answer a request carry the server's stable error
`code` (PROTOCOL.md, errors), so a test can assert on the code rather than on a message."""

from __future__ import annotations

from typing import Any


class ExchangeSimError(Exception):
    """The base of every error this package raises."""


class SimulatorError(ExchangeSimError):
    """The simulator binary could not be found, started or stopped."""


class ApiError(ExchangeSimError):
    """A REST or admin API answer with an HTTP error status.

    `code` is the JSON body's `code` (`ORDER_NOT_FOUND`, `INVALID_FAULT_CONFIG`, ...) when the body
    has one; `body` is the whole decoded body (or its text when it is not JSON).
    """

    def __init__(self, status: int, body: Any, url: str) -> None:
        self.status = status
        self.body = body
        self.url = url
        self.code: str | None = body.get("code") if isinstance(body, dict) else None
        message = body.get("message") if isinstance(body, dict) else body
        super().__init__(f"HTTP {status} {self.code or ''} from {url}: {message}")


class RequestError(ExchangeSimError):
    """A WebSocket request answered with `ERROR` (or `ORDER_REJECT`): `code`, `details`,
    `answer`."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.code: str | None = answer.get("code")
        details = answer.get("details")
        self.details: dict[str, Any] = details if isinstance(details, dict) else {}
        text = answer.get("message") or answer.get("reason") or ""
        super().__init__(f"{answer.get('type')} {self.code}: {text}")


class AuthFailed(RequestError):
    """LOGIN or RESUME was refused: the account is not configured or the api key is wrong."""


class OrderRejected(RequestError):
    """The engine refused an order (`ORDER_REJECT`): funds, limits, a reused client_order_id..."""

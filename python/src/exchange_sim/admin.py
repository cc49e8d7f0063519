"""`Admin`: the HTTP side of one running simulator. The admin API aims and counts faults and
manages connections (FAULTS.md, admin API); the REST routes are the exchange's ground truth, which
no fault ever touches (PROTOCOL.md, REST). Standard library only."""

from __future__ import annotations

import json
import os
import urllib.parse
from pathlib import Path
from typing import Any

from ._http import call

Json = Any


class Admin:
    """A client of `http` (e.g. `http://127.0.0.1:8765`). `api_key` is the default account for
    the account routes; `admin_token` is needed only when the server listens beyond loopback.
    Errors raise `ApiError` with the server's `code`."""

    def __init__(
        self,
        http: str,
        *,
        api_key: str | None = None,
        admin_token: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.http = http.rstrip("/")
        self.api_key = api_key
        self.admin_token = admin_token
        self.timeout_s = timeout_s

    # ----- faults ------------------------------------------------------------------------------

    def faults(self) -> Json:
        """The whole `failures` configuration, defaults written out."""
        return self._admin("GET", "/admin/faults")

    def put_faults(self, config: dict[str, Any] | str | os.PathLike[str]) -> Json:
        """Replaces the fault configuration with a `failures` object, a whole file's
        `{"failures": ...}`, or the path of such a file (examples/faults/*.json)."""
        if not isinstance(config, dict):
            config = json.loads(Path(config).read_text())
        return self._admin("PUT", "/admin/faults", config)

    def patch_fault(self, mode: str, patch: dict[str, Any] | None) -> Json:
        """JSON-merges `patch` into one mode (None removes the mode). The master switch
        `enabled` is not changed by this: a server started without faults needs `put_faults`."""
        return self._admin("PATCH", f"/admin/faults/{_quote(mode)}", patch)

    def reset_faults(self) -> Json:
        """Clears the fault statistics and log."""
        return self._admin("POST", "/admin/faults/reset", {})

    def one_shot(self, spec: dict[str, Any]) -> Json:
        """Arms a one-shot fault, e.g. `{"action": "drop", "count": 2, "message_types": [...]}`."""
        return self._admin("POST", "/admin/faults/one_shot", spec)

    def fault_stats(self) -> Json:
        return self._admin("GET", "/admin/faults/stats")

    def fault_log(self) -> Json:
        return self._admin("GET", "/admin/faults/log")

    def metrics(self) -> str:
        """The Prometheus text of /metrics."""
        return call(
            "GET", self.http + "/metrics", headers=self._admin_headers(), timeout_s=self.timeout_s
        )

    # ----- connections -------------------------------------------------------------------------

    def connections(self) -> Json:
        """The open WebSocket connections: id, account, address, age_ms, frames_in, frames_out."""
        return self._admin("GET", "/admin/connections")

    def disconnect(self, conn_id: int, *, abrupt: bool = False, code: int = 1000) -> Json:
        """Closes a connection: with a close frame and `code`, or `abrupt`ly (a TCP reset)."""
        body = {"mode": "abrupt"} if abrupt else {"mode": "clean", "code": code}
        return self._admin("POST", f"/admin/connections/{conn_id}/disconnect", body)

    # ----- REST ground truth -------------------------------------------------------------------

    def health(self) -> Json:
        return self._rest("/api/v1/health")

    def symbols(self) -> Json:
        return self._rest("/api/v1/symbols")

    def accounts(self) -> Json:
        return self._rest("/api/v1/accounts")

    def orderbook(self, symbol: str, depth: int | None = None) -> Json:
        return self._rest("/api/v1/orderbook", symbol=symbol, depth=depth)

    def trades(self, symbol: str, limit: int | None = None) -> Json:
        return self._rest("/api/v1/trades", symbol=symbol, limit=limit)

    def ticker(self, symbol: str | None = None) -> Json:
        """One symbol's ticker, or (without a symbol) a list of every symbol's."""
        return self._rest("/api/v1/ticker", symbol=symbol)

    def candles(self, symbol: str, interval: str | None = None, limit: int | None = None) -> Json:
        return self._rest("/api/v1/candles", symbol=symbol, interval=interval, limit=limit)

    def balances(self, api_key: str | None = None, *, account: str | None = None) -> Json:
        """The account's balances (BALANCE_UPDATE with every asset and `account_seq`). A
        configured account is named by its api key; an anonymous one by `account="anon-N"`."""
        return self._account("/api/v1/balances", api_key, account)

    def orders(self, api_key: str | None = None, *, account: str | None = None) -> Json:
        """`{"orders": [...open and closed...], "account_seq": N}`."""
        return self._account("/api/v1/orders", api_key, account)

    def order(
        self, order_id: str, api_key: str | None = None, *, account: str | None = None
    ) -> Json:
        """One order by order_id, or else by client_order_id."""
        return self._account(f"/api/v1/orders/{_quote(order_id)}", api_key, account)

    def fills(self, api_key: str | None = None, *, account: str | None = None) -> Json:
        """`{"fills": [...ORDER_FILL objects...], "account_seq": N}`."""
        return self._account("/api/v1/fills", api_key, account)

    # ----- plumbing ----------------------------------------------------------------------------

    def _admin(self, method: str, path: str, *body: Any) -> Json:
        text = call(
            method,
            self.http + path,
            body=body[0] if body else None,
            send_body=bool(body),
            headers=self._admin_headers(),
            timeout_s=self.timeout_s,
        )
        return json.loads(text)

    def _admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"} if self.admin_token else {}

    def _account(self, path: str, api_key: str | None, account: str | None) -> Json:
        """An account route: the X-API-KEY header, or `?account=` for an anonymous account."""
        key = api_key or (None if account else self.api_key)
        return self._rest(path, headers={"X-API-KEY": key} if key else {}, account=account)

    def _rest(self, path: str, *, headers: dict[str, str] | None = None, **query: Any) -> Json:
        params = {k: v for k, v in query.items() if v is not None}
        url = self.http + path + ("?" + urllib.parse.urlencode(params) if params else "")
        return json.loads(call("GET", url, headers=headers, timeout_s=self.timeout_s))


def _quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")

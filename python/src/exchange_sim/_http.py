"""A small HTTP helper over urllib (the package needs no HTTP library): JSON in and out, and any
error status turned into `ApiError` with the server's error code."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, cast

from .errors import ApiError


def call(
    method: str,
    url: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout_s: float,
    send_body: bool = False,
) -> str:
    """Sends one request and returns the answer's text. With `send_body`, `body` goes as JSON
    (`None` as `null`, which some admin routes mean)."""
    data = json.dumps(body).encode() if send_body else None
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:
            return cast(bytes, answer.read()).decode()
    except urllib.error.HTTPError as e:
        text = e.read().decode(errors="replace")
        try:
            decoded: Any = json.loads(text)
        except ValueError:
            decoded = text
        raise ApiError(e.code, decoded, url) from None

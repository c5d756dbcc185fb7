"""``http.request``: one HTTP call with retries, a typed result and errors that never show the URL's secrets.

Built on ``requests`` (already a jetnb dependency). What is retried: a
connection that fails or drops, a timeout, a 5xx answer and 429 (too many
requests); waits follow ``backoff.delay`` and honour ``Retry-After``. Other
4xx answers are the caller's mistake and fail at once. The webhook and
Slack actions send through ``exchange``, the same loop, under their own
event.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from . import backoff as waits
from .errors import ActionError, ActionTimeout, ConnectionFailed, HTTPStatusError
from .record import Call, recorded
from .redact import masked, scrub, secrets_of, target
from .settings import count, json_body, seconds, url_text

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
EXCERPT = 200  # characters of an error answer's body kept in the exception
MAX_CHAIN = 10  # exception causes followed to find the root of a connection failure
MAX_RETRIES = 10  # with waits capped at backoff.MAX_WAIT, a call gives up within minutes
Headers = Mapping[str, str] | Callable[[], Mapping[str, str]] | None  # a callable is asked at each attempt


@dataclass(frozen=True)
class Response:
    """A successful answer: ``body`` is the parsed JSON when the Content-Type says JSON, else the text."""

    status: int
    headers: Mapping[str, str]  # case-insensitive
    body: Any
    attempts: int


@dataclass(frozen=True)
class _Failure:
    """One attempt that did not succeed, and whether trying again may help."""

    kind: type[ActionError]
    reason: str
    retryable: bool
    status: int | None = None
    excerpt: str = ""
    retry_after: float | None = None


def request(method: str, url: str, *, json: Any = None, data: Any = None, headers: Mapping[str, str] | None = None,
            params: Mapping[str, Any] | None = None, timeout: float = 10, retries: int = 3,
            backoff: float = 0.5) -> Response:
    """Send ``method url`` and return the answer; retried ``retries`` times after the first attempt when worth it.

    ``json`` (any JSON value) or ``data`` (bytes, text or a form mapping) is
    the body; ``timeout`` bounds the connect and each read, in seconds;
    ``backoff`` is the first wait between attempts. A final 4xx/5xx raises
    ``HTTPStatusError``; no answer raises ``ConnectionFailed`` or
    ``ActionTimeout``. Recorded as ``http.request`` (host, method, status).
    """
    __tracebackhide__ = True  # IPython shows the caller's line and the error, not these frames
    with recorded("http.request") as call:
        verb = _method(method)
        call.detail["method"] = verb
        if json is not None:
            if data is not None:
                raise ValueError("json, data: give one body, not both")
            data, headers = json_body("json", json), {"Content-Type": "application/json", **(headers or {})}
        return exchange(verb, url, call=call, headers=headers, timeout=timeout, retries=retries, backoff=backoff,
                        data=data, params=params)


def exchange(method: str, url: str, *, call: Call, headers: Headers, timeout: float, retries: int, backoff: float,
             argument: str = "url", **body: Any) -> Response:
    """The attempts of one call, recorded on ``call``; ``body`` is passed to ``requests`` (data, params).

    ``argument`` is what the caller named the URL, for errors about it.
    """
    __tracebackhide__ = True
    _check_url(argument, url, call)
    timeout, backoff, retries = seconds("timeout", timeout), seconds("backoff", backoff, zero=True), \
        count("retries", retries)
    if retries > MAX_RETRIES:
        raise ValueError(f"retries: at most {MAX_RETRIES}, got {retries} (a step's --retries repeats the whole call)")
    wait = 0.0
    with requests.Session() as session:
        for attempt in range(1, retries + 2):
            time.sleep(wait)
            call.attempts = attempt
            outcome = _attempt(session, method, url, call, timeout, headers, body)
            if isinstance(outcome, Response):
                return outcome
            failure = outcome
            if not failure.retryable:
                break
            wait = waits.delay(attempt, backoff, failure.retry_after)
    raise _error(failure, method, url, call.attempts)


def _attempt(session: requests.Session, method: str, url: str, call: Call, timeout: float, headers: Headers,
             body: dict[str, Any]) -> Response | _Failure:
    sent = headers() if callable(headers) else headers
    call.detail.pop("status_code", None)
    try:
        answer = session.request(method, url, headers=sent, timeout=timeout, **body)
    except requests.exceptions.SSLError as exc:  # a certificate does not get better by asking again
        return _Failure(ConnectionFailed, f"TLS failed ({_cause(exc)})", retryable=False)
    except requests.Timeout:
        return _Failure(ActionTimeout, f"no answer within {timeout:g}s", retryable=True)
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
        return _Failure(ConnectionFailed, f"connection failed ({_cause(exc)})", retryable=True)
    except requests.RequestException as exc:  # its text may quote a header value or the URL: only the kind is shown
        return _Failure(ActionError, f"cannot send the request ({type(exc).__name__})", retryable=False)
    call.detail["status_code"] = answer.status_code
    if answer.status_code < 400:
        return Response(answer.status_code, answer.headers, _body(answer, method, url), call.attempts)
    return _Failure(HTTPStatusError, f"{answer.status_code} {answer.reason or ''}".strip(),
                    retryable=answer.status_code == 429 or answer.status_code >= 500, status=answer.status_code,
                    excerpt=scrub(_excerpt(answer.text), secrets_of(url)),
                    retry_after=waits.retry_after(answer.headers.get("Retry-After")))


def _error(failure: _Failure, method: str, url: str, attempts: int) -> ActionError:
    tries = f" (after {attempts} attempts)" if attempts > 1 else ""
    message = f"{method} {masked(url)}: {failure.reason}{tries}"
    if failure.kind is HTTPStatusError:
        return HTTPStatusError(message + (f": {failure.excerpt}" if failure.excerpt else ""),
                               status=failure.status or 0, excerpt=failure.excerpt)
    return failure.kind(message)


def _body(answer: requests.Response, method: str, url: str) -> Any:
    """JSON when the Content-Type says so (``application/json``, ``...+json``), else the text."""
    kind = answer.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if kind != "application/json" and not kind.endswith("+json"):
        return answer.text
    if not answer.content:
        return None
    try:
        return answer.json()
    except ValueError:
        raise ActionError(f"{method} {masked(url)}: answered {answer.status_code} as {kind} but the body is not "
                          f"JSON: {scrub(_excerpt(answer.text), secrets_of(url))}") from None


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT else flat[:EXCERPT] + "…"


def _cause(exc: BaseException) -> str:
    """The innermost reason (``ConnectionRefusedError: Connection refused``), not requests' wrapper text, which
    quotes the URL's path."""
    for _ in range(MAX_CHAIN):
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    strerror = getattr(exc, "strerror", None)
    return f"{type(exc).__name__}: {strerror}" if isinstance(strerror, str) and strerror else type(exc).__name__


def _method(method: Any) -> str:
    verb = str(method).upper()
    if verb not in METHODS:
        raise ValueError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    return verb


def _check_url(argument: str, url: Any, call: Call) -> None:
    """An http(s) URL with a host; from here on it is recorded only as its host and shown masked."""
    call.secrets = secrets_of(url_text(argument, url))
    call.target = target(url) or None
    if not url.lower().startswith(("http://", "https://")) or not call.target:
        raise ValueError(f"{argument}: expected an http:// or https:// URL with a host, got {masked(url)!r}")

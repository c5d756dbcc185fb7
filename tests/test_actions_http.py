"""The HTTP actions (http.request, webhook.send, slack.send) against a real HTTP server on 127.0.0.1.

``CaptureServer`` records every request it gets (time, method, path,
headers, body) and answers from a script: an error, a ``Retry-After``, a
slow answer, then the default ``200 {"ok": true}``. Waits are asserted only
as lower bounds from the server's own timestamps; retries are counted.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from jetnb import signing
from jetnb.actions import ActionTimeout, ConnectionFailed, HTTPStatusError, backoff, http, slack, webhook

SECRET_URL_PARTS = ("alice", "pw-S3CRET", "T0SECRET", "B0SECRET", "XXSECRETXX", "tok-S3CRET")


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: str = '{"ok": true}'
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay: float = 0.0


@dataclass(frozen=True)
class Seen:
    at: float  # time.monotonic() when the request arrived
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class CaptureServer:
    """A threaded HTTP server on 127.0.0.1:0 that records requests and plays a script of answers, then 200s."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self._script: list[Answer] = []
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, address: None  # a client that timed out and left is expected
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, path: str = "/", *, userinfo: str = "") -> str:
        return f"http://{userinfo + '@' if userinfo else ''}127.0.0.1:{self.port}{path}"

    def script(self, *answers: Answer) -> None:
        with self._lock:
            self._script = list(answers)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _next(self, seen: Seen) -> Answer:
        with self._lock:
            self.seen.append(seen)
            return self._script.pop(0) if self._script else Answer()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def handle_one(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = server._next(Seen(time.monotonic(), self.command, self.path, dict(self.headers), body))
                time.sleep(answer.delay)
                payload = answer.body.encode()
                self.send_response(answer.status)
                for name, value in {**answer.headers, "Content-Length": str(len(payload))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_one

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def capture() -> Iterator[CaptureServer]:
    server = CaptureServer()
    yield server
    server.close()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_no_secret(text: str) -> None:
    leaked = [part for part in SECRET_URL_PARTS if part in text]
    assert not leaked, f"{leaked} in {text!r}"


# http.request

def test_json_and_text_answers_are_parsed_and_the_request_is_sent_as_asked(capture: CaptureServer) -> None:
    capture.script(Answer(201, '{"id": 7}', {"Content-Type": "application/problem+json; charset=utf-8"}),
                   Answer(200, "plain words", {"Content-Type": "text/plain"}))
    created = http.request("post", capture.url("/orders"), json={"item": "mug", "qty": 2},
                           headers={"X-Trace": "t1"}, params={"dry": "1"})
    assert (created.status, created.body, created.attempts) == (201, {"id": 7}, 1)
    assert created.headers["content-type"].startswith("application/problem+json")
    got = http.request("GET", capture.url("/status"))
    assert got.body == "plain words"
    first = capture.seen[0]
    assert (first.method, first.path) == ("POST", "/orders?dry=1")
    assert json.loads(first.body) == {"item": "mug", "qty": 2}
    assert first.headers["Content-Type"] == "application/json" and first.headers["X-Trace"] == "t1"


def test_5xx_answers_are_retried_until_one_succeeds(capture: CaptureServer) -> None:
    capture.script(Answer(500, "boom"), Answer(503, "busy"))
    answer = http.request("GET", capture.url("/flaky"), retries=3, backoff=0.01)
    assert (answer.status, answer.attempts, len(capture.seen)) == (200, 3, 3)


def test_retries_are_bounded_and_the_last_error_carries_status_and_excerpt(capture: CaptureServer) -> None:
    capture.script(*[Answer(502, "upstream   down\n" + "x" * 500, {"Content-Type": "text/plain"})] * 5)
    with pytest.raises(HTTPStatusError) as caught:
        http.request("PUT", capture.url("/api/things/42"), data=b"raw", retries=2, backoff=0.01)
    assert len(capture.seen) == 3  # the first attempt and two retries, no more
    error = caught.value
    assert error.status == 502 and error.excerpt.startswith("upstream down x") and len(error.excerpt) <= 201
    assert str(error).startswith(f"PUT http://127.0.0.1:{capture.port}/api/***: 502 Bad Gateway (after 3 attempts): ")


def test_a_4xx_answer_is_not_retried(capture: CaptureServer) -> None:
    capture.script(Answer(404, '{"error": "no such order"}'))
    with pytest.raises(HTTPStatusError) as caught:
        http.request("GET", capture.url("/orders/9"), retries=3, backoff=0.01)
    assert caught.value.status == 404 and len(capture.seen) == 1
    assert "404 Not Found" in str(caught.value) and 'no such order' in str(caught.value)


def test_429_waits_at_least_what_retry_after_asks(capture: CaptureServer) -> None:
    capture.script(Answer(429, "slow down", {"Retry-After": "1"}))
    answer = http.request("GET", capture.url("/limited"), retries=2, backoff=0.01)
    assert answer.attempts == 2
    waited = capture.seen[1].at - capture.seen[0].at
    assert waited >= 0.95, waited  # backoff alone would have waited ~10 ms


def test_retry_after_reads_seconds_and_http_dates_and_is_capped() -> None:
    from email.utils import formatdate

    now = 1_800_000_000.0
    assert backoff.retry_after("7") == 7.0
    assert backoff.retry_after(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1)
    assert backoff.retry_after(formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert backoff.retry_after("86400") == backoff.retry_after(formatdate(now + 86400, usegmt=True), now=now) \
        == backoff.MAX_RETRY_AFTER
    assert backoff.retry_after("soon") is None and backoff.retry_after(None) is None


def test_backoff_doubles_with_jitter_within_its_bounds() -> None:
    for attempt in range(1, 12):
        ceiling = min(backoff.MAX_WAIT, 0.5 * 2 ** (attempt - 1))
        waits = [backoff.delay(attempt, 0.5) for _ in range(20)]
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
    assert backoff.delay(1, 0.01, retry_after=3.0) == 3.0


def test_a_slow_answer_times_out_and_is_retried(capture: CaptureServer) -> None:
    capture.script(Answer(delay=0.6), Answer(delay=0.6))
    with pytest.raises(ActionTimeout) as caught:
        http.request("GET", capture.url("/slow"), timeout=0.2, retries=1, backoff=0.01)
    assert isinstance(caught.value, TimeoutError) and len(capture.seen) == 2
    assert str(caught.value) == f"GET http://127.0.0.1:{capture.port}/***: no answer within 0.2s (after 2 attempts)"


def test_a_refused_connection_is_retried_and_raises_a_connection_error() -> None:
    with pytest.raises(ConnectionFailed) as caught:
        http.request("GET", f"http://127.0.0.1:{closed_port()}/health", retries=2, backoff=0.01)
    assert isinstance(caught.value, ConnectionError)
    assert "connection failed (ConnectionRefusedError" in str(caught.value) and "after 3 attempts" in str(caught.value)


def test_errors_never_show_credentials_hook_tokens_or_the_query(capture: CaptureServer) -> None:
    path = "/services/T0SECRET/B0SECRET/XXSECRETXX?token=tok-S3CRET"
    url = capture.url(path, userinfo="alice:pw-S3CRET")
    capture.script(Answer(403, f"bad token for {path}", {"Content-Type": "text/plain"}))  # an answer that echoes
    with pytest.raises(HTTPStatusError) as caught:
        http.request("POST", url, json={}, retries=0)
    assert str(caught.value).startswith(f"POST http://127.0.0.1:{capture.port}/services/***: 403 Forbidden: bad token")
    assert_no_secret(str(caught.value))
    assert capture.seen[0].headers["Authorization"].startswith("Basic ")  # the credentials were used, not shown
    refused = f"http://alice:pw-S3CRET@127.0.0.1:{closed_port()}/services/T0SECRET/B0SECRET/XXSECRETXX?t=tok-S3CRET"
    with pytest.raises(ConnectionFailed) as caught_refused:
        http.request("GET", refused, retries=0)
    assert_no_secret(str(caught_refused.value))
    with pytest.raises(ValueError) as caught_bad:
        http.request("GET", "ftp://alice:pw-S3CRET@example.com/T0SECRET/XXSECRETXX")
    assert_no_secret(str(caught_bad.value))


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "FETCH"}, "method: expected one of GET, HEAD"),
    ({"url": "example.com/x"}, "url: expected an http:// or https:// URL with a host"),
    ({"url": "http://alice:pw-S3CRET/x"}, "url: not a valid URL"),
    ({"timeout": 0}, "timeout: expected a number of seconds > 0"),
    ({"retries": -1}, "retries: expected a whole number >= 0"),
    ({"retries": 1.5}, "retries: expected a whole number >= 0"),
    ({"retries": 11}, "retries: at most 10"),
    ({"backoff": "1s"}, "backoff: expected a number of seconds >= 0"),
    ({"json": {"a": 1}, "data": "b"}, "json, data: give one body, not both"),
    ({"json": {"when": {1, 2}}}, "json: not JSON"),
])
def test_bad_arguments_are_refused_naming_the_argument(kwargs: dict[str, Any], message: str) -> None:
    call = {"method": "GET", "url": "http://127.0.0.1:9/x", **kwargs}
    with pytest.raises((TypeError, ValueError), match=message) as caught:
        http.request(call.pop("method"), call.pop("url"), **call)
    assert_no_secret(str(caught.value))


# webhook.send

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_a_signed_delivery_verifies_at_the_receiver_and_a_replay_is_refused(capture: CaptureServer) -> None:
    delivery = webhook.send(capture.url("/hooks/catch/123/abc/"), {"order": 1001, "note": "größer"}, secret=WHSEC)
    got = capture.seen[0]
    assert delivery.id.startswith("msg_") and len(delivery.id) == 30 and delivery.response.body == {"ok": True}
    assert got.headers["Content-Type"] == "application/json" and json.loads(got.body)["note"] == "größer"
    assert signing.verify(WHSEC, got.body, got.headers) == delivery.id == got.headers["webhook-id"]
    with pytest.raises(signing.SignatureError) as tampered:
        signing.verify(WHSEC, got.body.replace(b"1001", b"9999"), got.headers)
    assert tampered.value.reason == "bad_signature"
    later = int(got.headers["webhook-timestamp"]) + 301
    with pytest.raises(signing.SignatureError, match="more than the 300s allowed") as replayed:
        signing.verify(WHSEC, got.body, got.headers, now=later)
    assert replayed.value.reason == "stale_timestamp"


def test_retries_carry_the_same_delivery_id_and_body_each_freshly_signed(capture: CaptureServer) -> None:
    capture.script(Answer(503, "busy"), Answer(500, "boom"))
    delivery = webhook.send(capture.url("/hook"), [1, 2, 3], secret="plain text secret", retries=3, backoff=0.01)
    assert delivery.response.attempts == 3 and len(capture.seen) == 3
    assert {seen.headers["webhook-id"] for seen in capture.seen} == {delivery.id}
    assert {seen.body for seen in capture.seen} == {b"[1,2,3]"}
    for seen in capture.seen:
        assert signing.verify("plain text secret", seen.body, seen.headers) == delivery.id


def test_an_unsigned_delivery_still_has_an_id_and_a_timestamp(capture: CaptureServer) -> None:
    first = webhook.send(capture.url("/hook"), {"a": 1}, headers={"X-Source": "jetnb"})
    second = webhook.send(capture.url("/hook"), {"a": 1})
    got = capture.seen[0].headers
    assert "webhook-signature" not in got and got["webhook-id"] == first.id and got["X-Source"] == "jetnb"
    assert abs(int(got["webhook-timestamp"]) - time.time()) < 5
    assert first.id < second.id  # ids sort by time
    with pytest.raises(TypeError, match="payload: not JSON"):
        webhook.send(capture.url("/hook"), {"at": object()})
    assert len(capture.seen) == 2


# slack.send

def test_slack_posts_text_and_blocks_to_the_hook_from_the_environment(capture: CaptureServer,
                                                                      monkeypatch: pytest.MonkeyPatch, declare) -> None:
    declare("SLACK_WEBHOOK_URL")
    capture.script(Answer(200, "ok", {"Content-Type": "text/plain"}))
    monkeypatch.setenv("SLACK_WEBHOOK_URL", capture.url("/services/T0SECRET/B0SECRET/XXSECRETXX"))
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Refund* issued"}}]
    assert slack.send("Refund issued", blocks=blocks) is None
    assert capture.seen[0].path == "/services/T0SECRET/B0SECRET/XXSECRETXX"
    assert json.loads(capture.seen[0].body) == {"text": "Refund issued", "blocks": blocks}


def test_slack_errors_say_what_slack_said_and_mask_the_hook(capture: CaptureServer,
                                                            monkeypatch: pytest.MonkeyPatch, declare) -> None:
    capture.script(Answer(404, "no_service", {"Content-Type": "text/plain"}))
    hook = capture.url("/services/T0SECRET/B0SECRET/XXSECRETXX")
    with pytest.raises(HTTPStatusError) as caught:
        slack.send("hello", webhook_url=hook)
    assert str(caught.value) == f"POST http://127.0.0.1:{capture.port}/services/***: 404 Not Found: no_service"
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    with pytest.raises(ValueError, match="webhook_url: not given, and secret 'SLACK_WEBHOOK_URL' is not declared"):
        slack.send("hello")
    declare("SLACK_WEBHOOK_URL")
    with pytest.raises(ValueError, match="webhook_url: not given, and secret 'SLACK_WEBHOOK_URL' has no value"):
        slack.send("hello")
    with pytest.raises(ValueError, match="text: must not be empty"):
        slack.send("", webhook_url=hook)
    with pytest.raises(ValueError, match="webhook_url: expected an http:// or https:// URL"):
        slack.send("hello", webhook_url="hooks.slack.com/services/T0SECRET/B0SECRET/XXSECRETXX")

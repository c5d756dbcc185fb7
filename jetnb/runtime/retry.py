"""Attempts of one unit of work (a step body or one iterator item): time limit, retries, backoff."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from .deadlines import StepTimeout, async_timeout_message, time_limit
from .execution import describe_error


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 0
    backoff: float = 1.0
    factor: float = 2.0
    retry_on: tuple[str, ...] = ()
    timeout: float | None = None

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> RetryPolicy:
        return cls(retries=options.get("retries") or 0, backoff=options.get("backoff", 1.0),
                   factor=options.get("backoff_factor", 2.0), retry_on=tuple(options.get("retry_on") or ()),
                   timeout=options.get("timeout"))

    def wait_before(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        return self.backoff * self.factor ** (retry - 1)

    def should_retry(self, exc: BaseException) -> bool:
        if not isinstance(exc, Exception):
            return False  # interrupts and the run's own timeout are never retried
        if not self.retry_on:
            return True
        names = {c.__name__ for c in type(exc).__mro__} | {f"{c.__module__}.{c.__qualname__}" for c in type(exc).__mro__}
        return any(name in names for name in self.retry_on)


class AttemptsFailed(Exception):
    """Carries the attempt log out of a failed unit of work; ``__cause__`` is the last attempt's error."""

    def __init__(self, attempts: list[dict[str, Any]]):
        super().__init__("all attempts failed")
        self.attempts = attempts


def attempt(work: Callable[[], Any], policy: RetryPolicy, label: str,
            on_retry: Callable[[int, float, dict[str, Any]], None] | None = None) -> tuple[Any, list[dict[str, Any]]]:
    """Run ``work`` until it succeeds or the policy gives up; returns (value, attempts)."""
    __tracebackhide__ = True
    attempts: list[dict[str, Any]] = []
    for number in range(1, policy.retries + 2):
        started = time.perf_counter()
        try:
            with time_limit(policy.timeout, StepTimeout, f"{label} timed out after {policy.timeout:g}s"
                            if policy.timeout else ""):
                value = work()
        except BaseException as exc:
            message = async_timeout_message(exc)
            if message is not None:
                exc = StepTimeout(message)
            error = describe_error(exc)
            attempts.append({"number": number, "status": "failed", "duration": _since(started),
                             "error": {"type": error["type"], "message": error["message"]}})
            if number > policy.retries or not policy.should_retry(exc):
                raise AttemptsFailed(attempts) from exc
            wait = policy.wait_before(number)
            if on_retry:
                on_retry(number, wait, attempts[-1])
            time.sleep(wait)
        else:
            attempts.append({"number": number, "status": "succeeded", "duration": _since(started)})
            return value, attempts
    raise AssertionError("unreachable: the loop returns or raises")


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 6)

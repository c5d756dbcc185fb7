"""Iterator steps: the body once per item, in order or N at a time, each item with its own result."""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Callable

from .execution import describe_error
from .outcomes import ErrorInfo, ItemResult
from .retry import AttemptsFailed, RetryPolicy, attempt

Progress = Callable[[list[ItemResult]], None]


def run_items(items: list[Any], work: Callable[[Any], Any], policy: RetryPolicy, *, step: str,
              parallel: int | None, skip_failures: bool, progress: Progress) -> list[ItemResult]:
    """Results in item order. Without ``skip_failures`` the first failure stops new items; items in flight finish."""
    results = [ItemResult(index, item) for index, item in enumerate(items)]

    def one(result: ItemResult) -> ItemResult:
        started = time.perf_counter()
        try:
            result.value, attempts = attempt(lambda: work(result.item), policy, f"step {step!r} item {result.index}")
            result.status = "succeeded"
        except AttemptsFailed as failed:
            cause = failed.__cause__ or failed
            attempts = failed.attempts
            result.status = "failed"
            result.error = ErrorInfo(**describe_error(cause), step=step)
            if not isinstance(cause, Exception):
                raise cause from None  # an interrupt or the run's timeout ends the whole step
        result.attempts = len(attempts)
        result.duration = round(time.perf_counter() - started, 6)
        return result

    if not parallel:
        for result in results:
            one(result)
            progress(results)
            if result.status == "failed" and not skip_failures:
                break
        return results

    pending = iter(results)
    in_flight: set[Future] = set()
    stop = False
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix=f"jetnb-{step}") as pool:
        while True:
            while not stop and len(in_flight) < parallel:
                result = next(pending, None)
                if result is None:
                    break
                in_flight.add(pool.submit(one, result))
            if not in_flight:
                break
            done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                if future.result().status == "failed" and not skip_failures:
                    stop = True
            progress(results)
    return results

"""One step's life in the kernel: guard, delay, attempts (or items), handlers, report."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from functools import partial
from typing import Any

from ..durations import format_duration
from ..model.headers import Header
from ..protocol import StepEvent, bundle
from . import context, gate, journal
from .events import emit, flushing_only_pending
from .execution import CompiledBody, compile_body, describe_error
from .handlers import run_handler
from .iterate import run_items
from .outcomes import ErrorInfo, ItemResult, StepOutcome, json_safe
from .retry import AttemptsFailed, RetryPolicy, attempt
from .step_actions import run_step_actions


class StepError(Exception):
    """A failure that belongs to the step's header rather than its code (a guard or item list that raised)."""


class ItemsFailed(Exception):
    """An iterator step whose items failed (without ``--skip-failures``)."""


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class StepReporter:
    """Shows one status line for a step and keeps it current; the same line carries the runner's event."""

    def __init__(self, name: str, kind: str = "step"):
        self.event = StepEvent(step=name, kind=kind, status="running", started_at=now_iso())
        self._clock = time.perf_counter()
        self._handle = emit(self.event, keep=True)

    def update(self, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(self.event, key, value)
        if self._handle is not None:  # only in IPython (``emit`` gave a handle)
            from IPython import get_ipython

            with flushing_only_pending(get_ipython()):
                self._handle.update(bundle(self.event), raw=True)

    def finish(self, status: str, **details: Any) -> None:
        self.update(status=status, finished_at=now_iso(),
                    duration=round(time.perf_counter() - self._clock, 6), **details)


def _guard(shell: Any, name: str, option: str, expression: str) -> Any:
    try:
        return eval(expression, shell.user_ns)
    except Exception as exc:
        raise StepError(f"step {name!r}: {option} {expression!r} raised {type(exc).__name__}: {exc}") from exc


def _progress(results: list[ItemResult]) -> dict[str, int]:
    done = sum(r.status != "not_run" for r in results)
    return {"done": done, "total": len(results), "failed": sum(r.status == "failed" for r in results)}


def _iterate(shell: Any, header: Header, compiled: CompiledBody, policy: RetryPolicy, outcome: StepOutcome,
             reporter: StepReporter) -> list[Any]:
    name, options = header.name or "step", header.options
    items = list(_guard(shell, name, "--for-each", options["for_each"]))
    bind = options.get("as", "item")

    def work(item: Any) -> Any:
        namespace = dict(shell.user_ns)  # each item its own scope: parallel items cannot clobber each other
        namespace[bind] = item
        return compiled.run(namespace)

    reporter.update(progress=_progress([ItemResult(i, item) for i, item in enumerate(items)]))
    outcome.items = run_items(items, work, policy, step=name, parallel=options.get("parallel"),
                              skip_failures=bool(options.get("skip_failures")),
                              progress=lambda results: reporter.update(progress=_progress(results)))
    failed = [r for r in outcome.items if r.status == "failed"]
    if failed and not options.get("skip_failures"):
        first = failed[0]
        raise ItemsFailed(f"step {name!r}: {len(failed)} of {len(items)} items failed; "
                          f"first: item {first.index} ({json_safe(first.item)!r}): {first.error}")
    return outcome.values


def run_step(shell: Any, header: Header, body: str) -> Any:
    """Run a ``%%step`` body under its header's rules; re-raises the step's error so the cell fails."""
    __tracebackhide__ = True
    name = header.name or "step"
    ctx = context.current()
    outcome = ctx.steps[name] = StepOutcome(name, status="running")
    reporter = StepReporter(name)
    ctx.current_step = name
    try:
        value = _run(shell, header, body, outcome, reporter)
    finally:
        ctx.current_step = None
    if ctx.suspended is None:  # what the step changed, for a resumed run (no extra round trip to the kernel)
        journal.record(name, bool(header.get("idempotent")))
    return value


def _run(shell: Any, header: Header, body: str, outcome: StepOutcome, reporter: StepReporter) -> Any:
    __tracebackhide__ = True
    name, options = outcome.name, header.options
    when = options.get("when")
    try:
        if when is not None and not _guard(shell, name, "--when", when):
            outcome.status, outcome.reason = "skipped", f"when {when} is false"
            reporter.finish("skipped", reason=outcome.reason)
            return None
        if options.get("approve") and not _pass_gate(shell, header, outcome, reporter):
            return None
        if options.get("delay"):
            reporter.update(status="waiting", reason=f"delay {format_duration(options['delay'])}")
            time.sleep(options["delay"])
            reporter.update(status="running", reason=None)
        compiled = compile_body(shell, body)
        policy = RetryPolicy.from_options(options)
        if "for_each" in options:
            value = _iterate(shell, header, compiled, policy, outcome, reporter)
        else:
            def retrying(number: int, wait: float, last: dict[str, Any]) -> None:
                reporter.update(reason=f"attempt {number} failed ({last['error']['type']}); "
                                       f"retrying in {format_duration(wait)}")

            value, outcome.attempts = attempt(partial(compiled.run, shell.user_ns), policy, f"step {name!r}",
                                              on_retry=retrying)
    except BaseException as exc:
        cause = exc.__cause__ if isinstance(exc, AttemptsFailed) and exc.__cause__ else exc
        if isinstance(exc, AttemptsFailed):
            outcome.attempts = exc.attempts
        _fail(shell, header, outcome, reporter, cause)
        if options.get("continue_on_error") and isinstance(cause, Exception):
            return None
        raise cause from cause.__cause__  # the user's error, not jetnb's wrapper, is what the cell shows
    outcome.status, outcome.value = "succeeded", value
    handlers = _react(shell, header, "success", None)
    reporter.finish("succeeded", reason=None, **_details(outcome, header), handlers=handlers)
    return value


def _pass_gate(shell: Any, header: Header, outcome: StepOutcome, reporter: StepReporter) -> bool:
    """True when the body may run; otherwise the step is recorded as waiting or rejected."""
    decision = gate.decide(shell, header)
    if decision is None:
        outcome.status = "waiting"
        reporter.finish("waiting", reason="waiting for approval by " + ", ".join(gate.approvers(header.get("approve"))))
        return False
    outcome.decision = decision
    reporter.update(decision=decision.to_dict())
    if gate.enforce(header, decision):
        return True
    outcome.status = "rejected"
    outcome.reason = f"{decision.status} by {decision.by}" + (f": {decision.comment}" if decision.comment else "")
    reporter.finish("rejected", reason=outcome.reason)
    return False


def _fail(shell: Any, header: Header, outcome: StepOutcome, reporter: StepReporter, exc: BaseException) -> None:
    described = describe_error(exc)
    ctx = context.current()
    outcome.status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"  # Ctrl-C or a server stop
    outcome.error = ErrorInfo(described["type"], described["message"], described["traceback"], outcome.name,
                              ctx.run_id)
    ctx.last_failure = outcome.error.to_dict()
    handlers = None if isinstance(exc, KeyboardInterrupt) else _react(shell, header, "error", outcome.error)
    reporter.finish(outcome.status, reason=None, error=described, **_details(outcome, header), handlers=handlers,
                    continued=True if header.get("continue_on_error") and isinstance(exc, Exception) else None)


def _react(shell: Any, header: Header, on: str, error: ErrorInfo | None) -> list[dict[str, Any]] | None:
    """The step's ``--on-error``/``--on-success`` handler, then its ``--on-error-action``/``--on-success-action``
    actions (``on``: ``error`` or ``success``); their records, or None when the step names none."""
    name = header.name or "step"
    records = []
    if header.get(f"on_{on}"):
        records.append(run_handler(shell, header.get(f"on_{on}"), on, step=name, error=error))
    if header.get(f"on_{on}_action"):
        records += run_step_actions(shell, header.get(f"on_{on}_action"), on, step=name, error=error)
    return records or None


def _details(outcome: StepOutcome, header: Header) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if len(outcome.attempts) > 1 or header.get("retries"):
        details["attempts"] = outcome.attempts
    if outcome.items is not None:
        details["items"] = [item.to_dict() for item in outcome.items]
    return details

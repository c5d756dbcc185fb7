"""How runs look on a terminal: the runs table, the step timeline and the failure report."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

from .artifact_rules import human_size
from .durations import format_duration
from .protocol import SYMBOLS
from .store.rows import iso

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def short_time(iso: str | None) -> str:
    """An ISO time as ``2026-11-26 09:15:00`` (UTC, as stored)."""
    return iso.replace("T", " ")[:19] if iso else "-"


def runs_table(runs: list[dict[str, Any]]) -> str:
    if not runs:
        return "no runs yet"
    rows = [("RUN", "WORKFLOW", "STATUS", "TRIGGER", "STARTED (UTC)", "DURATION")]
    for run in runs:
        rows.append((run["id"], run["workflow"], run["status"], run["trigger"], short_time(run.get("started_at")),
                     format_duration(run.get("duration"))))
    return columns(rows)


def prune_table(runs: list[dict[str, Any]]) -> str:
    """The runs a prune removes (or would), each with the rule that lets it go."""
    rows = [("RUN", "WORKFLOW", "STATUS", "ENDED (UTC)", "WHY")]
    rows += [(r["run_id"], r["workflow"], r["status"], short_time(r["ended_at"]), r["why"]) for r in runs]
    return columns(rows)


def paused_notes(states: list[dict[str, Any]]) -> str:
    """A line per paused workflow, under the runs table, so nobody wonders why its schedule went quiet."""
    return "\n".join(f"paused: {s['name']} since {short_time(iso(s['paused_at']))}: {s['pause_reason']} "
                     f"(jetnb unpause {s['name']})" for s in states)


def schedules_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no time triggers registered (jetnb serve registers the notebooks it serves)"
    table = [("WORKFLOW", "TRIGGER", "NEXT FIRE (UTC)", "LAST TICK (UTC)", "LAST OUTCOME")]
    for row in rows:
        last = row.get("last_fire") or {}
        outcome = last.get("outcome") or "-"
        if last.get("run_id"):
            outcome = f"{last.get('run_status') or 'fired'} (run {last['run_id']})"
        elif last.get("reason"):
            outcome = f"skipped: {last['reason']}"
        table.append((row["workflow"], row["describe"], "paused" if row["paused"] else short_time(row["next_fire"]),
                      short_time(last.get("scheduled_at")), outcome))
    return columns(table)


def columns(rows: list[tuple[Any, ...]]) -> str:
    """Rows as left-aligned columns, the first row being the header."""
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def step_lines(step: dict[str, Any], width: int = 20) -> list[str]:
    """A step's timeline row, then its attempts, items and handlers indented below it."""
    status = step["status"]
    text = f"  {SYMBOLS.get(status, '•')} {step['name']:<{width}} {status:<11} {format_duration(step.get('duration'))}"
    detail = step.get("detail") or {}
    if detail.get("reason"):
        text += f"  ({detail['reason']})"
    error = step.get("error")
    if error:
        text += f"  {error.get('type')}: {first_line(error.get('message'))}"
    if detail.get("continued"):
        text += "  (run continued)"
    lines = [text.rstrip()]
    pad = " " * (width + 6)
    for attempt in detail.get("attempts") or []:
        failure = attempt.get("error")
        lines.append(f"{pad}attempt {attempt['number']}: {attempt['status']} in "
                     f"{format_duration(attempt.get('duration'))}"
                     + (f"  {failure['type']}: {first_line(failure['message'])}" if failure else ""))
    items = detail.get("items")
    if items is not None:
        failed = [i for i in items if i["status"] == "failed"]
        done = sum(i["status"] != "not_run" for i in items)
        lines.append(f"{pad}{len(items)} items: {done - len(failed)} succeeded, {len(failed)} failed, "
                     f"{len(items) - done} not run")
        lines.extend(f"{pad}  item {i['index']} ({json.dumps(i['item'])[:40]}): {i['error']['type']}: "
                     f"{first_line(i['error']['message'])}" for i in failed)
    decision = detail.get("decision")
    if decision:
        lines.append(f"{pad}decision: {decision['status']} by {decision.get('by')}"
                     + (f" ({decision['comment']})" if decision.get("comment") else "")
                     + (f", request {decision['request']}" if decision.get("request") else ""))
    for handler in detail.get("handlers") or []:
        failure = handler.get("error")
        lines.append(f"{pad}handler {handler['handler']} (on {handler['on']}): {handler['status']}"
                     + (f"  {failure['type']}: {first_line(failure['message'])}" if failure else ""))
    return lines


def first_line(text: Any) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[0] if lines else ""


def run_detail(run: dict[str, Any]) -> str:
    lines = [
        f"run       {run['id']}",
        f"workflow  {run['workflow']}  ({run['notebook']})",
        f"status    {run['status']}",
        f"trigger   {run['trigger']}" + (f" (rerun of {run['rerun_of']})" if run.get("rerun_of") else ""),
        f"started   {short_time(run.get('started_at'))}   duration {format_duration(run.get('duration'))}",
        f"params    {json.dumps(run.get('params') or {})}",
    ]
    steps = run.get("steps") or []
    if steps:
        width = max(len(s["name"]) for s in steps)
        lines.append("steps")
        for step in steps:
            lines.extend(step_lines(step, width))
    actions = run.get("actions") or []
    if actions:
        lines.append("actions")
        lines.extend(action_line(action) for action in actions)
    artifacts = run.get("artifacts") or []
    if artifacts:
        lines.append(f"artifacts (jetnb artifacts {run['id']} NAME)")
        lines.extend(artifact_line(a) for a in artifacts)
    if run.get("result") is not None:
        lines.append(f"result    {json.dumps(run['result'])}")
    for name, value in (run.get("outputs") or {}).items():
        lines.append(f"output    {name} = {json.dumps(value)}")
    for handler in run.get("handler_runs") or []:
        lines.append(f"handler run {handler['id']} ({handler['workflow']}): {handler['status']}")
    if run.get("error"):
        lines.append(failure_report(run))
    lines.append(f"run log   {run.get('log_path') or '-'}")
    return "\n".join(lines)


def artifact_line(artifact: dict[str, Any]) -> str:
    """``  orders.csv  12.4 KiB  text/csv  [step export]  the day's orders``."""
    text = f"  {artifact['name']}  {human_size(artifact['size'])}  {artifact['mime']}"
    if artifact.get("step"):
        text += f"  [step {artifact['step']}]"
    if artifact.get("description"):
        text += f"  {first_line(artifact['description'])}"
    return text


def artifacts_table(artifacts: list[dict[str, Any]]) -> str:
    rows = [("NAME", "SIZE", "TYPE", "STEP", "SAVED (UTC)", "DESCRIPTION")]
    rows += [(a["name"], human_size(a["size"]), a["mime"], a.get("step") or "-", short_time(a.get("created_at")),
              first_line(a.get("description") or "")) for a in artifacts]
    return columns(rows)


def action_line(action: dict[str, Any]) -> str:
    """``✓ http.request 127.0.0.1:8080 in 12ms (2 attempts)  [step notify]`` (``[on error]`` for a declared
    notification of the run), with the error when it failed."""
    text = (f"  {SYMBOLS.get(action['status'], '•')} {action['action']} {action.get('target') or '-'} "
            f"{action['status']} in {format_duration(action.get('duration'))}")
    if (action.get("attempts") or 1) > 1:
        text += f" ({action['attempts']} attempts)"
    if action.get("step"):
        text += f"  [step {action['step']}]"
    elif (action.get("detail") or {}).get("on"):
        text += f"  [on {action['detail']['on']}]"
    error = action.get("error")
    if error:
        text += f"  {error.get('type')}: {first_line(error.get('message'))}"
    return text


def failure_report(run: dict[str, Any]) -> str:
    error = run.get("error") or {}
    where = f" in step {error['step']} (cell {error['cell']})" if error.get("step") else ""
    text = f"error{where}: {error.get('type')}: {error.get('message')}"
    if error.get("traceback"):
        text += "\n" + strip_ansi(error["traceback"]).rstrip()
    return text


def approvals_table(approvals: list[dict[str, Any]]) -> str:
    if not approvals:
        return "no approval requests"
    lines = []
    for a in approvals:
        when = datetime.fromtimestamp(a["requested_at"], timezone.utc).strftime("%Y-%m-%d %H:%M")
        state = a["status"] + (f" by {a['decided_by']}" if a.get("decided_by") else "")
        lines.append(f"#{a['id']}  {state:<22} {a['workflow']} / {a['step']}  run {a['run_id']}  "
                     f"(requested {when} UTC, trigger {a.get('trigger') or '-'})")
        lines.append(f"     {a['message']}")
        lines.append(f"     approvers: {', '.join(a['approvers'])}"
                     + (f"; comment: {a['comment']}" if a.get("comment") else ""))
    return "\n".join(lines)

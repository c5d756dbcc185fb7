"""What every widget shares: ``RunStatus``, which shows one run as Markdown and follows it until it ends.

Following is polling: a thread reads the run from the client a few times a
second and re-renders when it changed. Polling works the same for the local
store and for a server, and ipywidgets send each change to the browser from
whichever thread makes it.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

import ipywidgets as widgets
import traitlets

from ..artifact_rules import human_size
from ..durations import format_duration
from ..protocol import SYMBOLS as STEP_SYMBOLS
from ..model.params import ParameterError
from ..render import failure_report, short_time, step_lines
from ..protocol import FINAL_STATUSES
from ..model.workflow import WorkflowError
from ..client import Client

OnFinished = Callable[[dict[str, Any]], Any]  # gets the run record (as ``jetnb show --json``) once it has ended
ArtifactLink = Callable[[dict[str, Any], dict[str, Any]], str]  # (run, artifact) -> URL
POLL_SECONDS = 0.25
PARKED_POLL_SECONDS = 2.0  # a run waiting for approval may wait for days
SYMBOLS = {**STEP_SYMBOLS, "queued": "…", "interrupted": "■"}


class RunStatus(widgets.Output):
    """One run as Markdown: ``queued``, ``running step k of n (NAME)``, then the outcome with result or error.

    ``compact`` gives one line (for table rows); ``timeline`` adds trigger,
    parameters and the step timeline (for run history). ``busy`` is true while
    a run is being started or followed and has not ended, so buttons can be
    disabled. A run ``waiting`` for approval is parked: ``busy`` turns false
    and ``wait`` returns, but the run is still followed until it ends (a
    decision and ``jetnb resume`` elsewhere show up here).
    """

    busy = traitlets.Bool(False)
    run = traitlets.Dict(allow_none=True, default_value=None)

    def __init__(self, *, compact: bool = False, timeline: bool = False, on_finished: OnFinished | None = None,
                 **kwargs: Any):
        """``on_finished(run)`` is called (in the following thread) once for each run followed here that ends."""
        super().__init__(**kwargs)
        self.compact = compact
        self.timeline = timeline
        self.on_finished = on_finished
        self.client: Client | None = None  # the last one a run came from: it makes the artifact links
        self.markdown = ""
        self._following: str | None = None
        self._ended = threading.Event()
        self._ended.set()

    def start(self, client: Client, workflow: str | Path, params: dict[str, Any] | None = None,
              trigger_detail: dict[str, Any] | None = None) -> str | None:
        """Start a run and follow it; a start while ``busy`` is refused (returns None), bad input is shown."""
        if self.busy:
            return None
        self.busy = True
        try:
            run_id = client.start_run(workflow, params, trigger="widget", trigger_detail=trigger_detail)
        except (WorkflowError, ParameterError) as exc:
            self.say("**✗ not started**\n\n" + "\n".join(f"- {p}" for p in exc.problems))
            return None
        except Exception as exc:  # e.g. the store cannot be opened: say so, and leave the button usable
            self.say(f"**✗ not started**: {type(exc).__name__}: {exc}")
            return None
        self.follow(client, run_id)
        return run_id

    def follow(self, client: Client, run_id: str) -> None:
        """Show ``run_id`` and keep showing it until it ends; following another run stops this one."""
        self.client = client
        self._following = run_id
        self.busy = True
        self._ended.clear()
        threading.Thread(target=self._watch, args=(client, run_id), name=f"jetnb-follow-{run_id}",
                         daemon=True).start()

    def show(self, run: dict[str, Any], client: Client | None = None) -> None:
        """Show a run record; given its client, a run that has not ended is followed until it does."""
        if client is not None:
            self.client = client
            if run["status"] not in FINAL_STATUSES:
                self.follow(client, run["id"])
                return
            if "artifacts" not in run:  # a summary from a run list: the record has the artifacts to link
                run = client.get_run(run["id"])
        self._stop()
        self._display(run)

    def say(self, markdown: str) -> None:
        """Show a message instead of a run."""
        self._stop()
        self.run = None
        self._render(markdown)

    def wait(self, timeout: float | None = None) -> dict[str, Any] | None:
        """Block until the followed run has ended or is parked (or ``timeout`` passed); returns the last record."""
        self._ended.wait(timeout)
        return self.run

    def _stop(self) -> None:
        self._following = None
        self._settle()

    def _settle(self) -> None:
        self.busy = False
        self._ended.set()

    def _watch(self, client: Client, run_id: str) -> None:
        last: dict[str, Any] | None = None
        try:
            while self._following == run_id:
                run = client.get_run(run_id)
                if run != last and self._following == run_id:
                    self._display(run)
                    last = run
                if run["status"] in FINAL_STATUSES:
                    self._finished(run)
                    break
                if run["status"] == "waiting":
                    self._settle()
                time.sleep(PARKED_POLL_SECONDS if run["status"] == "waiting" else POLL_SECONDS)
        except Exception as exc:  # the store or server went away: say so rather than spin
            if self._following == run_id:
                self._render(f"**? run `{run_id}`**: cannot read it: {type(exc).__name__}: {exc}")
        finally:
            if self._following == run_id:
                self._stop()

    def _finished(self, run: dict[str, Any]) -> None:
        """The notebook's ``on_finished``; its failure is shown under the run, never raised into the thread."""
        if self.on_finished is None:
            return
        try:
            self.on_finished(run)
        except Exception as exc:
            self._render(f"{self.markdown}\n\n**on_finished failed**: {type(exc).__name__}: {exc}")

    def _display(self, run: dict[str, Any]) -> None:
        self.run = run
        link = self._artifact_link if run["status"] in FINAL_STATUSES and self.client is not None else None
        self._render(run_line(run, link) if self.compact else run_markdown(run, timeline=self.timeline, link=link))

    def _artifact_link(self, run: dict[str, Any], artifact: dict[str, Any]) -> str:
        return self.client.artifact_link(run["id"], artifact["name"])  # type: ignore[union-attr]

    def _render(self, markdown: str) -> None:
        self.markdown = markdown
        self.outputs = ({"output_type": "display_data", "metadata": {},
                         "data": {"text/markdown": markdown, "text/plain": markdown}},)


def headline(run: dict[str, Any]) -> str:
    """``✓ succeeded in 1.52s``, ``… queued``, ``▶ running step 2 of 3 (fetch)`` or where a run waits, and why."""
    status = run["status"]
    text = f"{SYMBOLS.get(status, '•')} {status}"
    if status == "running":
        return f"{text} {progress(run.get('steps') or [])}"
    if status == "waiting":
        return f"{text} at {progress(run.get('steps') or [])}"
    if run.get("duration") is not None:
        text += f" in {format_duration(run['duration'])}"
    return text


def progress(steps: list[dict[str, Any]]) -> str:
    """Where a run is: the step running or waiting now (with why it waits), else the next one to run."""
    if all(s["status"] == "pending" for s in steps):
        return "(starting the kernel)"
    current = next((s for s in steps if s["status"] in ("running", "waiting")), None) or next(
        (s for s in steps if s["status"] == "pending"), None)
    if current is None:
        return "(saving the run log)"
    text = f"step {current['seq']} of {len(steps)} ({current['name']})"
    reason = (current.get("detail") or {}).get("reason")
    return f"{text}: {reason}" if current["status"] == "waiting" and reason else text


def run_line(run: dict[str, Any], link: ArtifactLink | None = None) -> str:
    """One line for a table row: outcome, compact result or error, artifact links, run log link."""
    parts = [f"**{headline(run)}**"]
    if run.get("result") is not None:
        parts.append(f"`{clip(json.dumps(run['result']), 80)}`")
    if run.get("error"):
        parts.append(clip(f"{run['error'].get('type')}: {run['error'].get('message')}", 120))
    if link is not None:
        parts.extend(f"[⬇ {md_text(a['name'])}]({link(run, a)})" for a in run.get("artifacts") or [])
    if run.get("log_path") and run["status"] in FINAL_STATUSES:
        parts.append(log_link(run["log_path"], "run log"))
    return " · ".join(parts)


def run_markdown(run: dict[str, Any], *, timeline: bool = False, link: ArtifactLink | None = None) -> str:
    """The full view of a run: outcome, (timeline), result and outputs as pretty JSON, error, handlers, artifacts
    (with ``link``: download links), run log."""
    blocks = [f"**{headline(run)}** — run `{run['id']}`"]
    if timeline:
        blocks.append(f"trigger `{run['trigger']}` · started {short_time(run.get('started_at'))} UTC · "
                      f"params `{json.dumps(run.get('params') or {})}`")
        steps = run.get("steps") or []
        if steps:
            width = max(len(s["name"]) for s in steps)
            lines = [line for step in steps for line in step_lines(step, width)]
            blocks.append(fenced(textwrap.dedent("\n".join(lines)), "text"))
    if run["status"] == "waiting":
        blocks.append(f"decide with `jetnb approvals` and `jetnb approve`, then `jetnb resume {run['id']}`")
    if run.get("result") is not None:
        blocks.append("result:\n\n" + fenced(json.dumps(run["result"], indent=2), "json"))
    if run.get("outputs"):
        blocks.append("outputs:\n\n" + fenced(json.dumps(run["outputs"], indent=2), "json"))
    if run.get("error"):
        blocks.append(fenced(failure_report(run), "text"))
    for handler in run.get("handler_runs") or []:
        blocks.append(f"handler run `{handler['id']}` ({handler['workflow']}): {handler['status']}")
    if link is not None and run.get("artifacts"):
        blocks.append("artifacts:\n\n" + "\n".join(
            f"- [⬇ {md_text(a['name'])}]({link(run, a)}) ({human_size(a['size'])})"
            + (f" — {md_text(a['description'])}" if a.get("description") else "") for a in run["artifacts"]))
    if run.get("log_path"):
        blocks.append("run log: " + log_link(run["log_path"]))
    return "\n\n".join(blocks)


def log_link(path: str, text: str | None = None) -> str:
    """A Markdown link to the run log, relative to the kernel's folder, which JupyterLab opens in a tab."""
    relative = os.path.relpath(path)
    return f"[{text or relative}]({quote(relative)})"


def md_text(text: str) -> str:
    """Text shown as itself in Markdown (a file name like ``a_[1].csv``), on one line."""
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", " ".join(text.split()))


def fenced(text: str, language: str = "") -> str:
    """A fenced code block that its own content cannot close."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def clip(text: str, limit: int) -> str:
    """Text cut to ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"

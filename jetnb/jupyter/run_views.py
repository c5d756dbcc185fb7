"""How the sidebar shows a run: the fields it reads, ISO times, and errors as type and message.

Tracebacks stay in the store and the run log; the sidebar shows the first
line of a message and opens the run log for the rest.
"""

from __future__ import annotations

from typing import Any

from ..store import public_run

RUN_FIELDS = ("id", "workflow", "status", "trigger", "params", "result", "error", "created_at", "started_at",
              "finished_at", "duration", "started_by", "rerun_of")
ARTIFACT_FIELDS = ("name", "size", "mime", "step", "description", "created_at")
STEP_FIELDS = ("seq", "name", "kind", "status", "started_at", "finished_at", "duration", "error")


def run_view(run: dict[str, Any]) -> dict[str, Any]:
    public = public_run(run)
    view = {key: public.get(key) for key in RUN_FIELDS}
    view["error"] = _error(public.get("error"))
    if "artifacts" in public:  # each downloadable at jetnb/api/runs/<id>/artifacts/<name> (the mounted REST API)
        view["artifacts"] = [{key: a.get(key) for key in ARTIFACT_FIELDS} for a in public["artifacts"]]
    if "steps" in public:
        view["steps"] = [{**{key: step.get(key) for key in STEP_FIELDS}, "error": _error(step.get("error"))}
                         for step in public["steps"]]
    return view


def _error(error: Any) -> dict[str, Any] | None:
    if not error:
        return None
    if not isinstance(error, dict):
        return {"type": "Error", "message": str(error)}
    return {"type": error.get("type") or "Error", "message": str(error.get("message") or "")}

"""The OpenAPI 3.1 description of ``jetnb serve``'s REST API and webhooks, served at ``GET /api/openapi.json``.

It is written here, next to the handlers (``api.py``, ``hooks.py``), as the
one description of every route, body and answer. Two tests keep it true:
``tests/test_openapi.py`` checks that the routes ``server.make_app``
registers under ``/api/`` and ``/hooks/`` and the paths here are the same
(methods included), and validates real answers of a running server against
it. The schemas are strict (``additionalProperties: false``) on the records
jetnb owns, so a field added to a run, a workflow or an approval without
being described here fails those tests.
"""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..protocol import RUN_STATUSES

Schema = dict[str, Any]
JSON = "application/json"
NOTEBOOK = "application/x-ipynb+json"


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None, *, strict: bool = True) -> Schema:
    """An object with these required and optional properties; ``strict`` refuses any other property."""
    schema: Schema = {"type": "object", "properties": {**required, **(optional or {})}, "required": list(required)}
    if strict:
        schema["additionalProperties"] = False
    return schema


TEXT, NUMBER, WHOLE, FLAG = {"type": "string"}, {"type": "number"}, {"type": "integer"}, {"type": "boolean"}
TIME = {"type": "string", "format": "date-time"}
ANY: Schema = {}
MAPPING: Schema = {"type": "object"}
TEXTS = {"type": "array", "items": TEXT}
RUN_STATUS = {"type": "string", "enum": list(RUN_STATUSES)}

_RUN_FIELDS: dict[str, Schema] = {
    "id": TEXT, "workflow": TEXT, "notebook": {**TEXT, "description": "its path, or the URL it was read from"},
    "status": RUN_STATUS, "trigger": TEXT, "trigger_detail": nullable(MAPPING), "params": MAPPING, "result": ANY,
    "outputs": nullable(MAPPING), "error": nullable(ref("RunError")), "log_path": nullable(TEXT),
    "rerun_of": nullable(TEXT), "created_at": TIME, "started_at": nullable(TIME), "finished_at": nullable(TIME),
    "duration": nullable(NUMBER), "started_by": nullable(TEXT), "worker": nullable(TEXT),
    "cancelled_by": nullable(TEXT), "cancel_reason": nullable(TEXT), "options": nullable(ref("RunOptions")),
}

_APPROVAL_FIELDS: dict[str, Schema] = {
    "id": WHOLE, "run_id": TEXT, "workflow": TEXT, "step": TEXT, "approvers": TEXTS, "message": TEXT,
    "details": nullable(MAPPING), "status": {"enum": ["pending", "approved", "rejected", "expired", "cancelled"]},
    "on_timeout": TEXT, "allow_self": FLAG, "started_by": nullable(TEXT), "trigger": nullable(TEXT),
    "requested_at": TIME, "expires_at": nullable(TIME), "decided_at": nullable(TIME), "decided_by": nullable(TEXT),
    "comment": nullable(TEXT), "groups": TEXTS,
}

_ARTIFACT_FIELDS: dict[str, Schema] = {
    "name": TEXT, "size": {**WHOLE, "description": "bytes"}, "mime": TEXT, "sha256": TEXT,
    "step": nullable({**TEXT, "description": "the step that saved it"}), "description": nullable(TEXT),
    "created_at": TIME,
}

SCHEMAS: dict[str, Schema] = {
    "Error": obj({"error": TEXT}, {"problems": TEXTS, "fields": {"type": "object", "additionalProperties": TEXT}}),
    "Health": obj({"status": {"const": "ok"}, "version": TEXT, "workflows": WHOLE, "notebooks": WHOLE, "pending": WHOLE}),
    "WhoAmI": obj({"user": TEXT, "groups": TEXTS, "admin": FLAG}),
    "Parameter": obj({"name": TEXT, "type": TEXT, "default": ANY, "default_source": nullable(TEXT), "help": TEXT}),
    "LastFire": obj({"scheduled_at": TIME, "outcome": {"enum": ["fired", "skipped"]}, "reason": nullable(TEXT),
                     "run_id": nullable(TEXT), "run_status": nullable(RUN_STATUS)}),
    "Trigger": obj({"kind": TEXT, "key": TEXT, "spec": MAPPING, "registered_at": TIME, "label": TEXT},
                   {"describe": TEXT, "next_fire": nullable(TIME), "last_fire": nullable(ref("LastFire"))}),
    "RunSummary": obj({"id": TEXT, "status": RUN_STATUS, "trigger": TEXT, "created_at": TIME,
                       "finished_at": nullable(TIME)}),
    "Workflow": obj({"name": TEXT, "path": TEXT, "description": TEXT, "triggers": {"type": "array",
                                                                                    "items": ref("Trigger")},
                     "paused": FLAG, "paused_at": nullable(TIME), "pause_reason": nullable(TEXT),
                     "consecutive_failures": WHOLE, "concurrency": WHOLE, "last_run": nullable(ref("RunSummary"))},
                    {"parameters": {"type": "array", "items": ref("Parameter")},
                     "config": {**MAPPING, "description": "the %%workflow keys with their defaults, but triggers"}}),
    "WorkflowList": obj({"workflows": {"type": "array", "items": ref("Workflow")}}),
    "RunError": obj({"type": TEXT, "message": TEXT}, {"traceback": TEXT, "step": nullable(TEXT),
                                                      "cell": nullable(WHOLE)}, strict=False),
    "RunOptions": obj({}, {"cwd": TEXT, "kernel": TEXT, "start_timeout": NUMBER, "execution_timeout": NUMBER}),
    "Run": obj(_RUN_FIELDS),
    "Step": obj({"seq": WHOLE, "name": TEXT, "kind": TEXT, "cell": nullable(WHOLE), "status": TEXT,
                 "started_at": nullable(TIME), "finished_at": nullable(TIME), "duration": nullable(NUMBER),
                 "error": nullable(MAPPING), "detail": nullable(MAPPING)}),
    "Action": obj({"step": nullable(TEXT), "action": TEXT, "target": nullable(TEXT), "status": TEXT,
                   "started_at": nullable(TIME), "duration": nullable(NUMBER), "attempts": nullable(WHOLE),
                   "error": nullable(MAPPING), "detail": nullable(MAPPING)}),
    "HandlerRun": obj({"id": TEXT, "workflow": TEXT, "status": RUN_STATUS}),
    "Artifact": obj(_ARTIFACT_FIELDS),
    "ArtifactLink": obj({**_ARTIFACT_FIELDS, "url": {**TEXT, "description": "where to download it"}}),
    "ArtifactList": obj({"run_id": TEXT, "artifacts": {"type": "array", "items": ref("ArtifactLink")}}),
    "RunDetail": obj({**_RUN_FIELDS, "steps": {"type": "array", "items": ref("Step")},
                      "actions": {"type": "array", "items": ref("Action")},
                      "artifacts": {"type": "array", "items": ref("Artifact")},
                      "handler_runs": {"type": "array", "items": ref("HandlerRun")}}),
    "RunList": obj({"runs": {"type": "array", "items": ref("Run")}, "next": nullable(TEXT)}),
    "RunStarted": obj({"run_id": TEXT, "status": {"const": "queued"}, "url": TEXT}),
    "Approval": obj(_APPROVAL_FIELDS),
    "AuditEntry": obj({"id": WHOLE, "at": NUMBER, "actor": nullable(TEXT), "action": TEXT, "subject": TEXT,
                       "detail": nullable(MAPPING)}),
    "ApprovalDetail": obj({**_APPROVAL_FIELDS, "audit": {"type": "array", "items": ref("AuditEntry")}}),
    "ApprovalList": obj({"approvals": {"type": "array", "items": ref("Approval")}}),
    "Notebook": {**MAPPING, "description": "an nbformat 4 notebook (the run log)",
                 "required": ["cells", "metadata", "nbformat", "nbformat_minor"]},
    "HookAccepted": obj({"run_id": TEXT, "status": RUN_STATUS}),
    "HookDuplicate": obj({"run_id": nullable(TEXT), "status": {"anyOf": [RUN_STATUS, {"const": "pruned"}]},
                          "duplicate": {"const": True}}),
    "HookResult": obj({"run_id": TEXT, "status": RUN_STATUS, "result": ANY, "error": nullable(MAPPING)}),
}

SECURITY_SCHEMES: dict[str, Schema] = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "A personal token (`jetnb users add NAME` prints it; the caller is that user) or the "
                              "server token (`$JETNB_TOKEN`, or generated at start; the caller is `admin`). "
                              "`Authorization: token <token>` works too."},
    "queryToken": {"type": "apiKey", "in": "query", "name": "token",
                   "description": "The same tokens as `bearer`, as `?token=`; never written to the server's log."},
    "standardWebhooks": {"type": "apiKey", "in": "header", "name": "webhook-signature",
                         "description": "Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256 of "
                                        "'id.timestamp.body'>` with `webhook-id` and `webhook-timestamp`; the "
                                        "secret is the hook's `secret_env`; timestamps outside `tolerance` refused."},
    "githubSignature": {"type": "apiKey", "in": "header", "name": "X-Hub-Signature-256",
                        "description": "GitHub-style: the hex HMAC-SHA256 of the body (`sha256=<hex>`) in the "
                                       "hook's `signature_header` (default X-Hub-Signature-256); a body seen before "
                                       "under another delivery id is refused as a replay."},
    "hookToken": {"type": "http", "scheme": "bearer",
                  "description": "A webhook with `auth: token`: its secret (from `secret_env`) as the bearer token."},
}

API_SECURITY = [{"bearer": []}, {"queryToken": []}]
HOOK_SECURITY = [{}, {"standardWebhooks": []}, {"githubSignature": []}, {"hookToken": []}]

ERRORS = {
    400: "a body or query that is not what this endpoint takes",
    401: "missing or wrong token",
    403: "not allowed to decide: the reason says why",
    404: "no such workflow, run or request",
    409: "not possible in the current state: the reason says why",
    422: "parameters the notebook refuses: each problem, and per-parameter `fields`",
}


def answer(schema: Schema | None, description: str, media: str = JSON) -> Schema:
    found: Schema = {"description": description}
    if schema is not None:
        found["content"] = {media: {"schema": schema}}
    return found


def operation(summary: str, ok: dict[int, Schema], errors: tuple[int, ...] = (), *, body: Schema | None = None,
              query: list[Schema] | None = None, security: list[Schema] | None = None) -> Schema:
    """One method of one path; every refusal answers the ``Error`` object."""
    responses = {str(code): spec for code, spec in ok.items()}
    responses.update({str(code): answer(ref("Error"), ERRORS[code]) for code in (*errors, 401) if code not in ok})
    found: Schema = {"summary": summary, "responses": responses,
                     "security": API_SECURITY if security is None else security}
    if not found["security"]:
        responses.pop("401")
    if body is not None:
        found["requestBody"] = {"required": False, "content": {JSON: {"schema": body}}}
    if query:
        found["parameters"] = query
    return found


def path_param(name: str, description: str, schema: Schema = TEXT) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


def query_param(name: str, description: str, schema: Schema = TEXT) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


WORKFLOW = path_param("name", "a served workflow's name")
RUN = path_param("id", "a run id, or any unique prefix of one")
APPROVAL = path_param("id", "an approval request's number", {"type": "string", "pattern": r"^\d+$"})
REASON = obj({}, {"reason": TEXT}, strict=False)
STARTED = {202: answer(ref("RunStarted"), "recorded `queued`; follow it at `url`")}


def _decide(verb: str) -> Schema:
    return {"parameters": [APPROVAL], "post": operation(
        f"{verb.capitalize()} a request as the token's user", {200: answer(ref("Approval"), "the decided request")},
        (400, 403, 404), body=obj({}, {"comment": TEXT, "as": {**TEXT, "description": "must be the token's user"}},
                                  strict=False))}


def _pause(verb: str) -> Schema:
    return {"parameters": [WORKFLOW], "post": operation(
        f"{verb.capitalize()} the workflow's automatic triggers", {200: answer(ref("Workflow"), "the workflow")},
        (400, 404), body=REASON)}


PATHS: dict[str, Schema] = {
    "/api/health": {"get": operation("Is the server up", {200: answer(ref("Health"), "up")}, security=[])},
    "/api/openapi.json": {"get": operation("This description", {200: answer(MAPPING, "OpenAPI 3.1")}, security=[])},
    "/api/whoami": {"get": operation("Who the token belongs to", {200: answer(ref("WhoAmI"), "the caller")})},
    "/api/workflows": {"get": operation("The served workflows", {200: answer(ref("WorkflowList"), "by name")})},
    "/api/workflows/{name}": {"parameters": [WORKFLOW], "get": operation(
        "One workflow, with its parameters and config", {200: answer(ref("Workflow"), "the workflow")}, (404,))},
    "/api/workflows/{name}/runs": {"parameters": [WORKFLOW], "post": operation(
        "Start a run", STARTED, (400, 404, 422), body=obj({}, {"params": MAPPING}, strict=False))},
    "/api/workflows/{name}/pause": _pause("pause"),
    "/api/workflows/{name}/unpause": _pause("unpause"),
    "/api/runs": {"get": operation("Runs, newest first, paged by key", {200: answer(ref("RunList"), "a page")},
                                   (400,), query=[
        query_param("workflow", "only this workflow's runs"), query_param("status", "only this status", RUN_STATUS),
        query_param("trigger", "only runs started by this trigger kind"),
        query_param("limit", "1 to 500 (default 50)", {"type": "string", "pattern": r"^\d+$"}),
        query_param("before", "the `next` of the previous page")])},
    "/api/runs/{id}": {"parameters": [RUN], "get": operation(
        "One run with its steps, actions, artifacts and handler runs", {200: answer(ref("RunDetail"), "the run")}, (404,))},
    "/api/runs/{id}/log": {"parameters": [RUN], "get": operation(
        "The run log (the executed notebook), as an attachment", {200: answer(ref("Notebook"), "the run log",
                                                                               NOTEBOOK)}, (404,))},
    "/api/runs/{id}/artifacts": {"parameters": [RUN], "get": operation(
        "The files the run kept with `jetnb.artifact`", {200: answer(ref("ArtifactList"), "in the order saved")},
        (404,))},
    "/api/runs/{id}/artifacts/{artifact}": {"parameters": [RUN, path_param("artifact", "the artifact's name")],
                                            "get": operation(
        "One artifact's bytes, as an attachment (`nosniff`, a `sandbox` CSP; HTML, SVG and the like are never "
        "inline)", {200: {"description": "the file, with its MIME type as `Content-Type` and its sha256 as `ETag`",
                          "content": {"*/*": {}}}}, (404,),
        query=[query_param("inline", "1: `Content-Disposition: inline` for a passive type (an image, text)")])},
    "/api/runs/{id}/cancel": {"parameters": [RUN], "post": operation(
        "Cancel a run", {200: answer(ref("RunDetail"), "the run: cancelled, or still running while it stops")},
        (400, 404, 409), body=REASON)},
    "/api/runs/{id}/rerun": {"parameters": [RUN], "post": operation(
        "Run the same notebook with the same parameters", STARTED, (404, 409, 422))},
    "/api/runs/{id}/resume": {"parameters": [RUN], "post": operation(
        "Continue a decided waiting, a failed or an interrupted run", STARTED, (404, 409))},
    "/api/approvals": {"get": operation("Approval requests, newest first", {200: answer(ref("ApprovalList"), "the requests")},
                                        query=[query_param("for", "requests this user may decide (`me`: the caller)"),
                                               query_param("all", "1: decided and expired ones too")])},
    "/api/approvals/{id}": {"parameters": [APPROVAL], "get": operation(
        "One request with its audit trail", {200: answer(ref("ApprovalDetail"), "the request")}, (404,))},
    "/api/approvals/{id}/approve": _decide("approve"),
    "/api/approvals/{id}/reject": _decide("reject"),
    "/hooks/{name}": {"parameters": [path_param("name", "the webhook's name (`webhook: {name: ...}`)")], "post": {
        "summary": "Deliver an event: starts a run of the workflow that declares this webhook",
        "description": "Authenticated as the hook declares (`auth: hmac` with either signature scheme, `token`, or "
                       "`none`). Parameters: the query string (text; not for `hmac`) and the JSON object body "
                       "(typed), over the trigger's `params`. A delivery id (`X-Delivery-Id`, `X-GitHub-Delivery`, "
                       "`webhook-id`) seen before starts nothing.",
        "security": HOOK_SECURITY,
        "requestBody": {"required": False, "content": {JSON: {"schema": MAPPING}}},
        "responses": {
            "200": {"description": "a delivery seen before (`duplicate`), or a `response: sync` hook's run that "
                                   "succeeded", "content": {JSON: {"schema": {"anyOf": [ref("HookDuplicate"),
                                                                                      ref("HookResult")]}}}},
            "202": answer(ref("HookAccepted"), "accepted and stored: the run is queued"),
            "400": answer(ref("Error"), "malformed JSON, or JSON that is not an object"),
            "401": answer(ref("Error"), "bad or missing signature or token, a stale timestamp, a replay"),
            "404": answer(ref("Error"), "no served workflow declares this webhook"),
            "409": answer(ref("Error"), "the workflow is paused"),
            "413": answer(ref("Error"), "the body is longer than the hook's `max_body`"),
            "422": answer(ref("Error"), ERRORS[422]),
            "500": answer(ref("HookResult"), "a `response: sync` hook's run that failed or was interrupted"),
        }}},
}


def document() -> dict[str, Any]:
    """The whole description, as ``GET /api/openapi.json`` answers it."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "jetnb serve", "version": __version__,
                 "description": "The REST API and webhooks of `jetnb serve` (docs/api.md). Times are ISO-8601 in "
                                "UTC. Refusals answer `{\"error\": ...}`."},
        "security": API_SECURITY,
        "paths": PATHS,
        "components": {"schemas": SCHEMAS, "securitySchemes": SECURITY_SCHEMES},
    }

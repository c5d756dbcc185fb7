"""``POST /hooks/<name>``: a webhook delivery becomes a run, validated exactly like ``jetnb run -p``.

In order: unknown hook 404; body over the hook's ``max_body`` 413; failed
authentication 401 (a wrong or missing signature or token, a stale
Standard Webhooks timestamp, a GitHub-signed body replayed under a new
delivery id); malformed JSON or form, or a JSON non-object 400; parameters
the notebook refuses, or a ``pick`` path the body lacks, 422 (what the body
gives is ``hook_body``'s); a paused workflow 409 and a delivery id seen
before 200 with the first delivery's run, starting nothing, both read in the
transaction that would record the run (group-committed with other
deliveries, ``service/commits.py``). Otherwise the run and the delivery id
are committed together and only then answered: 202 with the run
id (``response: async``), or, for ``response: sync``, the run's result or
error once it ends (200 succeeded, 500 failed or interrupted), or 202 if it
takes longer than the hook's ``timeout``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import tornado.web

from ..model.params import ParameterError
from ..service.runs import RunsFolderError
from ..protocol import FINAL_STATUSES
from ..store import AlreadyDelivered, Store, WorkflowPaused
from ..store.deliveries import PRUNED
from .auth import HookRefused, verify_hook
from .base import BadBody, JsonHandler
from .handoff import committed
from .hook_body import delivery_params, read_body

DELIVERY_HEADERS = ("X-Delivery-Id", "X-GitHub-Delivery")


@tornado.web.stream_request_body
class Hook(JsonHandler):
    def prepare(self) -> None:
        self._found = self.plane.catalog.hook(self.path_args[0])
        self._limit = self._found[1].spec["max_body"] if self._found else 0
        self._chunks: list[bytes] = []
        self._size = 0

    def data_received(self, chunk: bytes) -> None:
        """Keep the body up to the limit; past it, keep reading (so the sender gets its 413) but drop the bytes."""
        self._size += len(chunk)
        if self._size <= self._limit:
            self._chunks.append(chunk)

    async def post(self, name: str) -> None:
        if self._found is None:
            return self.refuse(404, f"no webhook named {name!r}")
        served, trigger = self._found
        hook = trigger.spec
        if self._size > self._limit:
            return self.refuse(413, f"the body is {self._size} bytes; this webhook accepts at most {self._limit}")
        body = b"".join(self._chunks)
        try:
            verified = verify_hook(hook, self.request.headers, body)
        except HookRefused as exc:
            return self.refuse(401, str(exc))
        try:
            received = read_body(body, self.request.headers.get("Content-Type"))
        except BadBody as exc:
            return self.refuse(400, str(exc))
        # a signed hook's query string is outside the signature: it never reaches the parameters
        query = {} if hook["auth"] == "hmac" else {key: self.get_query_argument(key)
                                                   for key in self.request.query_arguments}
        try:
            params = delivery_params(hook, received, self.request.headers.get_all(), query)
        except ParameterError as exc:
            return self.refuse(422, "bad parameters", problems=exc.problems, fields=exc.fields)
        delivery = verified.delivery_id or self._delivery_id(hook)
        store = self.plane.store()
        if verified.replay_key and delivery and (first := store.delivery_run(hook["name"], delivery)):
            return self._duplicate(store, served.name, hook["name"], delivery, first)  # before it counts as a replay
        if verified.replay_key and (first := store.delivery_run(hook["name"], verified.replay_key)):
            self.plane.note("replay", f"webhook {hook['name']}: a signed body accepted before (run {first}) came "
                            "again under another delivery id; refused", workflow=served.name, level=logging.WARNING)
            return self.refuse(401, "replayed delivery: this signed body was accepted before under another delivery "
                                    "id (GitHub-style signatures sign neither a time nor the id)")
        keys = tuple((hook["name"], key) for key in (delivery, verified.replay_key) if key)
        fired = f"{served.name} webhook {hook['name']}{f' delivery {delivery}' if delivery else ''}"
        try:  # answered only once the run and its delivery ids are committed (with other deliveries: one fsync)
            run_id = await committed(self.plane.accept(
                served.workflow, params, trigger="webhook", started_by=f"webhook:{hook['name']}",
                detail={"hook": hook["name"], "delivery_id": delivery}, deliveries=keys, unless_paused=True,
                note=lambda rid: self.plane.noted("fire", f"{fired} -> run {rid}", workflow=served.name, quiet=True,
                                                  run_id=rid)))
        except AlreadyDelivered as exc:  # seen before, or in flight twice at once (the first one won)
            return self._duplicate(store, served.name, hook["name"], delivery or verified.replay_key, exc.run_id)
        except WorkflowPaused as exc:  # read when the run would have been committed
            return self.refuse(409, str(exc))
        except ParameterError as exc:
            return self.refuse(422, "bad parameters", problems=exc.problems,
                               fields=exc.fields)
        except RunsFolderError as exc:
            return self.refuse(503, str(exc))
        if hook["response"] == "sync":
            return await self._answer_when_done(run_id, float(hook["timeout"]))
        self.answer(202, {"run_id": run_id, "status": "queued"})

    def _duplicate(self, store: Store, workflow: str, hook: str, delivery: str, first: str) -> None:
        """A delivery id seen before starts nothing; its run may have been pruned since (status ``pruned``)."""
        pruned = first == PRUNED
        status = PRUNED if pruned else store.get_run(first, with_steps=False)["status"]
        self.plane.note("duplicate", f"webhook {hook}: delivery {delivery} was accepted before as "
                        f"{'a run since pruned' if pruned else f'run {first}'}; nothing started", workflow=workflow,
                        run_id=None if pruned else first)
        self.answer(200, {"run_id": None if pruned else first, "status": status, "duplicate": True})

    def _delivery_id(self, hook: dict[str, Any]) -> str | None:
        for header in ([hook["delivery_header"]] if hook.get("delivery_header") else DELIVERY_HEADERS):
            if value := self.request.headers.get(header):
                return value.strip()
        return None

    async def _answer_when_done(self, run_id: str, timeout: float) -> None:
        future = self.plane.dispatcher.future(run_id)
        if future is not None:
            await asyncio.wait({asyncio.wrap_future(future)}, timeout=timeout)
        run = self.plane.store().get_run(run_id, with_steps=False)
        if run["status"] not in FINAL_STATUSES:
            return self.answer(202, {"run_id": run_id, "status": run["status"]})
        error = {k: v for k, v in (run["error"] or {}).items() if k in ("type", "message", "step", "cell")} or None
        self.answer(200 if run["status"] == "succeeded" else 500, {
            "run_id": run_id, "status": run["status"], "result": run["result"], "error": error})

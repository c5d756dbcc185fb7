"""``jetnb serve``: wire the control plane, its background loops and the HTTP server; stop cleanly on a signal.

On SIGINT or SIGTERM the server stops listening and firing, gives running
runs ``--grace`` seconds to end (a second signal cuts that short), interrupts
the rest (recorded ``interrupted``, their partial logs kept) and exits 0.
Runs still queued stay queued in the store; the next start picks them up.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import logging
import os
import secrets
import signal
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import tornado.web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from . import __version__
from .control.loops import Loops
from .executor.cancel import DEFAULT_GRACE
from .control.plane import ControlPlane
from .clock import clock_from_env
from .secrets.logs import mask_log_handlers
from .secrets.masking import SecretTooShort, masker
from .service.retention import default_policy
from .web import pages
from .http import api, base, hooks
from .http.callers import Tokens

log = logging.getLogger("jetnb.serve")


class StoreInUse(RuntimeError):
    pass


def make_app(plane: ControlPlane, token: str) -> tornado.web.Application:
    return tornado.web.Application([
        (r"/hooks/([^/]+)", hooks.Hook),  # first: Tornado tries the routes in order, and deliveries come most often
        *api.routes(),
        *pages.routes(),
    ], jetnb_plane=plane, jetnb_callers=Tokens(token), jetnb_root="", default_handler_class=base.NotFound,
        log_function=_log_refusal, xsrf_cookies=True,
        cookie_secret=hashlib.sha256(b"jetnb-pages:" + token.encode()).hexdigest())


def _log_refusal(handler: tornado.web.RequestHandler) -> None:
    """Refused requests only, and without the query string, which may hold the API token."""
    status = handler.get_status()
    if status >= 400:
        request = handler.request
        log.warning("%d %s %s (%s)", status, request.method, request.path, request.remote_ip)


def mask_secrets(token: str | None) -> None:
    """Mask every secret value in the server's log lines, and the API token everywhere.

    A token the server generates is not masked: its one log line is how
    the person starting the server learns it, and no kernel ever sees it.
    """
    mask_log_handlers()
    try:
        masker.remember(*([token] if token else []))
    except SecretTooShort:
        log.warning("JETNB_TOKEN is too short to be masked in logs; use at least 6 characters")


def lock_store(store_path: Path) -> IO[str]:
    """One server per store: two would each fire every tick once, which is twice.

    The lock sits next to the store's real path, so a symlink or a relative
    path to the same file finds it taken.
    """
    store_path.parent.mkdir(parents=True, exist_ok=True)
    real = store_path.resolve()
    handle = open(f"{real}.serve.lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise StoreInUse(f"another `jetnb serve` is using the store {real}"
                         + (f" (given as {store_path})" if str(store_path) != str(real) else "")) from None
    return handle


@dataclass(frozen=True)
class ServeOptions:
    directory: Path
    store_path: Path
    runs_dir: Path
    host: str = "127.0.0.1"
    port: int = 8765
    max_runs: int = 4
    grace: float = 30.0
    cancel_grace: float = DEFAULT_GRACE
    backend: str = "forked"
    keep_runs: int | None = None  # retention for workflows without their own (``--keep-runs``)
    retention_days: float | None = None  # likewise (``--retention-days``)
    public_url: str | None = None  # for links in notifications; default the address it listens on


def serve(options: ServeOptions) -> None:
    """Run the server until a signal; raises StoreInUse when another server holds the store."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s jetnb %(levelname)s %(message)s")
    logging.getLogger("papermill").setLevel(logging.WARNING)  # its per-notebook lines repeat what jetnb logs
    mask_secrets(os.environ.get("JETNB_TOKEN"))
    lock = lock_store(options.store_path)
    try:
        sockets = bind_sockets(options.port, address=options.host)  # a port in use is refused before anything starts
        plane = ControlPlane(options.directory, store_path=options.store_path, runs_dir=options.runs_dir,
                             max_runs=options.max_runs, clock=clock_from_env(), backend=options.backend,
                             cancel_grace=options.cancel_grace, public_url=options.public_url or _url(sockets),
                             retention=default_policy(options.keep_runs, options.retention_days))
        plane.service.writable_folder()
        plane.start()
        token = os.environ.get("JETNB_TOKEN") or ""
        generated = not token
        token = token or secrets.token_urlsafe(24)
        asyncio.run(_serve(plane, sockets, token, generated, options.grace))
    finally:
        lock.close()


def _url(sockets: list[socket.socket]) -> str:
    host, port = sockets[0].getsockname()[:2]
    return f"http://{host}:{port}"


async def _serve(plane: ControlPlane, sockets: list[socket.socket], token: str, generated: bool,
                 grace: float) -> None:
    stop, hurry = asyncio.Event(), threading.Event()

    def on_signal() -> None:
        (hurry if stop.is_set() else stop).set()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):  # before announcing the port: a signal then stops cleanly
        loop.add_signal_handler(signum, on_signal)
    server = HTTPServer(make_app(plane, token))
    server.add_sockets(sockets)
    url = _url(sockets)
    shown = f"{token} (generated; set JETNB_TOKEN to choose one)" if generated else "from $JETNB_TOKEN"
    log.info("jetnb %s serving %d workflow(s) from %s on %s", __version__, len(plane.catalog.served),
             plane.directory, url)
    log.info("API token: %s   e.g. curl -H 'Authorization: Bearer <token>' %s/api/workflows", shown, url)
    loops = Loops(plane)
    loops.start()
    await stop.wait()
    log.info("stopping: no new fires or deliveries; running runs get up to %gs to finish (signal again to cut short)",
             grace)
    server.stop()
    await loop.run_in_executor(None, loops.stop)
    await loop.run_in_executor(None, plane.shutdown, grace, hurry)
    try:
        await asyncio.wait_for(server.close_all_connections(), timeout=5)
    except asyncio.TimeoutError:
        pass
    plane.close()
    log.info("stopped")

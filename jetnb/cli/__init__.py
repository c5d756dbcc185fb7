"""The ``jetnb`` command line. Exit codes: 0 ok, 1 the run failed or problems were found, 2 bad usage or input.

One module per area; each defines plain click commands that are added to
the group here, so command modules never import this package.
"""

from __future__ import annotations

import os
from typing import Any

import click

from ..store import StoreError
from . import approving, artifacts, authoring, history, pruning, running, secrets, serving, users
from .common import EXIT_FAILED, EXIT_USAGE, fail


class Commands(click.Group):
    """The group, with the last word on errors: a store or file that cannot be used is one line, never a traceback.

    Anything else unexpected is one line too, naming its type, unless
    ``JETNB_DEBUG`` is set (then the traceback is shown, for a bug report).
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StoreError as exc:
            fail(str(exc), EXIT_USAGE)
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            fail(f"{exc.strerror or exc}{where}", EXIT_FAILED)
        except Exception as exc:
            if os.environ.get("JETNB_DEBUG") or isinstance(exc, (click.ClickException, click.exceptions.Exit,
                                                                 click.Abort)):
                raise
            fail(f"unexpected error: {type(exc).__name__}: {exc} (JETNB_DEBUG=1 shows where it happened)",
                 EXIT_FAILED)


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="jetnb")
def main() -> None:
    """jetnb: workflows that are Jupyter notebooks."""


for _command in (running.run, running.rerun, running.resume, running.cancel, approving.approvals, approving.approve,
                 approving.reject, history.runs, history.show, artifacts.artifacts, pruning.prune, serving.serve, serving.schedules,
                 serving.pause, serving.unpause, authoring.check, authoring.graph, authoring.new, users.users,
                 secrets.secrets):
    main.add_command(_command)


if __name__ == "__main__":
    main()

"""The ``jetnb`` command line. Exit codes: 0 ok, 1 the run failed or problems were found, 2 bad usage or input.

One module per area; each defines plain click commands that are added to
the group here, so command modules never import this package.
"""

from __future__ import annotations

import click

from . import approving, authoring, history, pruning, running, serving, users


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="jetnb")
def main() -> None:
    """jetnb: workflows that are Jupyter notebooks."""


for _command in (running.run, running.rerun, running.resume, running.cancel, approving.approvals, approving.approve,
                 approving.reject, history.runs, history.show, pruning.prune, serving.serve, serving.schedules,
                 serving.pause, serving.unpause, authoring.check, authoring.graph, authoring.new, users.users):
    main.add_command(_command)


if __name__ == "__main__":
    main()

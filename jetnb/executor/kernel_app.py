"""The ``IPKernelApp`` a forked kernel becomes, reading its simple command line without building a parser.

traitlets reads a kernel's command line by building an argparse parser
with every flag and alias of every configurable class, about a tenth of a
forked kernel's CPU before its first cell. A forked kernel's command line
is the kernel spec's ``-f CONNECTION_FILE`` and jetnb's ``--Class.trait=value``
options (``run_kernel.HEADLESS``, ``parent_handle``): those become the same
configuration directly, each value still converted by its trait as traitlets
converts it. Any other argument (a kernel spec's ``--matplotlib=inline``)
is read by traitlets as always.

Imported by the zygote before it forks (``zygote.KERNEL_MODULES``).
"""

from __future__ import annotations

import re
from typing import Any

from ipykernel.kernelapp import IPKernelApp
from traitlets.config import Config
from traitlets.config.loader import DeferredConfigString

_SETTING = re.compile(r"--([A-Za-z_]\w*)\.([A-Za-z_]\w*)=(.*)", re.DOTALL)


def simple_config(argv: list[str]) -> Config | None:
    """The configuration ``argv`` sets when it has only ``-f FILE`` and ``--Class.trait=value``; None otherwise."""
    config = Config()
    rest = list(argv)
    while rest:
        argument = rest.pop(0)
        if argument == "-f" and rest:
            config.IPKernelApp.connection_file = rest.pop(0)
            continue
        setting = _SETTING.fullmatch(argument)
        if setting is None:
            return None
        section, trait, value = setting.groups()
        config[section][trait] = DeferredConfigString(value)  # converted by the trait it lands on
    return config


class ForkedKernelApp(IPKernelApp):
    """``IPKernelApp`` (the same configuration sections, the same singleton) with ``simple_config`` first."""

    def parse_command_line(self, argv: Any = None) -> None:
        config = simple_config(list(argv)) if argv is not None else None
        if config is None:
            return super().parse_command_line(argv)
        self.argv = list(argv)
        self.cli_config = config
        self.update_config(config)
        self.extra_args = []
        return None

"""The kernel manager every run's kernel starts from: ipykernel told it runs headless, once per run.

A run's kernel is new for each run and thrown away after it, so IPython's
SQLite history is pure cost there: every cell is written to
``~/.ipython/profile_default/history.sqlite`` by a background thread (a
transaction per cell), and concurrent runs contend for that one file's
lock. ``HEADLESS`` turns it off (``In``, ``_i`` and ``%history`` of the run
itself still work, from memory). It also drops the 0.5 ms ipykernel sleeps
before each reply, for front ends that might show a reply before the
output it follows: nbclient waits for the kernel's idle status, which
comes after every output on the same channel. The options are added only
when the kernel's command runs ipykernel: other kernels do not know them.
"""

from __future__ import annotations

from typing import Any

from jupyter_client import KernelManager

HEADLESS = ["--HistoryManager.enabled=False", "--IPythonKernel._execute_sleep=0"]


def runs_ipykernel(cmd: list[str]) -> bool:
    """True for ``python -m ipykernel_launcher ...`` (and ``-m ipykernel``), whichever Python runs it."""
    return any(part in ("ipykernel_launcher", "ipykernel") and cmd[i - 1] == "-m" for i, part in enumerate(cmd) if i)


class RunKernelManager(KernelManager):
    """jupyter_client's manager, with ``HEADLESS`` added to an ipykernel command."""

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd: list[str] = super().format_kernel_cmd(extra_arguments)
        return [*cmd, *HEADLESS] if runs_ipykernel(cmd) else cmd


def new_manager(kernel_name: str, **kwargs: Any) -> RunKernelManager:
    """A run kernel's manager with an async client, as nbclient's own default (a blocking client never notices a
    kernel that dies mid-cell)."""
    from jupyter_client.asynchronous import AsyncKernelClient

    return RunKernelManager(kernel_name=kernel_name, client_factory=AsyncKernelClient, **kwargs)

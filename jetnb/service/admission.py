"""What the store says when a queued run asks to start."""

from __future__ import annotations

from enum import Enum


class Admission(Enum):
    ADMITTED = "admitted"  # it is running now: execute it
    WAIT = "wait"  # the workflow's concurrency (or overlap: queue) is taken: try again later
    DROP = "drop"  # it is no longer queued (cancelled, or started by another process): forget it

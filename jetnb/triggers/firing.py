"""Which due ticks of a time trigger to run: the catch-up policy, as a pure function the server and tests share.

A tick is *current* when it fell due since the server last looked; older
due ticks were *missed* (the server was down, or the clock jumped). Only the
newest due tick can be current.

- ``none``: missed ticks are skipped; a current tick fires.
- ``latest`` (default): one run covers everything due: the current tick, or
  else the newest missed one.
- ``all``: the newest ``catchup_limit`` missed ticks fire, oldest first, then
  the current one; older missed ticks are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TickPlan:
    fire: list[float] = field(default_factory=list)
    skip: list[float] = field(default_factory=list)


def window(catchup: str, limit: int) -> int:
    """How many of the newest due ticks a plan needs to see (one more than it can fire, to know if any are skipped)."""
    return (limit + 2) if catchup == "all" else 2


def plan_ticks(due: list[float], since: float, catchup: str, limit: int) -> TickPlan:
    """``due``: the newest due ticks, oldest first (see ``window``); ``since``: when the server last looked."""
    if not due:
        return TickPlan()
    current = due[-1:] if due[-1] >= since else []
    missed = due[:-1] if current else list(due)
    if catchup == "none":
        return TickPlan(fire=current, skip=missed)
    if catchup == "latest":
        chosen = current or missed[-1:]
        return TickPlan(fire=chosen, skip=[t for t in missed if t not in chosen])
    kept = missed[-limit:] if limit > 0 else []
    return TickPlan(fire=kept + current, skip=missed[:len(missed) - len(kept)])

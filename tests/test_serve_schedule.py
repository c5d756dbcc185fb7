"""Time triggers under a real ``jetnb serve`` driven by a fake clock: ticks, restarts, kill -9, catch-up, overlap, DST."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from servekit import iso, ts, wait_for
from jetnb.triggers.firing import plan_ticks
from jetnb.triggers.schedule import CronTiming


def ticker(name: str, trigger: str, *extra: str) -> list:
    return ["%load_ext jetnb", "%%workflow\n" + "\n".join([f"name: {name}", "triggers:", f"  - {trigger}", *extra]),
            ("params", "label: str = ''"), "%%result\n{'label': label}"]


def blocker(name: str, *extra: str) -> list:
    """A run that holds its kernel until the test creates ``release`` in the project folder (at most 60 s)."""
    return ["%load_ext jetnb", "%%workflow\n" + "\n".join([f"name: {name}", "triggers:", "  - interval: {every: 1m}",
                                                          *extra]),
            "%%step wait\nimport time\nfrom pathlib import Path\ndeadline = time.monotonic() + 60\n"
            "while not Path('../release').exists() and time.monotonic() < deadline:\n    time.sleep(0.05)",
            "%%result\n'released'"]


def scheduled(runs: list[dict]) -> list[str]:
    return [r["trigger_detail"]["scheduled_at"] for r in runs]


def outcomes(fires: list[dict]) -> list[tuple[str, str]]:
    return [(iso(f["scheduled_at"]), f["outcome"]) for f in fires]


def test_cron_interval_and_once_ticks_follow_the_clock(server):
    srv = server()
    srv.workflow("minutely", ticker("minutely", "interval: {every: 1m, params: {label: tick}}"))
    srv.workflow("fively", ticker("fively", "schedule: {cron: '*/5 * * * *'}"))
    srv.workflow("once", ticker("once", "once: {at: '2026-01-01T01:02:00', timezone: Europe/Paris}"))
    srv.start()
    srv.set_clock(ts("2026-01-01T00:01:00+00:00"))
    first = srv.finished_runs("minutely", 1)[0]
    assert first["status"] == "succeeded" and first["trigger"] == "interval"
    assert first["params"] == {"label": "tick"} and first["result"] == {"label": "tick"}
    assert scheduled([first]) == ["2026-01-01T00:01:00.000+00:00"]
    srv.set_clock(ts("2026-01-01T00:02:00+00:00"))
    srv.finished_runs("minutely", 2)
    assert scheduled(srv.finished_runs("once", 1)) == ["2026-01-01T00:02:00.000+00:00"]  # 01:02 in Paris
    srv.set_clock(ts("2026-01-01T00:05:00+00:00"))  # a jump: 00:03 and 00:04 were never looked at
    assert scheduled(srv.finished_runs("fively", 1)) == ["2026-01-01T00:05:00.000+00:00"]
    runs = srv.finished_runs("minutely", 3)
    assert scheduled(runs)[2] == "2026-01-01T00:05:00.000+00:00"
    assert outcomes(srv.fires("minutely")) == [
        ("2026-01-01T00:01:00.000+00:00", "fired"), ("2026-01-01T00:02:00.000+00:00", "fired"),
        ("2026-01-01T00:04:00.000+00:00", "skipped"), ("2026-01-01T00:05:00.000+00:00", "fired")]
    assert "catchup: latest" in srv.fires("minutely")[2]["reason"]
    assert "fire: minutely every 1m: tick 2026-01-01T00:01:00.000+00:00 -> run" in srv.log()

    listed = json.loads(srv.cli("schedules", "--json").stdout)
    by_name = {row["workflow"]: row for row in listed}
    assert by_name["minutely"]["next_fire"] == "2026-01-01T00:06:00.000+00:00"
    assert by_name["fively"]["next_fire"] == "2026-01-01T00:10:00.000+00:00"
    assert by_name["once"]["next_fire"] is None
    assert by_name["fively"]["last_fire"]["run_status"] == "succeeded"
    table = srv.cli("schedules").stdout
    assert table.splitlines()[0].split()[:2] == ["WORKFLOW", "TRIGGER"]
    assert "cron '*/5 * * * *' (UTC)" in table and "2026-01-01 00:10:00" in table
    assert srv.stop() == 0


def test_restart_and_kill_9_neither_repeat_nor_lose_ticks(server, project):
    srv = server()
    srv.workflow("minutely", ticker("minutely", "interval: {every: 1m}"))
    srv.workflow("blocker", blocker("blocker", "overlap: queue"))
    srv.start()
    srv.set_clock(ts("2026-01-01T00:01:00+00:00"))
    srv.finished_runs("minutely", 1)
    wait_for(lambda: any(srv.step_statuses(r["id"])[:1] == ["running"] for r in srv.runs("blocker")),
             "blocker to be waiting")
    srv.set_clock(ts("2026-01-01T00:02:00+00:00"))  # blocker's 00:02 run is queued behind its 00:01 run
    srv.finished_runs("minutely", 2)
    wait_for(lambda: [r["status"] for r in srv.runs("blocker")] == ["running", "queued"], "a queued blocker run")
    srv.kill()

    (project / "release").touch()
    srv.start()  # the clock has not moved: 00:02 must not fire again
    srv.set_clock(ts("2026-01-01T00:03:00+00:00"))
    minutely = srv.finished_runs("minutely", 3)
    assert scheduled(minutely) == [f"2026-01-01T00:0{m}:00.000+00:00" for m in (1, 2, 3)]
    blocked = srv.finished_runs("blocker", 3)
    assert [r["status"] for r in blocked] == ["interrupted", "succeeded", "succeeded"]
    assert scheduled(blocked) == [f"2026-01-01T00:0{m}:00.000+00:00" for m in (1, 2, 3)]
    assert "picking up run" in srv.log()
    assert srv.step_statuses(blocked[0]["id"]) == ["interrupted", "not_run"]
    assert json.loads(open(blocked[0]["log_path"]).read())["cells"]  # the partial log is a whole notebook

    assert srv.stop(signal.SIGINT) == 0  # Ctrl-C
    srv.set_clock(ts("2026-01-01T00:03:30+00:00"))
    srv.start()
    srv.set_clock(ts("2026-01-01T00:04:00+00:00"))
    assert scheduled(srv.finished_runs("minutely", 4))[3] == "2026-01-01T00:04:00.000+00:00"
    assert len(srv.runs("minutely")) == 4


def test_each_catchup_policy_after_downtime(server):
    srv = server()
    for policy in ("none", "latest", "all"):
        srv.workflow(policy, ticker(policy, "interval: {every: 1m}", f"catchup: {policy}", "catchup_limit: 2"))
    srv.start()
    assert srv.stop() == 0
    srv.set_clock(ts("2026-01-01T00:05:30+00:00"))  # ticks 00:01 to 00:05 happened while it was down
    srv.start()
    assert scheduled(srv.finished_runs("latest", 1)) == ["2026-01-01T00:05:00.000+00:00"]
    assert scheduled(srv.finished_runs("all", 2)) == ["2026-01-01T00:04:00.000+00:00", "2026-01-01T00:05:00.000+00:00"]
    none = wait_for(lambda: srv.fires("none"), "the skipped ticks of catchup: none")
    assert outcomes(none) == [("2026-01-01T00:05:00.000+00:00", "skipped")]
    assert "catchup: none" in none[0]["reason"]
    assert [f["outcome"] for f in srv.fires("all")] == ["skipped", "fired", "fired"]
    assert srv.runs("none") == []


def test_each_overlap_policy_while_the_previous_run_is_going(server, project):
    srv = server(args=("--max-runs", "4"))
    srv.workflow("skip", blocker("skip", "overlap: skip"))
    srv.workflow("queue", blocker("queue", "overlap: queue", "concurrency: 2"))
    srv.workflow("allow", blocker("allow", "overlap: allow", "concurrency: 2"))
    srv.start()
    srv.set_clock(ts("2026-01-01T00:01:00+00:00"))
    wait_for(lambda: all([r["status"] for r in srv.runs(name)] == ["running"] for name in ("skip", "queue", "allow")),
             "the first run of each to be running")
    srv.set_clock(ts("2026-01-01T00:02:00+00:00"))
    wait_for(lambda: [r["status"] for r in srv.runs("allow")] == ["running", "running"], "allow to run two at once")
    wait_for(lambda: len(srv.fires("skip")) == 2 and len(srv.runs("queue")) == 2, "the second tick of skip and queue")
    assert [r["status"] for r in srv.runs("queue")] == ["running", "queued"]  # concurrency 2, yet it waits
    assert outcomes(srv.fires("skip"))[1] == ("2026-01-01T00:02:00.000+00:00", "skipped")
    assert "overlap: skip" in srv.fires("skip")[1]["reason"]
    (project / "release").touch()
    queue = srv.finished_runs("queue", 2)
    assert queue[1]["started_at"] >= queue[0]["finished_at"]
    assert [r["status"] for r in srv.finished_runs("allow", 2)] == ["succeeded", "succeeded"]
    assert len(srv.finished_runs("skip", 1)) == 1


def test_dst_gap_fires_at_the_jump_and_overlap_fires_once(server):
    srv = server()
    srv.set_clock(ts("2026-03-29T00:30:00+00:00"))  # 01:30 in Paris; at 02:00 the clocks jump to 03:00
    srv.workflow("nightly", ticker("nightly", "schedule: {cron: '30 2 * * *', timezone: Europe/Paris}",
                                   "catchup: none"))
    srv.start()
    srv.set_clock(ts("2026-03-29T00:59:59+00:00"))
    srv.set_clock(ts("2026-03-29T01:00:00+00:00"))  # 03:00 CEST: 02:30 did not exist, so it fires now
    assert scheduled(srv.finished_runs("nightly", 1)) == ["2026-03-29T01:00:00.000+00:00"]
    assert srv.stop() == 0
    srv.set_clock(ts("2026-10-25T00:29:00+00:00"))  # months later: the missed nights are skipped (catchup: none)
    srv.start()
    wait_for(lambda: len(srv.fires("nightly")) == 2, "the missed ticks to be recorded")
    srv.set_clock(ts("2026-10-25T00:30:00+00:00"))  # 02:30 CEST, the first of two 02:30s that night
    srv.finished_runs("nightly", 2)
    srv.set_clock(ts("2026-10-25T01:30:00+00:00"))  # 02:30 CET, the second: no fire
    srv.set_clock(ts("2026-10-26T01:30:00+00:00"))  # 02:30 CET the next night
    runs = srv.finished_runs("nightly", 3)
    assert scheduled(runs) == ["2026-03-29T01:00:00.000+00:00", "2026-10-25T00:30:00.000+00:00",
                               "2026-10-26T01:30:00.000+00:00"]
    assert [f["outcome"] for f in srv.fires("nightly")] == ["fired", "skipped", "fired", "fired"]


# the arithmetic behind them, without a server ---------------------------------------------------------------


def test_cron_in_dst_gap_and_overlap():
    paris = CronTiming("*/30 2 * * *", "Europe/Paris")
    spring = paris.newest(ts("2026-03-28T23:00:00+00:00"), ts("2026-03-29T03:00:00+00:00"), 10)
    assert [iso(t) for t in spring] == ["2026-03-29T01:00:00.000+00:00"]  # 02:00 and 02:30 collapse into the jump
    autumn = paris.newest(ts("2026-10-24T23:00:00+00:00"), ts("2026-10-25T03:00:00+00:00"), 10)
    assert [iso(t) for t in autumn] == ["2026-10-25T00:00:00.000+00:00", "2026-10-25T00:30:00.000+00:00"]
    assert iso(paris.next_after(ts("2026-10-25T00:45:00+00:00"))) == "2026-10-26T01:00:00.000+00:00"
    assert CronTiming("0 9 * * MON-FRI", "UTC").next_after(ts("2026-01-02T09:00:00+00:00")) == ts(
        "2026-01-05T09:00:00+00:00")


@pytest.mark.parametrize("catchup,fire,skip", [
    ("none", [5], [3, 4]), ("latest", [5], [3, 4]), ("all", [4, 5], [3]),
])
def test_catchup_plans_with_a_current_tick(catchup, fire, skip):
    plan = plan_ticks([3, 4, 5], since=4.5, catchup=catchup, limit=1)
    assert (plan.fire, plan.skip) == (fire, skip)


@pytest.mark.parametrize("catchup,fire,skip", [
    ("none", [], [3, 4, 5]), ("latest", [5], [3, 4]), ("all", [4, 5], [3]),
])
def test_catchup_plans_after_downtime(catchup, fire, skip):
    plan = plan_ticks([3, 4, 5], since=10, catchup=catchup, limit=2)
    assert (plan.fire, plan.skip) == (fire, skip)


def test_schedules_without_a_server_and_without_papermill(cli):
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "jetnb", "schedules"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0
    assert result.stdout.strip() == "no time triggers registered (jetnb serve registers the notebooks it serves)"
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert "papermill" not in imported and "tornado" not in imported

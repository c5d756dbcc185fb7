"""Approval gates, the feed, suspend and resume, end to end with real kernels and the real CLI."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat

from conftest import REPO
from jetnb.store import Store


def run_json(cli, *args: str, **kw) -> dict:
    result = cli(*args, "--json", **kw)
    assert result.stdout.strip(), result.stderr
    return json.loads(result.stdout)


def step(record: dict, name: str) -> dict:
    return next(s for s in record["steps"] if s["name"] == name)


def pending(cli, **kw) -> list[dict]:
    return json.loads(cli("approvals", "--json", **kw).stdout)


GATED = [
    "%load_ext jetnb",
    "%%workflow\nname: gated\napprovers:\n  managers: [alice, bob]\nallow_self_approval: false",
    ("params", 'total: float = 120.0\ncounter: str = "side.txt"'),
    '%%step before\nfrom pathlib import Path\np = Path(counter)\np.write_text(p.read_text() + "x" if p.exists() else "x")\n'
    "items = [1, 2, 3]\n\n\ndef double(v):\n    return v * 2",
    '%%step refund --approve managers,carol --message "Refund {total:.2f} for {items}?"\n'
    "items.append(4)\nrefunded = [double(i) for i in items]",
    '%%step after\nverdict = "paid" if steps.refund.succeeded else f"not paid: {steps.refund.decision.status}"',
    '%%result\n{"verdict": verdict, "by": steps.refund.decision.by, "comment": steps.refund.decision.comment,\n'
    ' "refunded": refunded if steps.refund.succeeded else None}',
]


def test_suspend_approve_resume_without_rerunning_earlier_steps(cli, make_nb, project, user):
    make_nb("gated.ipynb", GATED)
    counter = str(project / "side.txt")
    waiting = run_json(cli, "run", "gated.ipynb", "-p", "counter", counter, env=user("alice"))
    assert waiting["status"] == "waiting"
    assert step(waiting, "refund")["status"] == "waiting" and step(waiting, "after")["status"] == "pending"
    assert Path(waiting["log_path"]).with_suffix(".journal").is_dir()

    [request] = pending(cli)
    assert request["message"] == "Refund 120.00 for [1, 2, 3]?"
    assert request["approvers"] == ["alice", "bob", "carol"] and request["trigger"] == "manual"
    assert request["details"]["params"]["counter"] == counter and request["status"] == "pending"
    assert json.loads(cli("approvals", "--for", "dave", "--json").stdout) == []

    refused = cli("approve", str(request["id"]), env=user("dave"))
    assert refused.returncode == 1 and "'dave' is not an approver" in refused.stderr
    self_approval = cli("approve", str(request["id"]), env=user("alice"))
    assert self_approval.returncode == 1 and "forbids approving one's own runs" in self_approval.stderr
    too_early = cli("resume", waiting["id"])
    assert too_early.returncode == 2 and "still waiting for approval" in too_early.stderr

    assert cli("approve", str(request["id"]), "--comment", "VIP", env=user("bob")).returncode == 0
    second = cli("reject", str(request["id"]), env=user("carol"))
    assert second.returncode == 1 and "already decided: approved by bob" in second.stderr

    done = run_json(cli, "resume", waiting["id"][:15])
    assert done["id"] == waiting["id"] and done["status"] == "succeeded"
    assert done["result"] == {"verdict": "paid", "by": "bob", "comment": "VIP", "refunded": [2, 4, 6, 8]}
    assert (project / "side.txt").read_text() == "x"  # 'before' ran once: restored, not re-executed
    assert step(done, "refund")["detail"]["decision"]["by"] == "bob"
    assert not Path(done["log_path"]).with_suffix(".journal").exists()
    log = nbformat.read(done["log_path"], as_version=4)
    before = next(c for c in log.cells if c.source.startswith("%%step before"))
    assert before.metadata.jetnb.status == "succeeded" and before.metadata.jetnb.restored is True
    assert log.metadata.jetnb.status == "succeeded"
    audit = [e["action"] for e in Store(project / ".jetnb" / "jetnb.db").audit_log(f"approval:{request['id']}")]
    assert audit == ["approval.requested", "approval.approved"]


def test_rejection_skips_the_step_and_later_steps_branch_on_it(cli, make_nb, project, user):
    make_nb("gated.ipynb", GATED)
    waiting = run_json(cli, "run", "gated.ipynb", "-p", "counter", str(project / "side.txt"), "-q")
    [request] = pending(cli)
    assert cli("reject", str(request["id"]), "--comment", "too much", env=user("carol")).returncode == 0
    done = run_json(cli, "resume", waiting["id"])
    assert done["status"] == "succeeded"
    assert step(done, "refund")["status"] == "rejected"
    assert done["result"]["verdict"] == "not paid: rejected" and done["result"]["refunded"] is None
    assert done["result"]["comment"] == "too much"


TIMEOUTS = [
    "%load_ext jetnb",
    "%%step first --approve alice --approval-timeout 1h --on-timeout approve\nfirst = 'ran'",
    "%%step second --approve alice --approval-timeout 1h\nsecond = 'ran'",
    "%%step third --approve alice --approval-timeout 1h --on-timeout fail\nthird = 'ran'",
]


def test_unanswered_requests_expire_by_policy(cli, make_nb, project):
    clock = project / "clock.txt"
    moment = datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)
    clock.write_text(moment.isoformat())
    env = {"JETNB_FAKE_CLOCK": str(clock)}
    make_nb("timeouts.ipynb", TIMEOUTS)
    run = run_json(cli, "run", "timeouts.ipynb", "-q", env=env)
    for expected_step, later in (("first", 2), ("second", 4), ("third", 6)):
        assert run["status"] == "waiting" and step(run, expected_step)["status"] == "waiting"
        assert [a["status"] for a in pending(cli, env=env)] == ["pending"]
        clock.write_text((moment + timedelta(hours=later)).isoformat())
        assert pending(cli, env=env) == []
        run = run_json(cli, "resume", run["id"], "-q", env=env)
    assert step(run, "first")["status"] == "succeeded"
    assert step(run, "first")["detail"]["decision"]["by"] == "timeout"
    assert step(run, "second")["status"] == "rejected"
    assert run["status"] == "failed" and run["error"]["type"] == "ApprovalExpired"
    expired = json.loads(cli("approvals", "--all", "--json", env=env).stdout)
    assert sorted(a["status"] for a in expired) == ["expired"] * 3


UNSAVEABLE = [
    "%load_ext jetnb",
    ("params", 'counter: str = "opened.txt"'),
    '%%step open_db\nimport sqlite3\nfrom pathlib import Path\np = Path(counter)\n'
    'p.write_text(p.read_text() + "o" if p.exists() else "o")\ndb = sqlite3.connect(":memory:")',
    "%%step gate --approve alice\nanswer = db.execute('select 42').fetchone()[0]",
    "%%result\nanswer",
]


def test_unsaveable_state_is_refused_at_suspend_time_until_the_step_is_idempotent(cli, make_nb, project, user):
    path = make_nb("unsaveable.ipynb", UNSAVEABLE)
    failed = run_json(cli, "run", "unsaveable.ipynb", "-q", "-p", "counter", str(project / "opened.txt"))
    assert failed["status"] == "failed" and failed["error"]["type"] == "SuspendError"
    assert "step 'open_db' bound 'db' (sqlite3.Connection), which cannot be saved" in failed["error"]["message"]
    assert "--idempotent" in failed["error"]["message"]
    assert pending(cli) == []

    nb = json.loads(path.read_text())
    nb["cells"][2]["source"] = nb["cells"][2]["source"].replace("%%step open_db", "%%step open_db --idempotent")
    path.write_text(json.dumps(nb))
    waiting = run_json(cli, "resume", failed["id"], "-q")
    assert waiting["status"] == "waiting"
    [request] = pending(cli)
    cli("approve", str(request["id"]), env=user("alice"))
    done = run_json(cli, "resume", failed["id"], "-q")
    assert done["status"] == "succeeded" and done["result"] == 42
    assert (project / "opened.txt").read_text() == "ooo"  # the idempotent step re-ran on each resume


FLAKY = [
    "%load_ext jetnb",
    ("params", 'folder: str = "."'),
    '%%step count\nfrom pathlib import Path\nc = Path(folder, "count.txt")\n'
    'c.write_text(c.read_text() + "c" if c.exists() else "c")\nrows = ["a", "b"]',
    '%%step needs_fix\nif not Path(folder, "fixed.txt").exists():\n    raise RuntimeError("not fixed yet")\n'
    'rows.append("c")',
    "%%result\nrows",
]


def test_resume_a_failed_run_from_the_failing_step(cli, make_nb, project):
    make_nb("flaky.ipynb", FLAKY)
    failed = run_json(cli, "run", "flaky.ipynb", "-q", "-p", "folder", str(project))
    assert failed["status"] == "failed" and failed["error"]["step"] == "needs_fix"
    (project / "fixed.txt").write_text("yes")
    done = run_json(cli, "resume", failed["id"], "-q")
    assert done["id"] == failed["id"] and done["status"] == "succeeded"
    assert done["result"] == ["a", "b", "c"]
    assert (project / "count.txt").read_text() == "c"
    assert done["log_path"] == failed["log_path"]
    assert cli("resume", failed["id"]).returncode == 2  # a succeeded run is not resumable


def test_example_approval_workflow(cli, project, user):
    shop = project / "shop.db"
    notebook = str(REPO / "notebooks" / "approve_refund.ipynb")
    waiting = run_json(cli, "run", notebook, "-q", "-p", "shop_db", str(shop), "-p", "order_id", "1001",
                       env=user("dana"))
    assert waiting["status"] == "waiting"
    [request] = pending(cli)
    assert request["message"] == "Refund 42.50 to ada@example.com for order 1001 (wrong item)?"
    assert cli("approve", str(request["id"]), "--resume", env=user("alice")).returncode == 0
    done = json.loads(cli("show", waiting["id"], "--json").stdout)
    assert done["status"] == "succeeded" and done["result"]["refunded"] == 42.5
    assert sqlite3.connect(shop).execute("SELECT amount FROM refunds").fetchall() == [(42.5,)]

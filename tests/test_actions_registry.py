"""The actions registry (entry points ``jetnb.actions``), lazy imports, and where omitted URLs come from."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import REPO
from test_actions_http import CaptureServer, capture  # noqa: F401  (capture is a fixture)

import jetnb
from jetnb.actions import UnknownAction, action_names, email, get_action, http, slack, sql, webhook

DOCS = (REPO / "docs" / "actions.md").read_text(encoding="utf-8")
BUILT_IN = {"http": http.request, "webhook": webhook.send, "email": email.send, "slack": slack.send,
            "sql": sql.execute}


def python(code: str, path: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (nothing imported yet), with ``path`` on PYTHONPATH."""
    env = {"PYTHONPATH": str(path)} if path else {}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=False,
                          timeout=60, env={**os.environ, **env})


def test_built_in_actions_are_registered_by_name() -> None:
    assert set(BUILT_IN) <= set(action_names())
    for name, function in BUILT_IN.items():
        assert get_action(name) is function
    with pytest.raises(UnknownAction, match="unknown action 'teams' \\(known: email, http, .*sql"):
        get_action("teams")


def test_importing_the_package_costs_nothing_until_an_action_is_used() -> None:
    result = python("""
        import sys
        import jetnb.actions
        heavy = ("requests", "sqlalchemy", "smtplib", "jetnb.actions.http", "importlib.metadata")
        print([name for name in heavy if name in sys.modules])
        jetnb.actions.http.request, jetnb.actions.sql.query
        from jetnb.actions import email, webhook
        print(email.send.__module__, webhook.send.__module__, "sqlalchemy" in sys.modules)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["[]", "jetnb.actions.email jetnb.actions.webhook True"]


def plug_in_example() -> str:
    """The plug-in module that docs/actions.md shows, as it is written there."""
    block = DOCS.split("# jetnb_teams/__init__.py\n", 1)[1]
    return block.split("```", 1)[0]


def test_the_documented_plug_in_is_one_module_and_one_entry_point(tmp_path: Path,
                                                                  capture: CaptureServer) -> None:  # noqa: F811
    (tmp_path / "jetnb_teams").mkdir()
    (tmp_path / "jetnb_teams" / "__init__.py").write_text(plug_in_example())
    info = tmp_path / "jetnb_teams-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: jetnb-teams\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[jetnb.actions]\nteams = jetnb_teams:send\nbroken = no_such_module:x\n")
    result = python(f"""
        import json
        from jetnb.actions import UnknownAction, action_names, get_action
        try:
            get_action("broken")
        except UnknownAction as exc:
            broken = str(exc)
        get_action("teams")(text="deployed", webhook_url="{capture.url('/webhookb2/T0SECRET')}")
        print(json.dumps([action_names(), broken]))
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    names, broken = json.loads(result.stdout)
    assert {"teams", "slack", "sql"} <= set(names)
    assert json.loads(capture.seen[0].body) == {"text": "deployed"}
    assert broken == "action 'broken' is installed but cannot be loaded (ModuleNotFoundError: No module named " \
                     "'no_such_module')"


def test_every_action_and_argument_is_documented() -> None:
    functions = [*BUILT_IN.values(), sql.query]
    missing = [f"{f.__module__}.{f.__name__}({name})" for f in functions
               for name in inspect.signature(f).parameters if f"`{name}`" not in DOCS]
    missing += [name for name in BUILT_IN if f"| `{name}` |" not in DOCS]
    assert missing == []


def test_an_omitted_url_is_read_through_jetnb_secret_when_jetnb_has_it(capture: CaptureServer,  # noqa: F811
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The secrets feature plugs in as ``jetnb.secret(name)``; the actions look it up at each call."""
    store = {"SLACK_WEBHOOK_URL": capture.url("/services/T0/B0/X0")}

    def secret(name: str) -> str:
        return store[name]

    monkeypatch.setenv("SMTP_URL", "smtp://127.0.0.1:9")  # the environment is not read once jetnb.secret exists
    monkeypatch.setattr(jetnb, "secret", secret, raising=False)
    slack.send("from the secret store")
    assert capture.seen[0].path == "/services/T0/B0/X0"
    with pytest.raises(ValueError, match="smtp_url: not given, and 'SMTP_URL'"):  # the lookup's own KeyError
        email.send("ada@example.com", "s", "b")

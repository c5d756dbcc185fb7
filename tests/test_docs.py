"""The spec in docs/format.md names every key and option the code accepts, so the two cannot drift apart."""

from __future__ import annotations

from conftest import REPO
from jetnb.model.config import WORKFLOW
from jetnb.triggers.data_change import SOURCE
from jetnb.triggers.registry import kinds
from jetnb.model.headers import OPTIONS

FORMAT = (REPO / "docs" / "format.md").read_text(encoding="utf-8")


def test_every_workflow_key_is_documented():
    missing = [key for key in WORKFLOW if f"`{key}`" not in FORMAT]
    assert missing == []


def test_every_trigger_and_its_keys_are_documented():
    missing = [f"{kind}.{key}" for kind, trigger in kinds().items() for key in [kind, *trigger.schema]
               if f"`{key}`" not in FORMAT]
    missing += [f"source.{key}" for key in SOURCE if key not in FORMAT]
    assert missing == []


def test_every_header_option_is_documented():
    missing = [opt.flag for options in OPTIONS.values() for opt in options if f"`{opt.flag}" not in FORMAT]
    assert missing == []


def test_readme_gives_the_two_commands():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "pip install -e . && jetnb run notebooks/hello.ipynb -p name World" in readme
    assert "pip install -e '.[test]' && pytest" in readme
    assert "pytest" in (REPO / ".ci" / "run").read_text(encoding="utf-8")

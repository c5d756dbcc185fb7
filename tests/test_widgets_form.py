"""RunForm and TableTrigger, kernel-less but with real runs: fields by type, inline errors, rows as parameters."""

from __future__ import annotations

import ipywidgets as widgets
import pytest

from conftest import REPO
from jetnb.store import Store
from jetnb.widgets import RunForm, TableTrigger

HELLO = REPO / "notebooks" / "hello.ipynb"
TIMEOUT = 90

TYPED = [
    "%load_ext jetnb",
    "%%workflow\nname: typed\ndescription: one parameter of each kind",
    ("params", "from typing import Optional\nfrom datetime import date\n"
               "count: int = 3  # how many\n"
               "ratio: float = 0.5  # share\n"
               "# send it now\n"
               "urgent: bool = False\n"
               'label: str = "box"\n'
               'tags: list = ["a"]  # labels\n'
               "limits: dict = {}\n"
               "extra = None\n"
               "cap: Optional[int] = None  # empty for no cap\n"
               "day: str = str(date.today())  # computed by the kernel"),
    "%%result\n{'count': count, 'ratio': ratio, 'urgent': urgent, 'label': label, 'tags': tags,"
    " 'limits': limits, 'extra': extra, 'cap': cap, 'day': day}",
]


def test_form_fields_follow_the_parameters_cell(make_nb):
    form = RunForm(make_nb("typed.ipynb", TYPED))
    kinds = {name: type(field.input) for name, field in form.fields.items()}
    assert kinds == {"count": widgets.IntText, "ratio": widgets.FloatText, "urgent": widgets.Checkbox,
                     "label": widgets.Text, "tags": widgets.Textarea, "limits": widgets.Textarea,
                     "extra": widgets.Textarea, "cap": widgets.Text, "day": widgets.Text}
    values = {name: field.input.value for name, field in form.fields.items()}
    assert values == {"count": 3, "ratio": 0.5, "urgent": False, "label": "box", "tags": '["a"]', "limits": "{}",
                      "extra": "", "cap": "", "day": ""}
    assert form.fields["count"].input.tooltip == "how many"
    assert form.fields["urgent"].input.tooltip == "send it now"
    assert form.fields["label"].input.tooltip == "str"
    assert "how many" in form.fields["count"].message.value
    assert form.fields["cap"].input.placeholder == "empty = None"
    assert form.fields["day"].input.placeholder == "default: str(date.today())"
    assert form.button.description == "Run typed"


def test_form_shows_each_bad_value_next_to_its_field_and_starts_nothing(make_nb, project):
    form = RunForm(make_nb("typed.ipynb", TYPED))
    form.fields["tags"].input.value = "[a, b"
    form.fields["cap"].input.value = "lots"
    form.fields["limits"].input.value = "- not a mapping"
    assert form.submit() is None
    assert "✗ expected list (JSON or YAML), could not read" in form.fields["tags"].message.value
    assert "✗ expected int, got &#x27;lots&#x27;" in form.fields["cap"].message.value
    assert "✗ expected dict (JSON or YAML), got list" in form.fields["limits"].message.value
    assert "✗" not in form.fields["count"].message.value and "how many" in form.fields["count"].message.value
    assert "3 fields to correct above" in form.status.markdown
    assert not (project / ".jetnb").exists() or Store(project / ".jetnb" / "jetnb.db").list_runs() == []

    form.fields["tags"].input.value = "[a, b]"
    form.fields["cap"].input.value = ""
    form.fields["limits"].input.value = "max: 2"
    assert form.submit() is not None
    assert "✗" not in form.fields["tags"].message.value and "labels" in form.fields["tags"].message.value
    run = form.status.wait(TIMEOUT)
    assert run["status"] == "succeeded", form.status.markdown
    assert run["result"]["day"] != "" and run["result"]["cap"] is None
    assert run["params"] == {"count": 3, "ratio": 0.5, "urgent": False, "label": "box", "tags": ["a", "b"],
                             "limits": {"max": 2}, "extra": None, "cap": None}


def test_form_sends_typed_values(make_nb):
    form = RunForm(make_nb("typed.ipynb", TYPED))
    fields = form.fields
    fields["count"].input.value, fields["ratio"].input.value, fields["urgent"].input.value = 7, 2.5, True
    fields["extra"].input.value, fields["cap"].input.value, fields["day"].input.value = "{k: [1]}", "10", "2026-01-01"
    form.button.click()
    run = form.status.wait(TIMEOUT)
    assert run["result"] == {"count": 7, "ratio": 2.5, "urgent": True, "label": "box", "tags": ["a"], "limits": {},
                             "extra": {"k": [1]}, "cap": 10, "day": "2026-01-01"}
    assert run["trigger"] == "widget"


def test_table_rows_start_runs_with_their_values(project):
    table = TableTrigger([{"name": "Ada", "times": 2, "city": "Paris"}, {"name": "Bo", "times": "x"}], HELLO)
    assert table.mapping == {"name": "name", "times": "times"}
    assert table.columns == ["name", "times", "city"]
    table.buttons[0].click()
    run = table.statuses[0].wait(TIMEOUT)
    assert run["params"] == {"name": "Ada", "times": 2}
    assert run["trigger_detail"] == {"widget": "TableTrigger", "row": 0}
    line = table.statuses[0].markdown
    assert line.startswith("**✓ succeeded in ") and '`{"greeting": "Hello, Ada! Hello, Ada!"}`' in line
    assert f"[run log](runs/hello/{run['id']}.ipynb)" in line
    assert table.click_row(1) is None
    assert "parameter 'times': expected int, got 'x'" in table.statuses[1].markdown
    assert table.statuses[1].run is None and not table.buttons[1].disabled


def test_a_new_table_shows_each_row_its_last_run(project):
    rows = [{"name": "Ada", "times": 2}, {"name": "Bo", "times": 1}]
    first = TableTrigger(rows, HELLO)
    first.click_row(0)
    run = first.statuses[0].wait(TIMEOUT)
    again = TableTrigger(rows, HELLO)
    assert again.statuses[0].run["id"] == run["id"]
    assert again.statuses[0].markdown.startswith("**✓ succeeded in ")
    assert again.statuses[1].run is None and again.statuses[1].markdown == ""


def test_table_maps_columns_and_asks_before_running(project):
    rows = [{"customer": "Lin", "n": 1}]
    table = TableTrigger(rows, HELLO, params={"name": "customer"}, confirm="Greet {customer} for {workflow}?")
    table.click_row(0)
    assert table.question.value == "Greet Lin for hello?" and table.prompt.layout.display == "flex"
    assert table.answer(False) is None
    assert table.prompt.layout.display == "none" and table.statuses[0].markdown == ""
    table.click_row(0)
    assert table.answer(True) is not None
    assert table.statuses[0].wait(TIMEOUT)["result"] == {"greeting": "Hello, Lin!"}
    default = TableTrigger(rows, HELLO, params={"name": "customer"}, confirm=True)
    default.click_row(0)
    assert default.question.value == "Run hello with {&quot;name&quot;: &quot;Lin&quot;}?"


def test_table_takes_a_dataframe(project):
    import pandas  # a test dependency only: jetnb itself never imports it

    frame = pandas.DataFrame({"name": ["Ada", "Bo"], "times": [1, 3]})
    table = TableTrigger(frame, HELLO)
    assert table.rows == [{"name": "Ada", "times": 1}, {"name": "Bo", "times": 3}]
    table.buttons[1].click()
    assert table.statuses[1].wait(TIMEOUT)["result"] == {"greeting": "Hello, Bo! Hello, Bo! Hello, Bo!"}


@pytest.mark.parametrize("kwargs,message", [
    ({"params": {"name": "who"}}, "no column 'who' (for parameter 'name')"),
    ({"params": {"nme": "name"}}, "'nme' is not a parameter of hello (declared: name, times)"),
    ({"confirm": "Greet {person}?"}, "confirm message: no column 'person'"),
])
def test_table_refuses_a_mapping_that_cannot_work(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TableTrigger([{"name": "Ada"}], HELLO, **kwargs)
    with pytest.raises(TypeError, match="row 0 is a list"):
        TableTrigger([["Ada"]], HELLO)

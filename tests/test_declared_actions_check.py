"""Declared actions read without running anything: the template renderer's rules, and every refusal ``jetnb check``
makes (unknown action, argument or field, inline credential, malformed template), named with its cell and path."""

from __future__ import annotations

import pytest

from jetnb.model.placeholders import TemplateError, fill, fill_all, placeholders

FIELDS = {"workflow": "nightly", "step": "fetch", "error": "boom", "result": {"rows": 3}, "failures": 5,
          "approvers": ["ada@example.com", "bob@example.com"], "nothing": None,
          "params": {"order_id": 1001, "tags": ["a", 1]}}


def test_fields_are_filled_as_text_and_a_lone_list_or_mapping_keeps_its_shape():
    assert fill("{workflow} failed at {step}: {error}", FIELDS) == "nightly failed at fetch: boom"
    assert fill("{result} after {failures} tries{nothing}", FIELDS) == '{"rows":3} after 5 tries'
    assert fill("to {approvers}", FIELDS) == "to ada@example.com, bob@example.com"
    assert fill("{approvers}", FIELDS) == ["ada@example.com", "bob@example.com"]
    assert fill("{result}", FIELDS) == {"rows": 3}
    assert fill("{failures}", FIELDS) == "5"  # a lone number is text: arguments that take text get text
    assert fill("order {params.order_id} {params.tags}", FIELDS) == 'order 1001 ["a",1]'
    assert fill("{{literal}} and {{{step}}}", FIELDS) == "{literal} and {fetch}"
    assert fill_all({"run": "{workflow}", "n": 3, "items": ["{step}", True]}, FIELDS) == \
        {"run": "nightly", "n": 3, "items": ["fetch", True]}


@pytest.mark.parametrize("template", ["{error.__class__}", "{params[0]}", "{failures:>10}", "{step!r}", "{ step }",
                                      "{}", "{a.b}", "{params.x.y}", "{__import__('os')}", "lone { brace",
                                      "lone } brace", "{open{nested}}"])
def test_anything_but_a_plain_name_in_braces_is_refused(template):
    with pytest.raises(TemplateError):
        placeholders(template)
    with pytest.raises(TemplateError):
        fill(template, FIELDS)


def test_a_field_without_a_value_is_an_error_not_a_guess():
    with pytest.raises(TemplateError, match=r"\{reason\}: no such field here"):
        fill("{reason}", FIELDS)
    with pytest.raises(TemplateError, match="the run has no parameter 'nope'"):
        fill("{params.nope}", FIELDS)


GOOD = ["%load_ext jetnb", r"""%%workflow
name: declared
on_error:
  - alert
  - slack: {webhook_url_secret: SLACK_WEBHOOK, text: "{workflow} failed at {step}: {error} ({params.order_id})"}
on_success: [{webhook: {url_secret: ZAPIER_HOOK, secret_secret: ZAPIER_SIGNING, payload: {run: "{run_id}", result: "{result}"}}}]
on_pause: [{email: {to: ops@example.com, subject: "{workflow} paused", body: "{reason}", smtp_url_secret: SMTP_URL}}]
notify_approvers: {email: {to: "{approvers}", subject: "Approval needed: {workflow}", body: "{message}\n{approvals_url}"}}
actions:
  page_ops: {slack: {text: "step {step} failed: {error_type}"}}
  told: {http: {method: POST, url: "https://example.com/done/{run_id}"}}
""", ("params", "order_id: int = 1"), "%%handler alert\nprint(error)",
        "%%step fetch --on-error-action page_ops --on-success-action told\npass"]


def test_a_workflow_with_every_kind_of_declaration_is_clean(cli, make_nb):
    make_nb("good.ipynb", GOOD)
    result = cli("check", "good.ipynb")
    assert result.returncode == 0, result.stdout
    graph = cli("graph", "good.ipynb").stdout
    assert "done -.->|run failed| h_alert" in graph and "done -.->|run failed| h_action_slack" in graph
    assert 'h_action_page_ops>"action page_ops"]' in graph and "c5 -.->|on success| h_action_told" in graph


BAD = ["%load_ext jetnb", """%%workflow
name: bad
on_error:
  - alert
  - other
  - slak: {text: hi}
  - slack: {txt: "{workflow}", webhook_url: "https://hooks.slack.com/services/T0/B0/XX"}
  - email: {to: ops@example.com, subject: "{stepp} {params.ordr}", body: "{error.type}", smtp_url_secret: "not a name"}
  - [not, a, mapping]
on_success: [{webhook: {url_secret: HOOK, payload: {error: "{error}"}}}]
on_pause: [{slack: {text: "{params.order_id} {run_id}"}}]
notify_approvers: {email: {to: "{approvers}", subject: "{reason}", body: "x {"}}
actions:
  page_ops: {slack: {text: "{result}"}}
  told: {slack: {text: "{error}"}}
""", ("params", "order_id: int = 1"), "%%handler alert\npass",
       "%%step fetch --on-error-action page_ops,missing --on-success-action told\npass",
       "%%step other --on-error-action 'bad name'\npass"]


def test_every_refusal_names_the_cell_and_the_path(cli, make_nb):
    make_nb("bad.ipynb", BAD)
    result = cli("check", "bad.ipynb")
    assert result.returncode == 1
    out = result.stdout
    expected = [
        "cell 2: %%workflow: on_error[1]: a second handler ('other' after 'alert'); a list holds at most one "
        "handler or notebook, and any number of actions",
        "cell 2: %%workflow: on_error[2].slak: unknown action (did you mean 'slack'?)",
        "cell 2: %%workflow: on_error[3].slack.txt: slack takes no argument 'txt' (did you mean 'text'?)",
        "cell 2: %%workflow: on_error[3].slack.webhook_url: a credential is never written in the notebook; name the "
        "secret that holds it: webhook_url_secret: NAME",
        "cell 2: %%workflow: on_error[4].email.smtp_url_secret: expected the name of a secret (letters, digits and "
        "'_'), got 'not a name'",
        "cell 2: %%workflow: on_error[5]: each action is a mapping with one key, the action",
        "cell 2: %%workflow: on_error[4].email.subject: unknown field {stepp} (did you mean {step}? on_error knows: "
        "workflow, run_id, status, started_by, trigger, run_url, step, error, error_type, params.NAME)",
        "cell 2: %%workflow: on_error[4].email.body: {error.type} is not a field",
        "cell 2: %%workflow: on_success[0].webhook.payload.error: unknown field {error} (on_success knows: workflow, "
        "run_id, status, started_by, trigger, run_url, result, params.NAME)",
        "cell 2: %%workflow: on_pause[0].slack.text: unknown field {params.order_id}: on_pause is about the "
        "workflow, not one run's parameters",
        "cell 2: %%workflow: on_pause[0].slack.text: unknown field {run_id} (did you mean {last_run_id}? on_pause "
        "knows: workflow, reason, failures, last_error, last_run_id, run_url)",
        "cell 2: %%workflow: notify_approvers[0].email.subject: unknown field {reason}",
        "cell 2: %%workflow: notify_approvers[0].email.body: a lone '{' at position 2 (write {{ for a brace)",
        "cell 2: %%workflow: actions.page_ops.slack.text: unknown field {result} (on_error_action knows: workflow, "
        "run_id, status, started_by, trigger, step, error, error_type, params.NAME)",
        "cell 2: %%workflow: actions.told.slack.text: unknown field {error} (on_success_action knows: workflow, "
        "run_id, status, started_by, trigger, step, params.NAME)",
        "cell 5: %%step fetch: --on-error-action: no action 'missing' under actions: in %%workflow",
        "cell 6: %%step other: --on-error-action: 'bad name' is not a valid name",
        "cell 2: %%workflow: on_error[4].email.subject: unknown field {params.ordr}: no parameter 'ordr' "
        "(declared: order_id)",
    ]
    for line in expected:
        assert line in out, f"{line!r} not in:\n{out}"


def test_the_kernel_refuses_what_check_refuses(cli, make_nb):
    make_nb("bad.ipynb", BAD)
    result = cli("run", "bad.ipynb")
    assert result.returncode == 2 and "unknown action (did you mean 'slack'?)" in result.stderr
    assert "Traceback" not in result.stderr

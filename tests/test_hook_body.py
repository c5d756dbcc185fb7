"""What a webhook body gives a run, read without a server: JSON or form bodies, ``payload``, ``headers`` and ``pick``
(paths, and where a missing one stopped), and the problems ``jetnb check`` reports for a hook's bindings."""

from __future__ import annotations

import json

import pytest

from conftest import REPO
from jetnb.http.base import BadBody
from jetnb.http.hook_body import delivery_params, read_body
from jetnb.model.params import ParameterError, Typed
from jetnb.triggers.body_paths import MissingPath, path_keys, pick

STRIPE = json.loads((REPO / "tests" / "fixtures" / "stripe_payment_intent_succeeded.json").read_text())
HOOK = {"name": "h", "auth": "none", "params": {"note": "const"}, "signature_header": "X-Hub-Signature-256"}


def test_paths_pick_keys_and_list_items_and_say_where_they_stopped():
    assert pick(STRIPE, "data.object.metadata.order_id") == "1001"
    assert pick(STRIPE, "data.object.payment_method_types.0") == "card"
    assert pick({"a-b": {"c_d": 1}}, "a-b.c_d") == 1
    for path, why in [("data.object.metadata.invoice", "data.object.metadata has no key 'invoice'"),
                      ("data.object.payment_method_types.3", "data.object.payment_method_types has 1 item(s), no "
                                                             "item 3"),
                      ("type.name", "type is text, not an object with key 'name'"),
                      ("nope", "the body has no key 'nope'")]:
        with pytest.raises(MissingPath) as caught:
            pick(STRIPE, path)
        assert str(caught.value) == why


@pytest.mark.parametrize("path", ["", "a..b", ".a", "a.", "a b", "a[0]", "a.__class__.x y", "é", "a." * 40 + "a", 3])
def test_malformed_paths_are_refused(path):
    with pytest.raises(ValueError):
        path_keys(path)


def test_json_and_form_bodies():
    assert read_body(b'{"a": 1}', "application/json") .values == {"a": 1}
    assert read_body(b"", None).values == {}
    form = read_body(b"order_id=1002&email=grace%40example.com&note=&note=last+one", "application/x-www-form-urlencoded;"
                                                                                     " charset=utf-8")
    assert form.text and form.values == {"order_id": "1002", "email": "grace@example.com", "note": "last one"}
    for body, content_type, why in [(b"\xff=1", "application/x-www-form-urlencoded", "malformed form: the body is not "
                                                                                       "UTF-8"),
                                    (b"&".join(b"k%d=1" % i for i in range(1001)), "application/x-www-form-urlencoded",
                                     "malformed form: more than 1000 fields"),
                                    (b"a=1", "text/plain", "malformed JSON")]:
        with pytest.raises(BadBody, match=why):
            read_body(body, content_type)


HEADERS = [("Content-Type", "application/json"), ("X-GitHub-Event", "push"), ("Authorization", "Bearer t0ken"),
           ("X-Hub-Signature-256", "sha256=abc"), ("Cookie", "session=1"), ("Accept", "a"), ("Accept", "b"),
           ("Stripe-Signature", "t=1,v1=2"), ("Webhook-Signature", "v1,x"), ("X-Custom-Sig", "mine")]


def test_body_keys_are_parameters_unless_the_hook_reads_the_body_as_data():
    json_body, form = read_body(b'{"order_id": 3}', None), read_body(b"order_id=3", "application/x-www-form-urlencoded")
    assert delivery_params(HOOK, json_body, [], {"q": "1"}) == {"note": Typed("const"), "q": "1",
                                                                 "order_id": Typed(3)}
    assert delivery_params(HOOK, form, [], {}) == {"note": Typed("const"), "order_id": "3"}  # text: parsed by type
    hook = {**HOOK, "payload": "event", "headers": "hook_headers", "pick": {"order_id": "data.object.metadata.order_id"},
            "signature_header": "X-Custom-Sig"}
    params = delivery_params(hook, read_body(json.dumps(STRIPE).encode(), None), HEADERS, {})
    assert params == {"note": Typed("const"), "order_id": Typed("1001"), "event": Typed(STRIPE),
                      "hook_headers": Typed({"content-type": "application/json", "x-github-event": "push",
                                             "accept": "a, b"})}  # no credential or signature header, any case
    picked_from_form = delivery_params({**HOOK, "pick": {"order_id": "order_id"}}, form, [], {})
    assert picked_from_form == {"note": Typed("const"), "order_id": "3"}


def test_every_missing_path_is_one_problem_naming_its_parameter():
    hook = {**HOOK, "pick": {"order_id": "data.object.metadata.order_id", "invoice": "data.object.invoice.id",
                             "kind": "type"}}
    with pytest.raises(ParameterError) as caught:
        delivery_params(hook, read_body(b'{"type": "ping", "data": {"object": {}}}', None), [], {})
    assert caught.value.problems == [
        "parameter 'order_id': nothing at data.object.metadata.order_id in the body (data.object has no key "
        "'metadata')",
        "parameter 'invoice': nothing at data.object.invoice.id in the body (data.object has no key 'invoice')"]
    assert set(caught.value.fields) == {"order_id", "invoice"}


BINDINGS = ["%load_ext jetnb", """%%workflow
name: bindings
triggers:
  - webhook: {name: a, auth: none, payload: event, headers: hook_headers, pick: {order_id: data.object.id, nope: x}}
  - webhook: {name: b, auth: none, payload: order_id, pick: {order_id: "data..id", "bad name": x}}
  - webhook: {name: c, auth: none, headers: 3}
""", ("params", "event: str = ''\norder_id: int = 0")]


def test_check_names_each_binding_problem(cli, make_nb):
    make_nb("bindings.ipynb", BINDINGS)
    result = cli("check", "bindings.ipynb")
    assert result.returncode == 1
    for line in [
        "cell 2: %%workflow: triggers[1].webhook.pick: 'data..id' is not a path: keys are letters, digits, '_' and "
        "'-' separated by dots (at '')",
        "cell 2: %%workflow: triggers[2].webhook.headers: expected the name of a declared parameter, got 3",
    ]:
        assert line in result.stdout, result.stdout
    make_nb("bindings.ipynb", [*BINDINGS[:1], BINDINGS[1].replace('"data..id", "bad name": x', "data.id"),
                               BINDINGS[2]])
    out = cli("check", "bindings.ipynb").stdout
    for line in [
        "cell 2: %%workflow: triggers[0].webhook.payload: parameter 'event' is declared str; declare it in the "
        "parameters cell as `event: dict = {}`",
        "cell 2: %%workflow: triggers[0].webhook.headers: parameter 'hook_headers' is not declared; declare it in the "
        "parameters cell as `hook_headers: dict = {}`",
        "cell 2: %%workflow: triggers[0].webhook.pick.nope: no parameter 'nope' (declared: event, order_id)",
        "cell 2: %%workflow: triggers[1].webhook: parameter 'order_id' is filled twice (payload, headers and pick "
        "each fill their own parameter)",
    ]:
        assert line in out, out

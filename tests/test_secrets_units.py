"""Secrets without kernels: the masker, journal sealing, the log filter, the ``Secret`` type, the ``secrets`` key,
``jetnb check`` on undeclared secrets and the ``jetnb secrets`` commands (real CLI)."""

from __future__ import annotations

import io
import json
import logging
import os
import pickle
import stat
from pathlib import Path

import pytest

from jetnb.model.params import ParameterError, coerce_params, parse_parameters
from jetnb.model.workflow import Workflow
from jetnb.secrets.logs import MaskingFilter
from jetnb.secrets.masking import Masker, SecretTooShort
from jetnb.secrets.sealing import SealError, seal, unseal

VALUE = 'sk-live-7f"3\\é/ä b&c'  # quotes, a backslash, non-ASCII, a space: every escaping differs


@pytest.fixture
def masker() -> Masker:
    found = Masker()
    found.remember(VALUE)
    return found


# masking ---------------------------------------------------------------------------------------------------


def test_a_value_is_masked_as_written_json_escaped_repr_and_url_quoted(masker: Masker) -> None:
    from urllib.parse import quote, quote_plus

    for shown in (VALUE, json.dumps(VALUE)[1:-1], json.dumps(VALUE, ensure_ascii=False)[1:-1], repr(VALUE)[1:-1],
                  quote(VALUE, safe=""), quote_plus(VALUE)):
        assert masker.mask(f"before {shown} after") == "before *** after", shown


def test_json_text_stays_valid_json_and_numbers_are_left_alone() -> None:
    masker = Masker()
    masker.remember("123456")  # a numeric secret must not cut a number in the JSON syntax
    text = json.dumps({"count": 1234567, "note": "pin 123456 used", "nested": ["x123456y"], "123456": 1})
    masked = json.loads(masker.mask_json(text))
    assert masked == {"count": 1234567, "note": "pin *** used", "nested": ["x***y"], "***": 1}


def test_serialized_json_of_awkward_values_is_masked_and_valid(masker: Masker) -> None:
    document = {"out": [f"line with {VALUE} inside\n"], "meta": {"k": {"v": VALUE}}}
    for ascii in (True, False):
        text = masker.mask_json(json.dumps(document, ensure_ascii=ascii))
        assert json.loads(text) == {"out": ["line with *** inside\n"], "meta": {"k": {"v": "***"}}}


def test_structures_are_masked_keys_included(masker: Masker) -> None:
    assert masker.masked({VALUE: [VALUE, 1, None, (f"a{VALUE}",)]}) == {"***": ["***", 1, None, ["a***"]]}


def test_held_values_are_masked_until_every_holder_released_them() -> None:
    masker = Masker()
    masker.hold(["token-A-123"])
    masker.hold(["token-A-123"])
    masker.release(["token-A-123"])
    assert masker.mask("token-A-123") == "***"
    masker.release(["token-A-123"])
    assert masker.mask("token-A-123") == "token-A-123"


def test_values_too_short_to_mask_are_refused() -> None:
    with pytest.raises(SecretTooShort, match="a secret value is 3 characters long; jetnb needs secrets of at "
                                             "least 6 characters"):
        Masker().remember("abc")


def test_the_log_filter_masks_messages_arguments_and_tracebacks(masker: Masker, monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    import jetnb.secrets.logs as logs

    monkeypatch.setattr(logs, "masker", masker)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("jetnb.test-secrets")
    logger.addHandler(handler)
    try:
        logger.warning("token %s in a line", VALUE)
        try:
            raise ValueError(f"bad {VALUE}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    assert VALUE not in stream.getvalue() and "token *** in a line" in stream.getvalue()
    assert "ValueError: bad ***" in stream.getvalue()


# journal sealing -------------------------------------------------------------------------------------------


def test_sealing_keeps_the_pickle_valid_and_holds_no_value() -> None:
    values = {"secret:STRIPE_KEY": "sk-live-0123456789", "param:api_key": "key-XYZ-é"}
    entry = {"headers": {"auth": f"Bearer {values['param:api_key']}"}, "raw": values["secret:STRIPE_KEY"].encode(),
             "both": values["param:api_key"] + values["secret:STRIPE_KEY"]}
    sealed, placeholders = seal(pickle.dumps(entry, protocol=5), values)
    assert all(v.encode() not in sealed for v in values.values())
    assert all(p not in repr(v).encode() for p in placeholders.values() for v in values.values())
    assert pickle.loads(unseal(sealed, placeholders, values, "the journal")) == entry


def test_unsealing_names_a_secret_that_is_missing_or_has_changed() -> None:
    sealed, placeholders = seal(pickle.dumps(["key-ABCDEF"]), {"param:api_key": "key-ABCDEF"})
    with pytest.raises(SealError, match="holds the Secret parameter 'api_key', which this run was not given again"):
        unseal(sealed, placeholders, {}, "the journal of step 'a'")
    with pytest.raises(SealError, match="whose value has changed since it was saved"):
        unseal(sealed, placeholders, {"param:api_key": "longer-key-ABCDEF"}, "the journal of step 'a'")


# the Secret type, the secrets key, jetnb check --------------------------------------------------------------


def test_a_secret_parameter_is_text_or_none_and_its_default_must_be_none() -> None:
    declared = parse_parameters("api_key: Secret = None\nother: Optional[Secret] = None\n")
    assert [str(p.type) for p in declared] == ["secret", "Optional[secret]"]
    assert coerce_params(declared, {"api_key": "key-XYZ", "other": "none"}) == {"api_key": "key-XYZ", "other": None}
    with pytest.raises(ParameterError, match="parameter 'api_key': expected secret, got int"):
        coerce_params(declared, {"api_key": 1234567})
    with pytest.raises(ValueError, match="line 1: parameter 'api_key': a Secret's default must be None"):
        parse_parameters('api_key: Secret = "sk-in-the-notebook"')


def test_check_reports_bad_secret_names_and_undeclared_secret_calls(cli, make_nb) -> None:
    make_nb("wf.ipynb", ["%load_ext jetnb", "%%workflow\nsecrets: [STRIPE_KEY, JETNB_TOKEN, 2BAD, STRIPE_KEY]\n",
                         "%%step a\nimport jetnb\nkey = jetnb.secret('STRIPE_KEY')\n",
                         '%%step b\nhook = jetnb.secret("SLACK_HOOK")  # not declared\n'])
    result = cli("check", "wf.ipynb")
    assert result.returncode == 1
    assert "wf.ipynb: cell 2: %%workflow: secrets: 'JETNB_TOKEN': names starting with JETNB_ are jetnb's own" \
        in result.stdout
    make_nb("wf.ipynb", ["%load_ext jetnb", "%%workflow\nsecrets: [STRIPE_KEY]\n",
                         "%%step a\nimport jetnb\nkey = jetnb.secret('STRIPE_KEY')\n",
                         '%%step b\nhook = jetnb.secret("SLACK_HOOK")  # not declared\n'])
    result = cli("check", "wf.ipynb")
    assert result.returncode == 1
    assert result.stdout.splitlines() == ["wf.ipynb: cell 4: jetnb.secret('SLACK_HOOK') reads a secret the workflow "
                                          "does not declare: add SLACK_HOOK to `secrets:` in the %%workflow cell"]


@pytest.mark.parametrize("value, message", [
    ("STRIPE_KEY", "expected a list of secret names"),
    (["has space"], "'has space' is not a valid secret name"),
    (["A", "A"], "A declared twice"),
])
def test_the_secrets_key_takes_a_list_of_distinct_names(value: object, message: str, make_nb) -> None:
    workflow = Workflow.load(make_nb("wf.ipynb", [f"%%workflow\n{json.dumps({'secrets': value})}"]))
    assert len(workflow.problems) == 1 and workflow.problems[0].message.startswith(f"%%workflow: secrets: {message}")


# jetnb secrets set / list / unset ----------------------------------------------------------------------------


def test_secrets_set_list_unset_keep_a_0600_file_and_never_print_values(cli, project: Path) -> None:
    assert cli("secrets", "set", "STRIPE_KEY", "sk-test-111111").returncode == 0
    piped = cli("secrets", "set", "SLACK_HOOK", input="https://hooks.example/T0/B0/XYZ\n")
    assert piped.returncode == 0, piped.stderr
    path = project / ".jetnb" / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"SLACK_HOOK": "https://hooks.example/T0/B0/XYZ",
                                            "STRIPE_KEY": "sk-test-111111"}
    listed = cli("secrets", "list", env={"STRIPE_KEY": "sk-from-env-222222"})
    assert listed.returncode == 0
    assert listed.stdout.split() == ["NAME", "SOURCE", "DECLARED", "BY", "SLACK_HOOK", "secrets", "file", "-",
                                     "STRIPE_KEY", "environment", "(overrides", "the", "secrets", "file)", "-"]
    assert "sk-" not in listed.stdout + listed.stderr and "hooks.example" not in listed.stdout
    assert cli("secrets", "unset", "SLACK_HOOK").returncode == 0
    missing = cli("secrets", "unset", "SLACK_HOOK")
    assert missing.returncode == 2 and "no secret SLACK_HOOK in .jetnb/secrets.json" in missing.stderr
    assert json.loads(path.read_text()) == {"STRIPE_KEY": "sk-test-111111"}


def test_secrets_list_for_notebooks_says_what_is_missing(cli, make_nb) -> None:
    make_nb("wf.ipynb", ["%%workflow\nsecrets: [STRIPE_KEY, SLACK_HOOK]\n"])
    cli("secrets", "set", "STRIPE_KEY", "sk-test-111111")
    listed = cli("secrets", "list", "wf.ipynb", "--json")
    assert listed.returncode == 1
    assert json.loads(listed.stdout) == [
        {"name": "STRIPE_KEY", "source": "secrets file", "declared_by": ["wf.ipynb"]},
        {"name": "SLACK_HOOK", "source": "missing", "declared_by": ["wf.ipynb"]}]


def test_secrets_set_refuses_bad_names_short_values_and_a_file_others_can_read(cli, project: Path,
                                                                               tmp_path_factory) -> None:
    assert "not a valid secret name" in cli("secrets", "set", "BAD-NAME", "sk-test-111111").stderr
    short = cli("secrets", "set", "PIN", "1234")
    assert short.returncode == 2 and "the value of PIN is 4 characters long" in short.stderr
    elsewhere = tmp_path_factory.mktemp("vault") / "team.json"
    assert cli("secrets", "set", "A_KEY", "sk-test-333333", env={"JETNB_SECRETS_FILE": str(elsewhere)}
               ).returncode == 0
    assert json.loads(elsewhere.read_text()) == {"A_KEY": "sk-test-333333"}
    os.chmod(elsewhere, 0o644)
    refused = cli("secrets", "list", env={"JETNB_SECRETS_FILE": str(elsewhere)})
    assert refused.returncode == 2
    assert f"secrets file {elsewhere} may be read or changed by others (mode 0644); jetnb refuses to use it: run " \
           f"`chmod 600 {elsewhere}`" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_check_refuses_a_secret_parameter_written_in_a_trigger(cli, make_nb) -> None:
    make_nb("wf.ipynb", ["%load_ext jetnb",
                         "%%workflow\ntriggers:\n  - interval: {every: 1h, params: {api_key: sk-in-the-notebook}}\n",
                         ("params", "api_key: Secret = None\n"), "%%step a\npass\n"])
    result = cli("check", "wf.ipynb")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "wf.ipynb: cell 2: %%workflow: triggers[0].interval.params: parameter 'api_key' is a Secret: its value "
        "cannot be written in the notebook (declare a secret under `secrets:` instead)"]

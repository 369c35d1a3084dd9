"""Loading policy files: every error reported as FILE:LINE: message, on the right line."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic_core import to_json

from riposte.policy.loader import PolicyError, load_policies, load_policy_file
from riposte.policy.models import Policy

GOOD = """\
name: good
match:
  source: darktrace
  entities: [user]
actions:
  - disable_sign_in
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


def errors_of(path: Path) -> list[PolicyError]:
    loaded, errors = load_policy_file(path)
    assert loaded is None
    return errors


def only_error(path: Path) -> PolicyError:
    errors = errors_of(path)
    assert len(errors) == 1, errors
    return errors[0]


def test_a_good_policy_loads_with_the_sha256_of_its_bytes(tmp_path: Path) -> None:
    """A valid file yields its policy, hashed as the sha256 of the file's exact bytes."""
    path = write(tmp_path, "good", GOOD)
    loaded, errors = load_policy_file(path)
    assert errors == []
    assert loaded is not None
    assert loaded.policy.name == "good"
    assert loaded.hash == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_yaml_syntax_error_is_reported_at_its_line(tmp_path: Path) -> None:
    """Broken YAML gives one error at the line the parser stopped on."""
    path = write(tmp_path, "broken", "name: broken\nmatch:\n  source: [darktrace\nactions: []\n")
    error = only_error(path)
    assert (error.file, error.line) == (str(path), 4)
    assert str(error).startswith(f"{path}:4: YAML syntax error")


def test_an_unquoted_comparison_gets_a_hint(tmp_path: Path) -> None:
    """YAML reads a bare `>= high` as a block scalar; the error says to quote it."""
    text = GOOD.replace("  source: darktrace\n", "  source: darktrace\n  severity: >= high\n")
    error = only_error(write(tmp_path, "good", text))
    assert error.line == 4
    assert error.message.endswith('quote a comparison, like severity: ">= high"')


def test_an_unknown_action_names_the_valid_ones(tmp_path: Path) -> None:
    """A misspelled action is reported at its list item, with a suggestion and every choice."""
    path = write(tmp_path, "good", GOOD.replace("  - disable_sign_in", "  - disable_signin"))
    error = only_error(path)
    assert error.line == 6
    assert "unknown action 'disable_signin'" in error.message
    assert "did you mean 'disable_sign_in'?" in error.message
    assert "block_outbound" in error.message


def test_a_bad_duration_names_the_valid_units(tmp_path: Path) -> None:
    """A duration with an unknown unit is reported at its line, naming the units."""
    path = write(tmp_path, "good", GOOD + "duration: 24hrs\n")
    error = only_error(path)
    assert error.line == 7
    assert "unknown duration unit 'hrs' (did you mean 'h'?)" in error.message
    assert "valid: s, m, h, d, w" in error.message


def test_a_duration_without_a_unit_is_refused(tmp_path: Path) -> None:
    """A bare number is not a duration: the unit is required."""
    path = write(tmp_path, "good", GOOD + "approval:\n  timeout: 3600\n")
    error = only_error(path)
    assert error.line == 8
    assert "duration" in error.message and "unit" in error.message


def test_a_bad_comparison_is_reported_at_its_line(tmp_path: Path) -> None:
    """A reversed operator gets its line and the operator it most likely meant."""
    text = GOOD.replace("  source: darktrace\n", "  source: darktrace\n  severity: '=> high'\n")
    error = only_error(write(tmp_path, "good", text))
    assert error.line == 4
    assert "bad comparison '=> high'" in error.message
    assert "did you mean '>='?" in error.message


def test_an_unknown_mode_names_the_valid_ones(tmp_path: Path) -> None:
    """A misspelled mode is reported with the three valid modes."""
    error = only_error(write(tmp_path, "good", GOOD + "mode: humanconfirm\n"))
    assert error.line == 7
    assert "unknown mode 'humanconfirm' (did you mean 'human-confirm'?)" in error.message
    assert "passive, human-confirm, autonomous" in error.message


def test_an_unknown_entity_names_the_valid_ones(tmp_path: Path) -> None:
    """An entity the alert model does not have is reported at its line."""
    text = GOOD.replace("  entities: [user]", "  entities:\n    - user\n    - hostname")
    error = only_error(write(tmp_path, "good", text))
    assert error.line == 6
    assert "unknown entity 'hostname'" in error.message
    assert "user, ip, asn, device, messages, inbox_rules" in error.message


def test_an_unknown_on_timeout_names_the_valid_ones(tmp_path: Path) -> None:
    """on_timeout accepts expire or execute, and says so."""
    text = GOOD + "approval: {timeout: 4h, on_timeout: run}\n"
    error = only_error(write(tmp_path, "good", text))
    assert error.line == 7
    assert "unknown on_timeout 'run'; valid: expire, execute" in error.message


def test_every_error_in_a_file_is_reported_each_on_its_line(tmp_path: Path) -> None:
    """Errors do not stop at the first: each of five problems comes with its own line."""
    text = """\
name: many
match:
  source: darktrace
  severity: '>> high'
  entities: [user, usr]
mode: autonomus
actions:
  - disable_sign_in
  - block_ports:
      ports: [445, 70000]
duration: 2 hours
"""
    errors = errors_of(write(tmp_path, "many", text))
    assert [e.line for e in errors] == [4, 5, 6, 10, 11]
    assert "unknown operator '>>'" in errors[0].message
    assert "unknown entity 'usr'" in errors[1].message
    assert "unknown mode 'autonomus'" in errors[2].message
    assert "a port is a whole number from 1 to 65535, not 70000" in errors[3].message
    assert "duration" in errors[4].message


def test_an_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    """A misspelled key is reported at its line with the keys allowed there."""
    error = only_error(write(tmp_path, "good", GOOD.replace("  source:", "  sourc:")))
    assert error.line == 3
    assert "unknown key 'sourc' (did you mean 'source'?)" in error.message


def test_an_action_must_have_its_target_entity_required(tmp_path: Path) -> None:
    """A user action in a policy that does not require a user is refused at that action."""
    text = GOOD + "  - block_outbound\n"
    error = only_error(write(tmp_path, "good", text))
    assert error.line == 7
    assert "block_outbound acts on the alert's ip" in error.message


def test_an_action_parameter_that_does_not_fit_is_refused(tmp_path: Path) -> None:
    """A parameter given to an action that does not take it is named."""
    text = GOOD + "  - revoke_sessions: {which: all}\n"
    error = only_error(write(tmp_path, "good", text))
    assert error.line == 7
    assert "revoke_sessions takes no parameter 'which'" in error.message


def test_the_file_name_must_be_the_policy_name(tmp_path: Path) -> None:
    """A policy in a file named otherwise is refused at its `name:` line."""
    error = only_error(write(tmp_path, "other", GOOD))
    assert error.line == 1
    assert "named after its policy: good.yaml" in error.message


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    """A key given twice is an error, not a silent override."""
    error = only_error(write(tmp_path, "good", GOOD + "mode: passive\nmode: autonomous\n"))
    assert error.line == 8
    assert "duplicate key 'mode' (first at line 7)" in error.message


def test_yaml_aliases_are_refused(tmp_path: Path) -> None:
    """Aliases (the billion-laughs vector) are refused instead of expanded."""
    text = GOOD.replace("  entities: [user]", "  entities: &e [user]\n  x: *e")
    errors = errors_of(write(tmp_path, "good", text))
    assert any("aliases are not allowed" in e.message for e in errors)


def test_yaml_tags_cannot_construct_objects(tmp_path: Path) -> None:
    """A Python object tag is a load error: nothing in a policy can run code."""
    text = GOOD + "description: !!python/object/apply:os.system ['echo hi']\n"
    errors = errors_of(write(tmp_path, "good", text))
    assert errors[0].line == 7


def test_a_regex_re2_cannot_compile_is_refused(tmp_path: Path) -> None:
    """Backreferences need backtracking, which RE2 refuses; the error says so."""
    text = GOOD.replace("  source: darktrace\n", "  source: darktrace\n  name_regex: '(a)\\1'\n")
    error = only_error(write(tmp_path, "good", text))
    assert error.line == 4
    assert "RE2 cannot compile" in error.message


def test_a_folder_loads_every_policy_and_refuses_duplicate_names(tmp_path: Path) -> None:
    """Every .yaml / .yml file in a folder loads; a name defined twice is an error."""
    write(tmp_path, "good", GOOD)
    (tmp_path / "good.yml").write_text(GOOD)
    (tmp_path / "notes.txt").write_text("not a policy")
    result = load_policies([tmp_path])
    assert [p.policy.name for p in result.policies] == ["good"]
    assert len(result.errors) == 1
    assert result.errors[0].file == str(tmp_path / "good.yml")
    assert "also defined in" in result.errors[0].message


def test_a_policy_crosses_a_boundary_as_json_unchanged(tmp_path: Path) -> None:
    """A loaded policy survives a JSON round trip (it is a Temporal payload) unchanged."""
    text = """\
name: rich
match:
  source: [darktrace, defender]
  name: "SaaS / *"
  name_regex: "(?i)login"
  severity: ">= high"
  score: [">= 0.7", "== 0.5"]
  entities: [user]
  any:
    - {name: "SaaS / Compromise / *"}
    - {severity: critical}
  not: {name: "* / Test / *"}
mode: human-confirm
approval: {timeout: 90m, on_timeout: execute}
actions:
  - delete_inbox_rules: {which: all}
  - quarantine_mail: {sent_within: 1d}
duration: 1h30m
exclude: {users: [breakglass@contoso.com], ips: [10.0.0.0/24, 192.0.2.7]}
"""
    loaded, errors = load_policy_file(write(tmp_path, "rich", text))
    assert errors == [] and loaded is not None
    policy = loaded.policy
    assert policy.approval.timeout == 5400 and policy.duration == 5400
    assert policy.exclude.ips == ("10.0.0.0/24", "192.0.2.7/32")
    assert Policy.model_validate_json(to_json(policy)) == policy

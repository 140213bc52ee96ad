"""Allow/deny globs, argument constraints, end-user scopes: example tables."""

from __future__ import annotations

from typing import Any

import pytest

from tappass.errors import RequestError
from tappass.pipeline.options import ArgumentConstraint
from tappass.tools.access import ToolAccess, combine, validate_tools
from tappass.tools.calls import call_from
from tappass.tools.constraints import violation, within
from tappass.tools.scopes import parse_scopes, refusal

# fmt: off
ACCESS = [
    # allow,              deny,                 default_deny, tool,            refused
    ((),                  (),                   False,        "anything",      None),
    ((),                  ("delete_*",),        False,        "delete_user",   "on the deny list (matches 'delete_*')"),
    ((),                  ("delete_*",),        False,        "undelete_user", None),
    (("gmail_*",),        (),                   False,        "gmail_search",  None),
    (("gmail_*",),        (),                   False,        "slack_post",    "not on the allow list"),
    (("gmail_*",),        ("gmail_send",),      False,        "gmail_send",    "on the deny list"),
    ((),                  (),                   True,         "gmail_search",  "no tools are allowed"),
]
# fmt: on


@pytest.mark.parametrize(("allow", "deny", "default_deny", "tool", "refused"), ACCESS)
def test_access(allow: tuple[str, ...], deny: tuple[str, ...], default_deny: bool, tool: str,
                refused: str | None) -> None:
    reason = ToolAccess(allow, deny, default_deny).refusal(tool)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and refused in reason and repr(tool) in reason


def test_agent_lists_combine_with_the_pipelines() -> None:
    access = combine({"allow": ["crm_*"], "deny": ["crm_delete"]}, allowed=["gmail_*"],
                     denied=["shell_*"])
    assert access.allow == ("crm_*",) and access.deny == ("crm_delete", "shell_*")
    assert combine({}, allowed=["gmail_*"]).allow == ("gmail_*",)


@pytest.mark.parametrize(("body", "message"), [
    ([], "tools: expected an object"),
    ({"allow": "gmail_*"}, "tools.allow: expected a list"),
    ({"deny": ["rm -rf"]}, "tools.deny[0]: 'rm -rf' is not a tool name or glob"),
    ({"allowed": []}, "tools.allowed: unknown field; allowed fields: allow, deny"),
])
def test_bad_tool_lists_name_the_field(body: Any, message: str) -> None:
    with pytest.raises(RequestError, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate_tools(body)


def test_tool_lists_are_deduplicated_and_both_present() -> None:
    assert validate_tools({"deny": ["a", "a"]}) == {"allow": [], "deny": ["a"]}


# fmt: off
CONSTRAINTS = [
    # rule,                                          value,                  problem
    ({"subpath_of": "/srv/data"},                     "reports/q1.csv",       None),
    ({"subpath_of": "/srv/data"},                     "/srv/data/x",          None),
    ({"subpath_of": "/srv/data"},                     "../../etc/passwd",     "must be a path under '/srv/data'"),
    ({"subpath_of": "/srv/data"},                     "/srv/database/x",      "must be a path under"),
    ({"subpath_of": "/srv/data"},                     "a/../../data2",        "must be a path under"),
    ({"glob": "*.csv"},                               "q1.csv",               None),
    ({"glob": "*.csv"},                               "q1.exe",               "must match '*.csv'"),
    ({"regex": r"[A-Z]{3}-\d{4}"},                    "ABC-1234",             None),
    ({"regex": r"[A-Z]{3}-\d{4}"},                    "ABC-1234; drop",       "must match the pattern"),
    ({"enum": ["low", "high"]},                       "high",                 None),
    ({"enum": ["low", "high"]},                       "max",                  "must be one of 'low', 'high'"),
    ({"deny_patterns": [r"(?i)password"]},            "my Password is",       "matches the denied pattern"),
    ({"max_length": 5},                               "123456",               "is 6 characters long, more than 5"),
    ({"max_length": 5},                               12,                     "must be a string"),
]
# fmt: on


@pytest.mark.parametrize(("rule", "value", "problem"), CONSTRAINTS)
def test_constraints(rule: dict[str, Any], value: Any, problem: str | None) -> None:
    constraints = {"read_*": {"path": ArgumentConstraint(**rule)}}
    reason = violation(call_from("read_file", {"path": value}), constraints)
    if problem is None:
        assert reason is None
    else:
        assert reason is not None and problem in reason
        assert reason.startswith("tool 'read_file': argument 'path'")


def test_required_and_nested_arguments_and_other_tools() -> None:
    constraints = {"send_*": {"options.to": ArgumentConstraint(required=True, glob="*@corp.com")}}
    assert "argument 'options.to' is required" in str(
        violation(call_from("send_mail", {}), constraints))
    assert violation(call_from("send_mail", {"options": {"to": "a@corp.com"}}), constraints) \
        is None
    assert violation(call_from("read_mail", {}), constraints) is None


def test_within_refuses_backslashes_and_nul() -> None:
    assert not within("/srv", "a\\..\\..\\etc")
    assert not within("/srv", "a\x00b")
    assert within("/srv", "/srv")


def test_scopes_narrow_only_when_the_header_is_sent() -> None:
    required = {"gmail_send": ["mail.send"], "gmail_*": ["mail.read"]}
    held = parse_scopes("mail.read, files.read")
    assert held == frozenset({"mail.read", "files.read"})
    assert refusal("gmail_search", held, required) is None
    reason = refusal("gmail_send", held, required)
    assert reason is not None and "needs the user scope(s) mail.send" in reason
    assert refusal("gmail_send", None, required) is None
    assert refusal("gmail_send", parse_scopes(""), required) is not None

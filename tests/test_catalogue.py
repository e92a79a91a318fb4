"""Every sentence the code asks for exists in the French catalogue, and every declared command is documented."""

from __future__ import annotations

import re
import string
from pathlib import Path

from chatbot.app import command_groups
from chatbot.db.models import ContributionStatus
from chatbot.messages import load_catalogue

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [p for d in ("chatbot", "commands") for p in (ROOT / d).rglob("*.py")]
t = load_catalogue("fr")


def _source() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in SOURCES)


def test_literal_keys_exist() -> None:
    keys = set(re.findall(r"\bt\(\s*\"([a-z_.]+)\"", _source()))
    keys |= set(re.findall(r"\bt\(\s*\n\s*\"([a-z_.]+)\"", _source()))
    assert keys, "the scan found no key at all"
    assert sorted(k for k in keys if not t.has(k)) == []


def test_every_raised_error_has_a_message() -> None:
    raised = set(re.findall(r"(?:DomainError|ArgumentError|UsageError|PermissionDenied)\(\s*\"([a-z_]+)\"", _source()))
    raised |= {"intention_too_long", "duration_too_long", "internal", "usage_hint", "example_hint"}
    assert len(raised) > 30
    assert sorted(k for k in raised if not t.has(f"errors.{k}")) == []


def test_every_command_is_documented_and_labelled() -> None:
    for group in command_groups():
        assert t.has(f"help.{group.name}.summary")
        for command in group.commands:
            assert t.has(f"{command.help_key}.text"), command.help_key
            assert t.strings(f"{command.help_key}.examples"), command.help_key
            for arg in (*command.args, *([command.rest] if command.rest else [])):
                assert t.has(f"labels.{arg.label}"), arg.label


def test_audit_actions_and_statuses_have_texts() -> None:
    actions = set(re.findall(r"_audit\(\s*(?:actor|None)[^,]*,\s*\"([a-z_]+)\"", _source()))
    actions |= set(re.findall(r"\.audit\(\s*\n?\s*actor,\s*\n?\s*\"([a-z_]+)\"", _source()))
    assert {"create", "define", "adjust", "rate", "close_year", "reopen_year", "cancel"} <= actions
    assert sorted(a for a in actions if not t.has(f"budget.journal.{a}")) == []
    assert all(t.has(f"export.status.{s.value}") for s in ContributionStatus)


def test_placeholders_are_well_formed() -> None:
    for key in t.keys():
        value = t._flat[key]
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                list(string.Formatter().parse(item))  # raises on a broken {placeholder}

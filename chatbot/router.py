"""From a chat message to a command and its typed arguments; user errors become French text here."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from chatbot.commandkit import Command, CommandGroup, Permission
from chatbot.errors import ArgumentError, PermissionDenied, UsageError, UserError
from chatbot.formatting import Formatter
from chatbot.grammar.base import Converter, ParseContext
from chatbot.grammar.tokens import tokenize
from chatbot.messages import Catalogue
from chatbot.text import WORD_JOINER, chat_safe, fold
from chatbot.values import Duration, EnvelopeRef, FlatAmount, MemberRef, Money, Period, Rate

PREFIXES = ("/", "!")
TRUSTED_KEYS = frozenset({"command", "usage"})  # text the bot built itself, not text a member wrote
# The arguments that read each kind of fragment (chatbot.grammar.suspects), in the order to show their phrasings.
KIND_LABELS = {
    "date": ("work_date", "when", "date", "occurrence", "period"),
    "time": ("when",),
    "duration": ("duration", "quantity", "when"),
    "amount": ("amount", "quantity", "rate", "money"),
}
COMMAND_ECHO_LIMIT = 400  # a command suggested back to its author: member words made inert, but not cut short


@dataclass(frozen=True)
class Recognised:
    group: CommandGroup | None  # None: an unknown command name
    name: str
    arguments: str


class Router:
    def __init__(self, groups: list[CommandGroup], t: Catalogue, fmt: Formatter) -> None:
        self.groups = groups
        self.t = t
        self.fmt = fmt
        self._by_word = {fold(word): group for group in groups for word in group.words}

    def recognise(self, text: str, *, direct: bool) -> Recognised | None:
        """`/name …` or `!name …` anywhere; in a direct message, any text (the prefix is optional)."""
        stripped = text.strip()
        if stripped[:1] in PREFIXES:
            body = stripped[1:]
        elif direct and stripped:
            body = stripped
        else:
            return None
        parts = body.split(maxsplit=1)
        if not parts:
            return None
        name, arguments = parts[0], (parts[1] if len(parts) > 1 else "")
        group = self._by_word.get(fold(name))
        return Recognised(group, name, arguments)

    def taken_word(self, word: str, ctx: ParseContext, kind: type[Converter]) -> bool:
        """Does `word` already mean something where a `kind` argument is read: a subcommand of a family that
        reads one (`/budget journal`), or another argument's value in the same command (`hier`, `mois`)? A new
        name spelt so would be unreachable, or would hide that meaning."""
        folded, tokens = fold(word), tokenize(word)
        for group in self.groups:
            readers = [c for c in group.commands if any(isinstance(a.converter, kind) for a in c.args)]
            if not readers:
                continue
            if any(folded in command.words for command in group.commands):
                return True
            others = (a.converter for c in readers for a in c.args if not isinstance(a.converter, kind))
            if any(_reads(converter, tokens, ctx) for converter in others):
                return True
        return False

    def suggest(self, name: str) -> list[str]:
        close = difflib.get_close_matches(fold(name), list(self._by_word), n=3, cutoff=0.6)
        found: list[str] = []
        for word in close:
            group_name = self._by_word[word].name
            if group_name not in found:
                found.append(group_name)
        return found

    def unknown_command(self, name: str, *, direct: bool) -> str | None:
        """Text for an unknown command: always in a direct message, only when something is close elsewhere
        (other bots' commands come through the same channels)."""
        suggestions = self.suggest(name)
        if not suggestions and not direct:
            return None
        key = "errors.unknown_command_suggest" if suggestions else "errors.unknown_command"
        return self.t(key, name=chat_safe(name, 40), suggestions=", ".join(f"/{s}" for s in suggestions))

    def check_permission(self, command: Command, *, is_admin: bool, is_treasurer: bool = False) -> None:
        if command.permission is Permission.ADMIN and not is_admin:
            raise PermissionDenied("admin_only", command=self.usage(command))
        if command.permission is Permission.TREASURER and not is_treasurer:
            raise PermissionDenied("treasurer_only", command=self.usage(command))

    def parse(self, command: Command, arguments: str, ctx: ParseContext) -> dict[str, Any]:
        return command.parse(arguments, ctx)

    # --- texts derived from the declarations ------------------------------------------------------------------

    def usage(self, command: Command) -> str:
        parts = [f"/{command.group}"]
        if command.keyword:
            parts.append(command.keyword)
        for arg in command.args:
            label = self.t(f"labels.{arg.label}")
            parts.append(f"<{label}>" if arg.required else f"[{label}]")
        if command.rest is not None:
            label = self.t(f"labels.{command.rest.label}")
            parts.append(f"<{label}…>" if command.rest.required else f"[{label}…]")
        return " ".join(parts)

    def examples(self, command: Command) -> list[str]:
        prefix = f"/{command.group}" + (f" {command.keyword}" if command.keyword else "")
        return [f"{prefix} {example}".rstrip() for example in self.t.strings(f"{command.help_key}.examples")]

    def render_error(self, error: UserError, command: Command | None) -> str:
        data = self._format_data(error.data)
        key = error.key
        if key == "unread_fragment":
            data["how"] = self._how_to_write(error.data.get("kind", ""), command)
            if not data.get("instead"):
                key = "unread_fragment_no_quote"
        text = self.t(f"errors.{key}", **data)
        if command is not None and isinstance(error, UsageError | ArgumentError):
            examples = self.examples(command)
            if examples:
                text += "\n" + self.t("errors.example_hint", example=examples[0])
            text += "\n" + self.t("errors.usage_hint", group=command.group)
        return text

    def _how_to_write(self, kind: str, command: Command | None) -> str:
        """How this command reads a value of this kind (`le 3`, `12/03`…), from the phrasings `/aide` shows."""
        labels = [arg.label for arg in command.args] if command is not None else []
        for label in KIND_LABELS.get(kind, ()):
            phrasings = self.t.strings(f"phrasings.{label}") if label in labels else []
            if phrasings:
                key = "errors.unread_how_amount" if kind == "amount" else "errors.unread_how"
                return self.t(key, phrasings=", ".join(f"`{p}`" for p in phrasings[:3]))
        return self.t("errors.unread_how_none")

    def _understood(self, parts: list[tuple[str, Any]]) -> str:
        """What was read of a refused command, in words: « 3 h, enveloppe tech »."""
        words = [self._describe(label, value) for label, value in parts]
        found = [w for w in words if w]
        return self.t("errors.understood", parts=", ".join(found)) if found else ""

    def _describe(self, label: str, value: Any) -> str:
        shown = describe_value(value, self.fmt)
        if shown is None:
            return ""
        template = f"understood.{label}" if self.t.has(f"understood.{label}") else "understood.value"
        return self.t(template, value=shown)

    def _format_data(self, data: dict[str, Any]) -> dict[str, Any]:
        """Error data as text: `*_cents` as money, `*_minutes` as durations, dates, lists, member text made safe."""
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key.endswith("_cents"):
                out[key.removesuffix("_cents")] = "" if value is None else self.fmt.money(value)
            elif key.endswith("_minutes"):
                out[key.removesuffix("_minutes")] = self.fmt.duration(value)
            elif key == "label":
                named = f"argument_names.{value}"
                out[key] = self.t(named) if self.t.has(named) else self.t(f"labels.{value}")
            elif key == "kind" and self.t.has(f"suspect_kinds.{value}"):
                out[key] = self.t(f"suspect_kinds.{value}")
            elif key == "understood":
                out[key] = self._understood(value)
            elif isinstance(value, date):
                out[key] = self.fmt.date_short(value)
            elif isinstance(value, list | tuple):
                out[key] = ", ".join(chat_safe(str(v), 60) for v in value)
            elif isinstance(value, str) and not value.strip() and key == "given":
                out[key] = '""'  # an empty quoted group: « "" » says what was read, «  » looks like a bug
            elif isinstance(value, str) and key == "instead":
                # Starting with `/`, the command needs no guard against line-start markup: none, so it copies whole.
                out[key] = chat_safe(value, COMMAND_ECHO_LIMIT).removeprefix(WORD_JOINER)
            elif isinstance(value, str):
                out[key] = value if key in TRUSTED_KEYS else chat_safe(value, 80)
            else:
                out[key] = "" if value is None else value
        if "suggestions" in data:
            names = out["suggestions"]
            out["did_you_mean"] = self.t("format.did_you_mean", names=names) if names else ""
        if "low_cents" in data or "high_cents" in data:
            out["bounds"] = self._bounds(data.get("low_cents"), data.get("high_cents"))
        return out

    def _bounds(self, low: int | None, high: int | None) -> str:
        if low is not None and high is not None:
            return self.t("format.bounds_between", low=self.fmt.money(low), high=self.fmt.money(high))
        if low is not None:
            return self.t("format.bounds_min", low=self.fmt.money(low))
        if high is not None:
            return self.t("format.bounds_max", high=self.fmt.money(high))
        return ""


def _reads(converter: Converter, tokens: list[Any], ctx: ParseContext) -> bool:
    """Would this converter take (or refuse, as its own kind of value) the first of these tokens?"""
    try:
        return converter.match(tokens, ctx) is not None
    except UserError:
        return True


def describe_value(value: Any, fmt: Formatter) -> str | None:
    """A value the parser read, as a member would say it (None: nothing worth saying, e.g. a rhythm)."""
    if isinstance(value, Duration):
        return fmt.duration(value.minutes)
    if isinstance(value, FlatAmount | Money):
        return fmt.money(value.cents)
    if isinstance(value, Rate):
        return fmt.rate(value.cents_per_hour)
    if isinstance(value, EnvelopeRef):
        return value.slug
    if isinstance(value, datetime):
        return fmt.datetime_long(value)
    if isinstance(value, date):
        return fmt.date_long(value)
    if isinstance(value, MemberRef):
        return "@" + value.username if value.username else None
    if isinstance(value, Period):
        return fmt.month(value.start) if value.month else str(value.year)
    start = getattr(value, "start", None)
    if isinstance(start, datetime):
        return describe_value(start, fmt)
    slug_ = getattr(value, "slug", None)
    return slug_ if isinstance(slug_, str) else None

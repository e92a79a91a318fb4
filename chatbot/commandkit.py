"""How a command declares itself once: name, aliases, typed arguments, help, examples and permission.

The parser, the usage line, `/aide` and the error messages are all derived from these declarations; the texts
themselves live in the catalogue under `help.<group>.<command>`.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from chatbot.errors import ArgumentError, UsageError, UserError
from chatbot.grammar.base import Converter, FreeText, ParseContext
from chatbot.grammar.suspects import find_suspects, has_marker, without_description_mark
from chatbot.grammar.tokens import Token, rest_of_line, tokenize
from chatbot.text import fold

HandlerFn = Callable[..., Awaitable[None]]
# Small words that introduce an argument at the end of a line (`Formation du 12/03`, `Relecture pour tech`).
TAIL_CONNECTORS = frozenset({"du", "le", "pour", "a", "au", "de", "en", "sur", "ce"})
MAX_TAIL_PIECE = 6  # words in one argument read at the end of a line (`le 12 mars 2026`, `pour le cercle tech`)


class Permission(enum.StrEnum):
    MEMBER = "member"
    ADMIN = "admin"
    TREASURER = "treasurer"  # the treasurers of the configuration (not the admins, unless listed as treasurers)


@dataclass(frozen=True)
class Arg:
    name: str
    converter: Converter
    required: bool = True
    # In any-order commands: is a second value of this kind an error (`3h 2h`) rather than the start of the text?
    once: bool = False

    @property
    def label(self) -> str:
        return self.converter.label


def opt(name: str, converter: Converter, *, once: bool = False) -> Arg:
    return Arg(name, converter, required=False, once=once)


@dataclass
class Command:
    group: str
    keyword: str | None  # None: the group's default command (`/budget communication`)
    handler: HandlerFn
    aliases: tuple[str, ...] = ()
    args: tuple[Arg, ...] = ()
    rest: Arg | None = None
    any_order: bool = False
    permission: Permission = Permission.MEMBER
    # Its only writes of envelope totals may wait for the end of the batch's transaction (see
    # BudgetService.write_totals): true of a declaration or an intention, which reads no envelope but its own.
    batched_totals: bool = False

    @property
    def help_key(self) -> str:
        return f"help.{self.group}.{self.keyword or 'default'}"

    @property
    def words(self) -> tuple[str, ...]:
        return ((self.keyword,) if self.keyword else ()) + self.aliases

    def parse(self, source: str, ctx: ParseContext) -> dict[str, Any]:
        """Typed keyword arguments for the handler, or UsageError / ArgumentError."""
        tokens = tokenize(source)
        values: dict[str, Any] = {arg.name: None for arg in self.args}
        matcher = self._match_any_order if self.any_order else self._match_in_order
        position = matcher(tokens, ctx, values)
        end, tail_error = len(tokens), None
        # After `Description :` everything is text: no argument is read back from the end of the line.
        if self.any_order and self.rest is not None and not has_marker(source[_start_of(tokens, position) :]):
            end, tail_error = self._match_tail(tokens, position, ctx, values)
        left = tokens[position:end]
        for arg in self.args:
            if arg.required and values[arg.name] is None:
                given = left[0].text if left else None
                raise UsageError("missing_argument", label=arg.label, given=given)
        if self.rest is not None:
            text = rest_of_line(source, left)
            if self.rest.required and not text:
                raise UsageError("missing_argument", label=self.rest.label, given=None)
            if getattr(self.rest.converter, "guarded", False):
                self._check_nothing_unread(source, tokens, left, values, tail_error)
                text = without_description_mark(text)
            values[self.rest.name] = text
        elif left:
            raise UsageError("unexpected_words", given=rest_of_line(source, left))
        return values

    def _match_in_order(self, tokens: list[Token], ctx: ParseContext, values: dict[str, Any]) -> int:
        position = 0
        for arg in self.args:
            found = arg.converter.match(tokens[position:], ctx)
            if found is None:
                if arg.required and position < len(tokens):
                    raise arg.converter.near_miss(tokens[position].text, ctx) or UsageError(
                        "invalid_argument", label=arg.label, given=tokens[position].text
                    )
                continue
            values[arg.name], used = found
            position += used
        return position

    def _match_any_order(self, tokens: list[Token], ctx: ParseContext, values: dict[str, Any]) -> int:
        """Leading words may give the arguments in any order; the first word that is none of them starts the text."""
        position = 0
        while position < len(tokens):
            remaining = tokens[position:]
            for arg in self.args:
                if values[arg.name] is not None:
                    continue
                found = arg.converter.match(remaining, ctx)
                if found is not None:
                    values[arg.name], used = found
                    position += used
                    break
            else:
                for arg in self.args:
                    if arg.once and values[arg.name] is not None and arg.converter.match(remaining, ctx) is not None:
                        raise UsageError("duplicate_argument", label=arg.label, given=remaining[0].text)
                if self.rest is None:
                    self._explain_leftover(remaining[0], ctx, values)
                return position
        return position

    def _match_tail(
        self, tokens: list[Token], start: int, ctx: ParseContext, values: dict[str, Any]
    ) -> tuple[int, UserError | None]:
        """Arguments at the end of the line, after the free text: `/contrib Relecture du wiki 3h tech`.

        Read from the end, the longest piece first, with the small word that introduces it (`du 12/03`). When a
        required argument is missing, the end of the line may give it along with any others; otherwise a piece is
        taken only if it looks like a date, time, duration or amount: a circle's name ending a description (`Aide
        à la communication`) stays words. Returns where the free text ends, and the first error a converter raised
        on a piece (the reason a fragment could not be read, if one is left)."""
        missing = [arg.name for arg in self.args if arg.required and values[arg.name] is None]
        if missing:
            trial = dict(values)
            end, error = self._read_tail(tokens, start, ctx, trial, relaxed=True)
            if all(trial[name] is not None for name in missing):
                values.update(trial)
                return end, error
        return self._read_tail(tokens, start, ctx, values, relaxed=False)

    def _read_tail(
        self, tokens: list[Token], start: int, ctx: ParseContext, values: dict[str, Any], *, relaxed: bool
    ) -> tuple[int, UserError | None]:
        end, first_error = len(tokens), None
        while end > start:
            piece = self._tail_piece(tokens, start, end, ctx, values, relaxed=relaxed)
            if isinstance(piece, UserError):
                first_error = first_error or piece
                break
            if piece is None:
                break
            arg, value, used = piece
            values[arg.name] = value
            end -= used
            if end > start and not tokens[end - 1].quoted and fold(tokens[end - 1].text) in TAIL_CONNECTORS:
                end -= 1
        return end, first_error

    def _tail_piece(
        self, tokens: list[Token], start: int, end: int, ctx: ParseContext, values: dict[str, Any], *, relaxed: bool
    ) -> tuple[Arg, Any, int] | UserError | None:
        error: UserError | None = None
        for size in range(min(MAX_TAIL_PIECE, end - start), 0, -1):
            window = tokens[end - size : end]
            if any(t.quoted for t in window):
                continue
            words = " ".join(t.text for t in window)
            for arg in self.args:
                if values[arg.name] is not None:
                    continue
                try:
                    found = arg.converter.match(window, ctx)
                except UserError as exc:
                    error = error or exc
                    continue
                if found is None or found[1] != size:
                    continue
                if relaxed or arg.required or find_suspects(words):
                    return arg, found[0], size
        return error

    def _check_nothing_unread(
        self,
        source: str,
        tokens: list[Token],
        left: list[Token],
        values: dict[str, Any],
        tail_error: UserError | None,
    ) -> None:
        """Refuse free text that still holds a date, time, duration or amount nobody read (see suspects)."""
        if not left:
            return
        text_start, text_end = left[0].start, left[-1].end
        suspects = find_suspects(source[text_start:text_end])
        if not suspects:
            return
        if tail_error is not None:
            raise tail_error
        raise ArgumentError(
            "unread_fragment",
            given=suspects[0].text,
            kind=suspects[0].kind,
            understood=[(arg.label, values[arg.name]) for arg in self.args if values[arg.name] is not None],
            instead=self._quoted_instead(source, text_start, text_end),
        )

    def _quoted_instead(self, source: str, text_start: int, text_end: int) -> str | None:
        """The same command with its free text in quotes, which keeps every word as written."""
        text = source[text_start:text_end].strip()
        quote = ("« ", " »") if "»" not in text else ('"', '"') if '"' not in text else None
        if quote is None:
            return None
        arguments = " ".join(part for part in (source[:text_start].strip(), source[text_end:].strip()) if part)
        words = [f"/{self.group}", self.keyword or "", arguments, f"{quote[0]}{text}{quote[1]}"]
        return " ".join(word for word in words if word)

    def _explain_leftover(self, word: Token, ctx: ParseContext, values: dict[str, Any]) -> None:
        """A word no argument took, in a command without free text: the closest near miss, if any, says why."""
        if word.quoted:
            return
        misses = [a.converter.near_miss(word.text, ctx) for a in self.args if values[a.name] is None]
        found = [m for m in misses if m is not None]
        if found:
            raise next((m for m in found if m.data.get("suggestions")), found[0])


def _start_of(tokens: list[Token], position: int) -> int:
    """Where in the source the token at `position` begins (the end of the tokens when there is none)."""
    if position < len(tokens):
        return tokens[position].start
    return tokens[-1].end if tokens else 0


@dataclass
class CommandGroup:
    """A command family (`/contrib`): a default command and keyword subcommands (`liste`, `annuler`…)."""

    name: str
    aliases: tuple[str, ...] = ()
    commands: list[Command] = field(default_factory=list)

    @property
    def words(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    @property
    def default(self) -> Command | None:
        return next((c for c in self.commands if c.keyword is None), None)

    def command(
        self,
        keyword: str | None = None,
        *,
        aliases: Sequence[str] = (),
        args: Sequence[Arg] = (),
        rest: Arg | None = None,
        any_order: bool = False,
        permission: Permission = Permission.MEMBER,
        batched_totals: bool = False,
    ) -> Callable[[HandlerFn], HandlerFn]:
        def register(handler: HandlerFn) -> HandlerFn:
            if rest is not None and not isinstance(rest.converter, FreeText):
                raise TypeError("rest must be a FreeText argument")
            self.commands.append(
                Command(
                    self.name,
                    keyword,
                    handler,
                    tuple(aliases),
                    tuple(args),
                    rest,
                    any_order,
                    permission,
                    batched_totals,
                )
            )
            return handler

        return register

    def select(self, source: str) -> tuple[Command, str]:
        """The subcommand named by the first word (accents and case ignored), else the default command."""
        tokens = tokenize(source)
        if tokens and not tokens[0].quoted:
            word = fold(tokens[0].text)
            for command in self.commands:
                if word in command.words:
                    return command, source[tokens[0].end :]
        if self.default is None:
            raise UsageError("missing_subcommand", group=self.name)
        return self.default, source

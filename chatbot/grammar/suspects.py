"""Fragments of free text that look like a date, a time, a duration or an amount.

A command never stores such a fragment unread as a description or a place: `le 3` left in a description would
otherwise mean a declaration dated today with a wrong date in its text. Two ways keep words as words on purpose:
quotes (« … », "…"), and a marker after which everything is free text (`Ordre du jour :`, `odj`,
`Description :`).

The test is deliberately wide (a month name or `prochain` is enough): a member asked to quote a description
loses a few seconds; a misread date costs a correction in the accounts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatbot.grammar.lexicon import MONTHS, WEEKDAYS
from chatbot.grammar.tokens import Token, tokenize
from chatbot.text import fold


@dataclass(frozen=True)
class Suspect:
    """A fragment as the member wrote it, with what it looks like: date, time, duration or amount."""

    text: str
    kind: str
    start: int
    end: int


_NUMBER_WORDS = r"(?:un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|quinze|vingt|trente|demi|quart)"
_FULL_MONTHS = sorted((m for m in MONTHS if len(m) > 3 or m == "mai"), key=len, reverse=True)
_DAYS = sorted(WEEKDAYS, key=len, reverse=True)
_WORD_START = r"(?<![a-z\d_])"
_WORD_END = r"(?![a-z\d_])"
_NAMES = "(?:" + "|".join([*_DAYS, *_FULL_MONTHS]) + ")"

# Order matters only for the kind reported when two shapes overlap: the first listed wins.
_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    *(
        (kind, re.compile(f"{_WORD_START}(?:{pattern}){_WORD_END}"))
        for kind, pattern in (
            ("amount", r"\d[\d .,]*\s*(?:€|euros?|eur)|€\s*\d[\d.,]*"),
            ("time", r"\d{1,2}\s*h\s*\d{0,2}\s*(?:-|–|a|jusqu'a)\s*\d{1,2}\s*h?\s*\d{0,2}"),
            ("time", r"de\s+\d{1,2}\s+(?:a|au)\s+\d{1,2}"),
            ("time", r"(?:a|vers|des|jusqu'a)\s+\d{1,2}\s*h\s*\d{0,2}"),
            ("time", r"\d{1,2}\s*:\s*\d{2}"),
            ("time", r"midi|minuit|et\s+(?:demie?|quart)"),
            ("duration", r"\d+\s*/\s*\d+\s*h"),
            ("duration", r"\d+(?:[.,]\d+)?\s*(?:h|hr|hrs|heures?|min|mn|minutes?)(?:\s*\d{1,2})?"),
            ("duration", r"\d+\s+(?:j|jours?|semaines?|mois|ans?|annees?)"),
            (
                "duration",
                rf"(?:{_NUMBER_WORDS}[\s-]+)+(?:heures?|minutes?)|demi-heure|quart\s+d'heure|heure\s+et\s+demie",
            ),
            ("date", r"\d{1,2}\s*/\s*\d{1,2}(?:\s*/\s*\d{2,4})?"),
            ("date", r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}\.\d{1,2}\.\d{2,4}"),
            ("date", r"(?:le|du)\s+\d{1,2}(?:er|re|e|eme)?"),
            ("date", r"\d{1,2}(?:er|re|e|eme)"),
            ("date", rf"{_NAMES}s?"),
            ("date", r"demain|apres-demain|apres\s+demain|hier|avant-hier|aujourd'hui|aujourdhui"),
            ("date", r"derniere?s?|prochaine?s?|jusqu'a|jusqu'au|jusqu'aux"),
        )
    ),
    # A weekday or month glued to a number (`jeudi14h`, `3novembre`).
    ("date", re.compile(rf"(?<![a-z]){_NAMES}(?=\d)|(?<=\d){_NAMES}")),
)

_MARKER = re.compile(r"^(?:ordre du jour|odj|description|objet|details)\s?:|^(?:ordre du jour|odj)(?:\s|$)")


def find_suspects(source: str) -> list[Suspect]:
    """The date-, time-, duration- and amount-like fragments of `source` outside quotes and before a marker,
    in the order they appear."""
    folded, origin = _fold_with_origin(source)
    tokens = tokenize(source)
    stop = _marker_start(folded, origin, tokens, len(source))
    quoted = [(t.start, t.end) for t in tokens if t.quoted]
    found: list[Suspect] = []
    taken: list[tuple[int, int]] = []
    for kind, shape in _SHAPES:
        for match in shape.finditer(folded):
            start, end = origin[match.start()], origin[match.end() - 1] + 1
            if start >= stop or any(a <= start < b for a, b in quoted):
                continue
            if any(start < b and a < end for a, b in taken):
                continue
            taken.append((start, end))
            found.append(Suspect(source[start:end].strip(), kind, start, end))
    return _merged(source, sorted(found, key=lambda s: s.start))


_BETWEEN = re.compile(r"^[\s,]*(?:(?:\d{1,4}|a|à|de|le|du)[\s,]+)*$")


def _merged(source: str, found: list[Suspect]) -> list[Suspect]:
    """Neighbours separated by nothing but numbers and small words are one fragment: `mardi 3 novembre`."""
    merged: list[Suspect] = []
    for suspect in found:
        if merged and _BETWEEN.match(source[merged[-1].end : suspect.start] + " "):
            last = merged[-1]
            merged[-1] = Suspect(source[last.start : suspect.end].strip(), last.kind, last.start, suspect.end)
        else:
            merged.append(suspect)
    return merged


def has_marker(source: str) -> bool:
    """Whether some words of `source` (outside quotes) are marked as free text (`Description :`…)."""
    folded, origin = _fold_with_origin(source)
    return _marker_start(folded, origin, tokenize(source), len(source)) < len(source)


_DESCRIPTION_MARK = re.compile(r"^description\s*:\s*")


def without_description_mark(text: str) -> str:
    """`Description : Relecture` → `Relecture`: the mark says the rest is text; it is not part of it."""
    found = _DESCRIPTION_MARK.match(fold(text))
    return text[found.end() :] if found is not None and len(fold(text[: found.end()])) == found.end() else text


def _marker_start(folded: str, origin: list[int], tokens: list[Token], length: int) -> int:
    """Where the free text after a marker begins (the end of the source when there is none)."""
    for token in tokens:
        if token.quoted:
            continue
        at = origin.index(token.start) if token.start in origin else None
        if at is not None and _MARKER.match(folded[at:]):
            return token.start
    return length


def _fold_with_origin(source: str) -> tuple[str, list[int]]:
    """`source` folded (lower case, no accents, one kind of apostrophe and space) with, for each folded
    character, the index of the source character it comes from."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(source):
        if char in "’`":
            char = "'"
        elif char.isspace():
            char = " "
        for piece in fold(char):
            chars.append(piece)
            origin.append(index)
    return "".join(chars), origin

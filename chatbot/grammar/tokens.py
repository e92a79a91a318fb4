"""Splitting a command line into words, with French and English quotes grouping words."""

from __future__ import annotations

from dataclasses import dataclass

QUOTE_PAIRS = {"«": "»", "“": "”", '"': '"', "„": "“"}


@dataclass(frozen=True)
class Token:
    text: str  # the word, without its quotes
    start: int  # span in the source, quotes included
    end: int
    quoted: bool = False


def tokenize(source: str) -> list[Token]:
    """Whitespace-separated words; a quoted group is one token (an unclosed quote runs to the end)."""
    tokens: list[Token] = []
    i, n = 0, len(source)
    while i < n:
        if source[i].isspace():
            i += 1
            continue
        start = i
        closing = QUOTE_PAIRS.get(source[i])
        if closing is not None:
            end = source.find(closing, i + 1)
            stop = n if end == -1 else end + 1
            inner = source[i + 1 : end if end != -1 else n].strip()
            tokens.append(Token(inner, start, stop, quoted=True))
            i = stop
            continue
        while i < n and not source[i].isspace():
            i += 1
        tokens.append(Token(source[start:i], start, i))
    return tokens


def rest_of_line(source: str, tokens: list[Token]) -> str:
    """The source text covered by these tokens, as the member wrote it (a lone quoted group loses its quotes)."""
    if not tokens:
        return ""
    if len(tokens) == 1 and tokens[0].quoted:
        return tokens[0].text
    return source[tokens[0].start : tokens[-1].end].strip()

"""Text helpers shared by the parser and the renderers: folding for comparisons, slugs, chat-safe echo."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Sequence


@functools.lru_cache(maxsize=8192)  # the same names (circles, envelopes, keywords) are folded again and again
def fold(text: str) -> str:
    """Lower-case and strip accents, so that `Réunion` and `reunion` compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# Bidirectional controls (embeddings, overrides, isolates, marks) reorder what follows them on screen: a line of
# the register could read backwards. The cooperative writes French; nothing it types needs them.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")
_CONTROL = re.compile(f"[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f\\ufeff{BIDI_CONTROLS}]")


def without_control_characters(text: str) -> str:
    """Member text minus the control characters no one types on purpose (PostgreSQL refuses NUL in text) and the
    bidirectional controls that would reorder it on screen."""
    return _CONTROL.sub("", text)


def without_bidi_controls(text: str) -> str:
    return _BIDI.sub("", text)


# A spreadsheet reads a cell that starts with one of these as a formula (CSV injection). Invisible characters
# before it (a byte-order mark, a zero-width space, a bidi mark) do not stop some of them.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(text: str) -> str:
    """Member text for a CSV cell: no bidi controls, and a leading `'` when it could start a formula."""
    cell = without_bidi_controls(text)
    visible_start = next((i for i, ch in enumerate(cell) if not _invisible(ch)), len(cell))
    risky = cell.startswith(FORMULA_STARTS) or cell[visible_start:].startswith(FORMULA_STARTS)
    return "'" + cell if risky else cell


def _invisible(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) in ("Cf", "Cc", "Zs")


_SLUG_SEPARATORS = re.compile(r"[\s_'’]+")


def slug(text: str) -> str:
    """Comparable form of a name typed by a member: folded, `#` dropped, spaces turned into hyphens."""
    folded = fold(text.strip()).lstrip("#")
    return _SLUG_SEPARATORS.sub("-", folded).strip("-")


# Echoing member-written text into a Rocket.Chat message.
#
# Rocket.Chat pings on `(^|\s|>)@name` in the raw text (server MentionsParser), and its message parser turns
# `* _ ~ ` $` delimiters, `[x](url)`, `:emoji:`, `<url|x>`, `||spoilers||` and line-start blocks into markup.
# Backslash escapes are partial and show up raw in notifications, and a zero-width space inside emphasis does
# not stop it. What works (checked against @rocket.chat/message-parser): replace the emphasis delimiters with
# look-alikes, and put a word joiner (U+2060) right after the characters whose syntax needs an exact next
# character. URLs are left intact so that links stay clickable.
WORD_JOINER = "\u2060"
_LOOKALIKES = str.maketrans({"*": "∗", "_": "＿", "~": "∼", "`": "ˋ", "$": "＄"})
_JOIN_AFTER = re.compile(r"([@#<|\]!\\;=]|:(?!//))")
_JOIN_BEFORE = re.compile(r"(\))")
_URL = re.compile(r"https?://[^\s<>|]+")
_WHITESPACE = re.compile(r"\s+")


def chat_safe(text: str, limit: int | None = None) -> str:
    """Member-written text made inert for echo: one line, no ping, no markup, no bidi control, optionally
    shortened. Shortening cuts the words around a link, never the link: a cut link leads nowhere."""
    flat = _WHITESPACE.sub(" ", without_bidi_controls(text)).strip()
    pieces = _split_urls(flat)
    if limit is not None and len(flat) > limit:
        pieces = _shortened(pieces, limit)
    safe = "".join(piece if is_url else _neutralise(piece) for piece, is_url in pieces)
    return WORD_JOINER + safe if safe else safe


def _split_urls(text: str) -> list[tuple[str, bool]]:
    """The text as (piece, is a URL) in order."""
    pieces: list[tuple[str, bool]] = []
    position = 0
    for url in _URL.finditer(text):
        pieces += [(text[position : url.start()], False), (url.group(0), True)]
        position = url.end()
    return [*pieces, (text[position:], False)]


def _shortened(pieces: list[tuple[str, bool]], limit: int) -> list[tuple[str, bool]]:
    """About `limit` characters: the words are cut with `…` (a quarter of the limit is kept for them even beside a
    long link). A URL is never cut: the first is kept whole, however long, the others while they fit in the limit;
    one that does not is left out (`…`), so that a line full of links cannot swell a listing past what a chat
    message holds."""
    whole: set[int] = set()  # the URLs shown
    budget = limit
    for index, (piece, is_url) in enumerate(pieces):
        if is_url and (not whole or len(piece) <= budget):
            whole.add(index)
            budget -= len(piece)
    room = max(limit // 4, limit - sum(len(pieces[index][0]) for index in whole))
    out: list[tuple[str, bool]] = []
    cut = False
    for index, (piece, is_url) in enumerate(pieces):
        if is_url:
            if index in whole:
                out.append(((" " + piece) if cut else piece, True))
            elif not cut:
                spaced = bool(out) and not out[-1][1] and out[-1][0].endswith(" ")
                out.append(("…" if spaced else " …", False))
                cut = True
            continue
        if cut:
            continue
        if len(piece) <= room:
            out.append((piece, False))
            room -= len(piece)
            continue
        kept = piece[: max(0, room - 1)].rstrip() + "…"
        after_url = bool(out) and out[-1][1]
        out.append(((" " + kept) if after_url and not kept[0].isspace() else kept, False))  # `…` is no part of it
        cut = True
    return out


def _neutralise(fragment: str) -> str:
    fragment = fragment.translate(_LOOKALIKES)
    fragment = _JOIN_AFTER.sub(lambda m: m.group(1) + WORD_JOINER, fragment)
    return _JOIN_BEFORE.sub(lambda m: WORD_JOINER + m.group(1), fragment)


def visible(text: str) -> str:
    """The text a reader sees once the invisible joiners are taken out (for tests and logs)."""
    return text.replace(WORD_JOINER, "")


_MENTIONABLE = re.compile(r"[A-Za-z0-9._-]{1,64}")


def mention(username: str) -> str:
    """`@name` to ping someone on purpose (reminders, objectors); a name the server would not accept is echoed inert."""
    return f"@{username}" if _MENTIONABLE.fullmatch(username) else chat_safe(username, 40)


def first_names(names: Sequence[str], render: Callable[[str], str], shown: int) -> tuple[str, int]:
    """The first `shown` names, each rendered (`mention` to ping, `chat_safe` not to), joined by commas, and how
    many are left out (for the caller's `… et 4 autres`): a room of 150 must not get a 2,000-character list."""
    return ", ".join(render(name) for name in names[:shown]), max(0, len(names) - shown)

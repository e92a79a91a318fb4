"""Text helpers shared by the parser and the renderers: folding for comparisons, slugs, chat-safe echo."""

from __future__ import annotations

import functools
import re
import unicodedata


@functools.lru_cache(maxsize=8192)  # the same names (circles, envelopes, keywords) are folded again and again
def fold(text: str) -> str:
    """Lower-case and strip accents, so that `Réunion` and `reunion` compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def without_control_characters(text: str) -> str:
    """Member text minus the control characters no one types on purpose (PostgreSQL refuses NUL in text)."""
    return _CONTROL.sub("", text)


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
    """Member-written text made inert for echo: one line, no ping, no markup, optionally shortened."""
    flat = _WHITESPACE.sub(" ", text).strip()
    if limit is not None and len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    pieces: list[str] = []
    position = 0
    for url in _URL.finditer(flat):
        pieces.append(_neutralise(flat[position : url.start()]))
        pieces.append(url.group(0))
        position = url.end()
    pieces.append(_neutralise(flat[position:]))
    safe = "".join(pieces)
    return WORD_JOINER + safe if safe else safe


def _neutralise(fragment: str) -> str:
    fragment = fragment.translate(_LOOKALIKES)
    fragment = _JOIN_AFTER.sub(lambda m: m.group(1) + WORD_JOINER, fragment)
    return _JOIN_BEFORE.sub(lambda m: WORD_JOINER + m.group(1), fragment)


def visible(text: str) -> str:
    """The text a reader sees once the invisible joiners are taken out (for tests and logs)."""
    return text.replace(WORD_JOINER, "")

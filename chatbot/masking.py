"""Secrets out of what is printed or logged: the one way the command line and the web server mask them."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote, unquote

MASK = "***"


def mask_known(text: str, secrets: Iterable[str]) -> str:
    """`text` with each secret replaced by MASK, as written and percent-encoded or decoded (a URL or a log line
    may carry either); the longest first, so that a secret holding another is masked whole."""
    for secret in sorted(secrets, key=len, reverse=True):
        for form in (secret, quote(secret, safe=""), unquote(secret)):
            if form:
                text = text.replace(form, MASK)
    return text

"""Log lines as text or as JSON (one object per line, for log shippers), secrets masked in both.

`chatbot --log-format json` uses `JsonFormatter`: `time` (UTC, ISO 8601), `level`, `logger`, `message`, the fields
given with `extra=` (e.g. a handled command's `message_id`, `family`, `outcome`, `ms`), and `exception` /
`stack` when there are some. The filters installed on loggers (the calendar token's, see chatbot.web) rewrite the
record before any formatter sees it, so they apply to both formats; the formatter's own `redact` (the command
line's secrets) is applied to every string it writes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMATS = ("text", "json")
# What every LogRecord carries: anything else on a record came with `extra=`.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "taskName"}


def _same(text: str) -> str:
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line; every string masked by `redact` before it is encoded (so that a
    secret is found as written, not as JSON escapes it)."""

    def __init__(self, redact: Callable[[str], str] | None = None) -> None:
        super().__init__()
        self.redact = redact or _same

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        entry: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.message,
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in entry:
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(self._masked(entry), ensure_ascii=False, default=str)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _masked(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {self.redact(str(k)): self._masked(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._masked(v) for v in value]
        if value is None or isinstance(value, bool | int | float):
            return value
        return self.redact(str(value))

"""The message catalogue: every sentence a user reads, one folder per language (`fr/*.toml`, one file a feature)."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any


class Catalogue:
    """Looks up `section.key` entries and fills their `{placeholders}`."""

    def __init__(self, entries: dict[str, Any], language: str) -> None:
        self.language = language
        self._flat: dict[str, Any] = {}
        self._flatten("", entries)

    def _flatten(self, prefix: str, table: dict[str, Any]) -> None:
        for key, value in table.items():
            full = f"{prefix}{key}"
            if isinstance(value, dict):
                self._flatten(full + ".", value)
            else:
                self._flat[full] = value

    def __call__(self, key: str, **data: Any) -> str:
        template = self._flat.get(key)
        if not isinstance(template, str):
            raise KeyError(f"message {key!r} missing from the {self.language} catalogue")
        return template.format(**data) if data else template

    def get(self, key: str, **data: Any) -> str | None:
        return self(key, **data) if self.has(key) else None

    def strings(self, key: str) -> list[str]:
        value = self._flat.get(key, [])
        if not isinstance(value, list):
            raise KeyError(f"message {key!r} is not a list")
        return [str(v) for v in value]

    def template(self, key: str) -> str:
        """The entry as written, placeholders unfilled (to know which ones it shows)."""
        value = self._flat.get(key)
        return value if isinstance(value, str) else ""

    def has(self, key: str) -> bool:
        return key in self._flat

    def keys(self) -> list[str]:
        return list(self._flat)


@cache
def load_catalogue(language: str = "fr") -> Catalogue:
    """All the TOML files of one language merged; the same key in two files is a mistake, not an override."""
    folder = resources.files(__package__).joinpath(language)
    files = (
        sorted((f for f in folder.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name)
        if folder.is_dir()
        else []
    )
    if not files:
        raise ValueError(f"no message catalogue for language {language!r}")
    merged: dict[str, Any] = {}
    for file in files:
        _merge(merged, tomllib.loads(file.read_text(encoding="utf-8")), file.name)
    return Catalogue(merged, language)


def _merge(into: dict[str, Any], new: dict[str, Any], source: str, prefix: str = "") -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value, source, f"{prefix}{key}.")
        elif key in into:
            raise ValueError(f"message {prefix}{key} defined twice (again in {source})")
        else:
            into[key] = value

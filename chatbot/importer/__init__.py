"""Importing the cooperative's spreadsheet (a Google Sheet exported as CSV): contributions and envelopes.

`table` reads the file (encoding, separator, columns), `cells` reads one cell (dates, durations, amounts as
French spreadsheets write them), `contributions` and `envelopes` check every row against the database and write
them in one transaction, `run` is the `chatbot import …` command (report, progress, summary). Every refusal is an
`ImportProblem`: a catalogue key under `import.` and its values, so that the treasurer reads French."""

from __future__ import annotations

from typing import Any


class ImportProblem(Exception):
    """Something in the file the import cannot take: `key` names the French sentence (`import.<key>`)."""

    def __init__(self, key: str, **data: Any) -> None:
        super().__init__(key)
        self.key = key
        self.data = data

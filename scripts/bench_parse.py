"""Benchmark: reading one command line (design target: parsing stays under 0.1 ms at the median).

Usage:
    python scripts/bench_parse.py [--runs 2000]

Reads typical command lines of every family — the examples `/aide` shows and the grammar corpus's phrasings when
the tests folder is beside the script — from the command name to the typed values: recognising the command,
choosing the subcommand, reading the arguments, questioning unread fragments of free text. No database, no reply.
It prints figures; it asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatbot.app import command_groups
from chatbot.commandkit import CommandGroup
from chatbot.config import load_settings
from chatbot.directories import circle_directory, envelope_names
from chatbot.errors import UserError
from chatbot.formatting import Formatter
from chatbot.grammar.base import EnvelopeDirectory, ParseContext
from chatbot.grammar.deadlines import parse_proposal
from chatbot.messages import load_catalogue
from chatbot.router import Router

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))


def command_lines(router: Router) -> list[str]:
    lines = [example for group in router.groups for command in group.commands for example in router.examples(command)]
    try:
        from tests.test_corpus import CASES
    except ImportError:  # a copy without its tests: the examples alone
        return lines
    return lines + [line for _, line, _ in CASES]


def read(family: str, arguments: str, group: CommandGroup, ctx: ParseContext) -> None:
    """What the bot reads of a command before its handler runs (a proposal's deadline is read by the handler)."""
    command, rest = group.select(arguments)
    values = command.parse(rest, ctx)
    if family == "consent" and values.get("target") is None and values.get("text"):
        parse_proposal(values["text"], ctx.today)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000, help="passes over each command line")
    args = parser.parse_args()
    settings = load_settings()
    router = Router(command_groups(), load_catalogue("fr"), Formatter())
    ctx = ParseContext(
        today=NOW.date(),
        now=NOW,
        directory=EnvelopeDirectory(envelope_names(settings)),
        circles=circle_directory(settings),
    )
    lines = command_lines(router)
    per_family: dict[str, list[float]] = {}
    refused = 0
    for line in lines:
        samples = []
        for _ in range(max(1, args.runs // 20)):
            started = time.perf_counter()
            for _ in range(20):
                recognised = router.recognise(line, direct=True)
                if recognised is None or recognised.group is None:
                    break
                try:
                    read(recognised.group.name, recognised.arguments, recognised.group, ctx)
                except UserError:
                    pass
            samples.append((time.perf_counter() - started) / 20 * 1000)
        try:
            recognised = router.recognise(line, direct=True)
            if recognised is not None and recognised.group is not None:
                read(recognised.group.name, recognised.arguments, recognised.group, ctx)
        except UserError:
            refused += 1
        family = line.split()[0].lstrip("/")
        per_family.setdefault(family, []).append(statistics.median(samples))
    every = sorted(value for values in per_family.values() for value in values)
    print(f"Parsing {len(lines)} command lines ({refused} refused, as the corpus expects), {args.runs} runs each")
    print(f"{'family':<12}{'lines':>7}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for family, values in sorted(per_family.items()):
        values.sort()
        print(f"{family:<12}{len(values):>7}{_pct(values, 50):>10.4f}{_pct(values, 95):>10.4f}{values[-1]:>10.4f}")
    print(f"{'all':<12}{len(every):>7}{_pct(every, 50):>10.4f}{_pct(every, 95):>10.4f}{every[-1]:>10.4f}")
    print("target: p50 under 0.1 ms")


def _pct(values: list[float], pct: int) -> float:
    index = min(len(values) - 1, max(0, round(pct / 100 * (len(values) - 1))))
    return values[index]


if __name__ == "__main__":
    main()

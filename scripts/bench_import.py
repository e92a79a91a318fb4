"""Benchmark: `chatbot import contributions` of a 10,000-row Google-Sheet export (target: under 10 s).

Usage:
    python scripts/bench_import.py [--rows 10000]

Generates a realistic file in a temporary directory (`;` separated, BOM, French decimals, `3h30`, `1 234,50 €`,
150 members named as people are, with their mapping file), then times the real command, end to end (a new
process, as the treasurer runs it): the dry run, the import, and the same import again (which adds nothing).
Always on a fresh SQLite file; on PostgreSQL too when TEST_DATABASE_URL is set (a new database is created on that
server and dropped at the end: nothing else is touched). It prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from chatbot.db.engine import make_engine

ROOT = Path(__file__).resolve().parents[1]
FIRST = ("Camille", "Alice", "Jean", "Élodie", "Mathieu", "Sophie", "Karim", "Léa", "Nicolas", "Zoé", "Hugo", "Inès")
LAST = ("Martin", "Durand", "Lefèvre", "Moreau", "Bernard", "Petit", "Roux", "Fournier", "Girard", "Bonnet", "Dupont")
HOURS_ENVELOPES = ("Technique", "tech", "Communication", "com", "vie-coop", "Santé au travail", "orientation")
TASKS = ("Réunion de cercle", "Mise à jour du wiki", "Accueil des nouveaux", "Relecture", "Compte rendu", "Atelier")


def generate(folder: Path, rows: int, year: int) -> tuple[Path, Path]:
    rng = random.Random(2026)
    people = [f"{f} {last}" for f in FIRST for last in LAST][:150]
    members = folder / "membres.csv"
    members.write_text(
        "nom,username\n" + "".join(f"{p},{p.lower().replace(' ', '.')}\n" for p in people), encoding="utf-8"
    )
    lines = ["\ufeffDate;Membre;Cercle;Durée;Taux;Montant;Description"]
    for n in range(rows):
        day = date(year, 1, 1) + timedelta(days=rng.randrange(365 if year % 4 else 366))
        who = rng.choice(people)
        task = f"{rng.choice(TASKS)} n°{n + 1}"
        if rng.random() < 0.1:
            cents = rng.randrange(200, 400) * 100 + rng.choice((0, 50))
            amount = f"{cents // 100},{cents % 100:02d} €"
            lines.append(f"{day:%d/%m/%Y};{who};formation;;;{amount};{task}")
            continue
        minutes = rng.choice((30, 60, 90, 120, 150, 180, 210, 240, 300, 360))
        hours, rest = divmod(minutes, 60)
        duration = rng.choice((f"{hours}h{rest:02d}" if rest else f"{hours}h", f"{minutes / 60:.1f}".replace(".", ",")))
        rate = rng.choice((30, 30, 30, 25))
        cents = minutes * rate * 100 // 60
        amount = f"{cents // 100:,}".replace(",", "\u202f") + f",{cents % 100:02d} €"
        rate_cell = f"{rate} €" if rate != 30 or rng.random() < 0.5 else ""
        lines.append(f"{day:%d/%m/%Y};{who};{rng.choice(HOURS_ENVELOPES)};{duration};{rate_cell};{amount};{task}")
    sheet = folder / "contributions.csv"
    sheet.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    return sheet, members


def run(folder: Path, url: str, *args: str) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    env["DATABASE_URL"] = url
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "chatbot", *args, "--config", "coop.toml"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    elapsed = time.perf_counter() - started
    summary = next((line for line in result.stdout.splitlines() if line.startswith("Lignes lues")), "")
    if result.returncode not in (0, 1):
        summary = f"exit {result.returncode}: {result.stderr.strip()[:300]}"
    return elapsed, summary


def bench(name: str, folder: Path, url: str, rows: int) -> None:
    if not url.startswith("sqlite"):
        run(folder, url, "db", "upgrade")
    common = ("import", "contributions", "--csv", "contributions.csv", "--members", "membres.csv")
    for label, extra in (("dry run", ("--dry-run",)), ("import", ()), ("again (adds nothing)", ())):
        elapsed, summary = run(folder, url, *common, *extra)
        print(f"[{name}] {rows} rows, {label}: {elapsed:.2f} s  — {summary}", flush=True)


async def _admin(server: str, statement: str) -> None:
    admin = make_url(server).set(drivername="postgresql+asyncpg", database="postgres")
    engine = make_engine(admin.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    year = date.today().year - 1  # a whole year of past work, seeded from the configuration (budget.year)
    with tempfile.TemporaryDirectory(prefix="bench_import_") as tmp:
        folder = Path(tmp)
        example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
        (folder / "coop.toml").write_text(example.replace("[budget]\n", f"[budget]\nyear = {year}\n", 1), "utf-8")
        generate(folder, args.rows, year)
        size = (folder / "contributions.csv").stat().st_size
        print(f"generated {args.rows} rows ({size / 1024:.0f} KB) for {year}", flush=True)
        bench("sqlite", folder, f"sqlite+aiosqlite:///{folder / 'bench.db'}", args.rows)
        server = os.environ.get("TEST_DATABASE_URL")
        if server:
            name = f"chatbot_bench_import_{uuid.uuid4().hex[:8]}"
            asyncio.run(_admin(server, f'CREATE DATABASE "{name}"'))
            try:
                url = make_url(server).set(drivername="postgresql+asyncpg", database=name)
                bench("postgresql", folder, url.render_as_string(hide_password=False), args.rows)
            finally:
                asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()

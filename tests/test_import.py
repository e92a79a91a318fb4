"""`chatbot import contributions|envelopes`: the spreadsheet the cooperative keeps today, exported from Google
Sheets, imported through the real command on the real database (SQLite, and PostgreSQL when TEST_DATABASE_URL is
set). A dry run writes nothing and says what is wrong with each row; a real run writes everything or nothing; a
second run adds nothing; the envelopes' running totals stay equal to a recomputation."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from chatbot.app import Bot
from chatbot.db.models import AuditEvent, Contribution, Envelope, Member
from tests.conftest import Chat
from tests.helpers import assert_totals_consistent, count, run_cli, snapshot

ROOT = Path(__file__).resolve().parents[1]

# As Google Sheets exports a French sheet when the separator is `;`: a BOM, French decimals, `€`, grouped
# thousands with a narrow no-break space, `3h30`, a cell quoted because it holds the separator.
SHEET = (
    "\ufeffDate;Membre;Cercle;Durée;Taux;Montant;Description\r\n"
    "12/03/2026;Camille Martin;Technique;3h30;30 €;105,00 €;Mise à jour du wiki\r\n"
    '13/03/2026;Alice Durand;com;1,5;;45 €;"Affiches; AG"\r\n'
    '14/03/2026;Alice Durand;formation;;;"300,00\u202f€";Formation Nextcloud\r\n'
    "2026-03-20;alice;cercle-tech;2h;25 €/h;50 €;Relecture\r\n"
    ";;;;;;\r\n"
)
MEMBERS = "nom,username\nCamille Martin,camille\nAlice Durand,alice\n"


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "ROCKETCHAT_"))}
    return {**base, "DATABASE_URL": database_url}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A configuration whose budget year is 2026 whatever the real date, and the members' mapping file."""
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    (tmp_path / "coop.toml").write_text(example.replace("[budget]\n", "[budget]\nyear = 2026\n", 1), "utf-8")
    (tmp_path / "membres.csv").write_text(MEMBERS, encoding="utf-8")
    return tmp_path


def chatbot_import(workdir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(workdir, "import", *args, "--config", "coop.toml", env=env)


def sheet(workdir: Path, text: str, name: str = "contributions.csv") -> str:
    (workdir / name).write_bytes(text.encode("utf-8"))
    return name


async def contributions(bot: Bot) -> list[tuple[str, str, int | None, int | None, int, str]]:
    async with bot.sessions() as session:
        query = (
            select(
                Member.username,
                Envelope.slug,
                Contribution.minutes,
                Contribution.rate_cents,
                Contribution.amount_cents,
                Contribution.description,
            )
            .join(Member, Member.id == Contribution.member_id)
            .join(Envelope, Envelope.id == Contribution.envelope_id)
            .order_by(Contribution.work_date, Contribution.id)
        )
        return [tuple(row) for row in (await session.execute(query)).all()]  # type: ignore[misc]


async def test_a_real_run_creates_and_a_second_run_adds_nothing(bot: Bot, workdir: Path, env: dict[str, str]) -> None:
    name = sheet(workdir, SHEET)
    first = chatbot_import(workdir, env, "contributions", "--csv", name, "--members", "membres.csv")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Lignes lues : 4 ; créées : 4 ; déjà importées : 0 ; en erreur : 0." in first.stdout
    assert "• Technique (`tech`) 2026 : 2 contribution(s), 155 €" in first.stdout
    assert "Membres créés" in first.stdout and "@alice, @camille" in first.stdout
    assert await contributions(bot) == [
        ("camille", "tech", 210, 3000, 10500, "Mise à jour du wiki"),
        ("alice", "communication", 90, 3000, 4500, "Affiches; AG"),
        ("alice", "formation", None, None, 30000, "Formation Nextcloud"),
        ("alice", "tech", 120, 2500, 5000, "Relecture"),
    ]
    await assert_totals_consistent(bot)
    assert (await envelope_spent(bot, "tech")) == 15500
    assert await count(bot, "audit_event", "action = 'import'") == 4
    async with bot.sessions() as session:
        users = sorted((await session.scalars(select(Member.user_id))).all())
        reasons = (await session.scalars(select(AuditEvent.reason).where(AuditEvent.action == "import"))).all()
    assert users == ["import:alice", "import:camille"]
    assert "import de contributions.csv, ligne 2" in reasons
    before = await snapshot(bot)

    again = chatbot_import(workdir, env, "contributions", "--csv", name, "--members", "membres.csv")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Lignes lues : 4 ; créées : 0 ; déjà importées : 4 ; en erreur : 0." in again.stdout
    assert await snapshot(bot) == before
    # The same sheet exported otherwise (`,` separator, no BOM, 3,5 for 3h30, ISO dates) is the same rows.
    other = (
        "Date,Membre,Cercle,Durée,Taux,Montant,Description\n"
        '2026-03-12,Camille Martin,tech,"3,5",30,105,Mise à jour du wiki\n'
    )
    third = chatbot_import(
        workdir, env, "contributions", "--csv", sheet(workdir, other, "b.csv"), "--members", "membres.csv"
    )
    assert "créées : 0 ; déjà importées : 1" in third.stdout, third.stdout + third.stderr
    assert await snapshot(bot) == before

    journal = await Chat(bot)("/budget journal tech")
    assert (
        "import du tableur · tech : contribution de 105 € importée du tableur (n°1)"
        " — import de contributions.csv, ligne 2"
    ) in journal


async def envelope_spent(bot: Bot, slug: str) -> int:
    async with bot.sessions() as session:
        spent = await session.scalar(select(Envelope.spent_cents).where(Envelope.slug == slug, Envelope.year == 2026))
        return int(spent or 0)


PROBLEMS = (
    "\ufeffDate;Membre;Cercle;Durée;Taux;Montant;Description\n"
    "12/03/2026;Camille Martin;tech;3h30;;105 €;Bonne ligne\n"  # 2: fine
    "13/03/2026;Jean Inconnu;tech;2h;;;Qui ?\n"  # 3: unknown member
    "14/03/2026;Alice Durand;jardinage;2h;;;Potager\n"  # 4: unknown envelope
    "15/03/2026;Alice Durand;tech;2h;45 €;;Trop cher\n"  # 5: rate above the envelope's cap
    "10/12/2025;Alice Durand;tech;2h;;;Année close\n"  # 6: a closed year
    "16/03/2026;Alice Durand;tech;2h;;70 €;Calcul faux\n"  # 7: 2 h × 30 €/h is not 70 €
    "12/03/2026;Camille Martin;tech;3h30;;105 €;Bonne ligne\n"  # 8: same as line 2
    "17/03/2026;Alice Durand;tech;deux jours;;;Illisible\n"  # 9: no duration
    "31/02/2026;Alice Durand;tech;1h;;;Date\n"  # 10: no such date
)


async def test_a_dry_run_writes_nothing_and_says_every_problem(
    bot: Bot, chat: Chat, workdir: Path, env: dict[str, str]
) -> None:
    await chat("/budget definir tech 3000 2025")
    assert "clôturée" in await chat("/budget cloturer 2025")
    before = await snapshot(bot)
    result = chatbot_import(
        workdir, env, "contributions", "--csv", sheet(workdir, PROBLEMS), "--members", "membres.csv", "--dry-run"
    )
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "ligne 2 : à créer — @camille · tech · 12/03/2026 · 3 h 30 × 30 €/h = 105 € · Bonne ligne" in out
    assert "ligne 3 : erreur — membre inconnu « Jean Inconnu » ; ajoutez une ligne `nom,username`" in out
    assert "ligne 4 : erreur — cercle ou enveloppe inconnu « jardinage »" in out
    assert "ligne 5 : erreur — taux de 45 €/h au-dessus du plafond de l'enveloppe tech (30 €/h)" in out
    assert "ligne 6 : erreur — l'année 2025 est clôturée" in out
    assert (
        "ligne 7 : erreur — le montant 70 € ne correspond pas à 2 h × 30 €/h (taux de l'enveloppe tech) = 60 €" in out
    )
    assert "ligne 8 : erreur — ligne identique à la ligne 2" in out
    assert "ligne 9 : erreur — durée illisible « deux jours » ; attendu `3h30`" in out
    assert "ligne 10 : erreur — date illisible « 31/02/2026 »" in out
    assert "Lignes lues : 9 ; à créer : 1 ; déjà importées : 0 ; en erreur : 8." in out
    assert "Simulation : rien n'a été écrit." in out
    assert result.stderr == ""
    assert await snapshot(bot) == before
    assert await count(bot, "member", "user_id LIKE 'import:%'") == 0

    real = chatbot_import(workdir, env, "contributions", "--csv", "contributions.csv", "--members", "membres.csv")
    assert real.returncode == 1
    assert "8 ligne(s) en erreur : rien n'a été écrit." in real.stdout
    assert await snapshot(bot) == before

    skipping = chatbot_import(
        workdir, env, "contributions", "--csv", "contributions.csv", "--members", "membres.csv", "--skip-errors"
    )
    assert skipping.returncode == 0, skipping.stdout + skipping.stderr
    assert "créées : 1" in skipping.stdout and "8 ligne(s) en erreur laissée(s) de côté" in skipping.stdout
    assert await contributions(bot) == [("camille", "tech", 210, 3000, 10500, "Bonne ligne")]
    await assert_totals_consistent(bot)


async def test_map_minutes_and_a_member_the_bot_already_knows(
    bot: Bot, chat: Chat, workdir: Path, env: dict[str, str]
) -> None:
    """Other column names (`--map`), a minutes column, ISO dates, `--year` for dates written without one; a
    member who already wrote to the bot keeps their account (no `import:` one)."""
    await chat("/contrib 1h tech Avant l'import", user="alice")
    assert await count(bot, "member", "username = 'alice'") == 1
    text = (
        "Jour,Qui,Enveloppe,Temps (min),Objet\n"
        "2026-02-03,alice,vie-coop,90,Accueil\n"
        "04/02,@alice,Vie coopérative,45,Compte rendu\n"
    )
    result = chatbot_import(
        workdir,
        env,
        "contributions",
        "--csv",
        sheet(workdir, text),
        "--map",
        "member=Qui,date=Jour",
        "--year",
        "2026",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "créées : 2" in result.stdout
    rows = await contributions(bot)
    assert ("alice", "vie-coop", 90, 3000, 4500, "Accueil") in rows
    assert ("alice", "vie-coop", 45, 3000, 2250, "Compte rendu") in rows
    assert await count(bot, "member", "user_id LIKE 'import:%'") == 0
    assert "Colonnes ignorées" not in result.stdout
    await assert_totals_consistent(bot)


ODD = {
    "empty": (b"", "est vide"),
    "header only": ("Date;Membre;Cercle;Durée\n".encode(), "n'a que sa ligne d'en-têtes"),
    "wrong columns": (b"ville;age;note\nLille;3;x\n", "Colonnes manquantes : « Date » ; « Membre » ; « Cercle »"),
    "binary": (bytes(range(256)) * 4, "n'est pas un fichier texte CSV"),
    "latin-1": ("Date;Membre;Cercle;Durée\n12/03/2026;Hélène;tech;2h\n".encode("latin-1"), "n'est pas en UTF-8"),
    "two envelope columns": (b"Date;Membre;Cercle;Enveloppe;Duree\n", "Deux colonnes pour « envelope »"),
}


@pytest.mark.parametrize("case", list(ODD))
async def test_odd_files_are_one_french_line_and_exit_2(
    bot: Bot, workdir: Path, env: dict[str, str], case: str
) -> None:
    content, expected = ODD[case]
    (workdir / "odd.csv").write_bytes(content)
    before = await snapshot(bot)
    result = chatbot_import(workdir, env, "contributions", "--csv", "odd.csv")
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert await snapshot(bot) == before


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--csv", "absent.csv"), "Fichier introuvable : « absent.csv »"),
        (("--csv", "ok.csv", "--map", "qui=Nom"), "--map : valeur inconnue « qui »"),
        (("--csv", "ok.csv", "--map", "member=Inexistante"), "la colonne « inexistante » (pour member)"),
        (("--csv", "ok.csv", "--members", "absent.csv"), "Fichier introuvable : « absent.csv »"),
        (("--csv", "ok.csv", "--year", "20266"), "--year 20266 : une année de 2000 à 2099"),
    ],
)
async def test_odd_options_are_one_french_line_and_exit_2(
    bot: Bot, workdir: Path, env: dict[str, str], args: tuple[str, ...], expected: str
) -> None:
    sheet(workdir, SHEET, "ok.csv")
    result = chatbot_import(workdir, env, "contributions", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0], result.stderr


ENVELOPES = (
    "Identifiant;Nom;Montant;Année;Taux;Cercle;Mode;Forfait min;Forfait max\n"
    "tech;Technique;3 500 €;2026;28;tech;heures;;\n"
    "evenements;Événements;1 500;2026;;;forfait;100;500\n"
    "formation;Formation;3000;2026;;;;;\n"
)


async def test_envelopes_are_created_or_updated_audited_and_idempotent(
    bot: Bot, workdir: Path, env: dict[str, str]
) -> None:
    name = sheet(workdir, ENVELOPES, "enveloppes.csv")
    before = await snapshot(bot)
    dry = chatbot_import(workdir, env, "envelopes", "--csv", name, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "ligne 2 : à modifier — enveloppe tech 2026 : montant 3 000 € → 3 500 € ; taux 30 €/h → 28 €/h" in dry.stdout
    assert "ligne 3 : à créer — enveloppe evenements 2026 « Événements » : 1 500 €" in dry.stdout
    assert "ligne 4 : inchangée — enveloppe formation 2026" in dry.stdout
    assert await snapshot(bot) == before

    real = chatbot_import(workdir, env, "envelopes", "--csv", name)
    assert real.returncode == 0, real.stdout + real.stderr
    assert "enveloppes créées : 1 ; modifiées : 1 ; inchangées : 1 ; en erreur : 0" in real.stdout
    async with bot.sessions() as session:
        tech = (await session.scalars(select(Envelope).where(Envelope.slug == "tech", Envelope.year == 2026))).one()
        events = (await session.scalars(select(Envelope).where(Envelope.slug == "evenements"))).one()
        actions = sorted(
            (await session.scalars(select(AuditEvent.action).where(AuditEvent.reason.startswith("import de")))).all()
        )
    assert (tech.amount_cents, tech.rate_cents, tech.mode) == (350000, 2800, "hours")
    assert (events.amount_cents, events.mode, events.flat_min_cents, events.flat_max_cents) == (
        150000,
        "flat",
        10000,
        50000,
    )
    assert actions == ["create", "define", "import_envelope", "rate"]
    after = await snapshot(bot)
    again = chatbot_import(workdir, env, "envelopes", "--csv", name)
    assert "enveloppes créées : 0 ; modifiées : 0 ; inchangées : 3" in again.stdout, again.stdout
    assert await snapshot(bot) == after

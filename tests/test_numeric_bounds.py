"""Huge numbers, wherever a command takes one: a French answer saying what was expected, never an internal error.

Every numeric converter bounds its digits before it computes: `int()` refuses 4,300 digits and Decimal arithmetic
fails beyond 28 (`decimal.InvalidOperation`), or silently rounds.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from chatbot.app import Bot
from chatbot.db.models import Contribution
from chatbot.money import AmountTooLarge, euros_to_cents
from tests.conftest import Chat

INTERNAL_PREFIX = "Désolé, une erreur interne"

NINES = "9" * 27
HUGE = [NINES, "9" * 30, "1" + "0" * 400, "9" * 4400, "9" * 12, "4294967296", "2147483648"]

TEMPLATES = [
    "/contrib {n}h tech x",
    "/contrib {n}min tech x",
    "/contrib {n} min tech x",
    "/contrib {n},5h tech x",
    "/contrib 1h{n} tech x",
    "/contrib {n}h30 tech x",
    "/contrib {n}€ formation x",
    "/contrib {n},50 € formation x",
    "/contrib 3h {n}€/h tech",
    "/contrib 3h {n}/h tech",
    "/contrib 2h tech le {n}/03 x",
    "/contrib 2h tech {n}/03/2026 x",
    "/contrib 2h tech 12/03/{n} x",
    "/contrib 2h tech le {n} mars x",
    "/contrib 2h tech le 12 mars {n} x",
    "/contrib prevoir {n}h tech x",
    "/contrib liste {n}",
    "/contrib liste tech {n}",
    "/contrib annuler {n}",
    "/contrib annuler n°{n}",
    "/contrib export {n}",
    "/budget definir tech {n}",
    "/budget definir tech 5000 {n}",
    "/budget ajuster tech -{n} raison",
    "/budget ajuster tech +{n} raison",
    "/budget ajuster tech +{n},5 raison",
    '/budget creer foo "Foo" {n}',
    "/budget taux tech {n}",
    "/budget cloturer {n}",
    "/budget rouvrir {n} raison",
    "/budget tech {n}",
    "/budget journal {n}",
    "/reunion jeudi 14h {n}min x",
    "/reunion tech jeudi 14h {n}min x",
    "/reunion tech jeudi 14h {n}h x",
    "/reunion tech jeudi {n}h x",
    "/reunion tech jeudi 14h{n} x",
    "/reunion tech jeudi 14h durée {n}h",
    "/reunion tech jeudi 14h durée {n}min",
    "/reunion tech le {n} mars 14h",
    "/reunion tech le 12 mars {n} 14h",
    "/reunion tech {n}/03 14h",
    "/reunion tech 12/03/{n} 14h",
    "/reunion tech chaque {n} jours 14h",
    "/reunion tech tous les {n} jours 14h",
    "/reunion tech toutes les {n} semaines jeudi 14h",
    "/reunion tech le {n}e jeudi du mois 14h",
    "/reunion tech dans {n} jours 14h",
    "/reunion annuler {n}",
    "/reunion annuler 1 {n}/03",
    "/reunion deplacer {n} vendredi 14h",
    "/reunion deplacer 1 du {n}/12 au mercredi 16/12 18h",
    "/reunion liste {n}",
    "/consent Proposition x {n}h",
    "/consent Proposition x {n} jours",
    "/consent Proposition x {n} heures",
    "/consent Proposition x {n} semaines",
    "/consent Proposition x 48h revue {n} mois",
    "/consent Proposition x 48h revue {n} ans",
    "/consent Proposition x jusqu'au {n}/03",
    "/consent Proposition x d'ici {n}h",
    "/consent Proposition x dans {n} jours",
    "/consent {n}",
    "/consent {n} ok",
    "/consent n°{n} ok",
    "/decisions D-{n}",
    "/decisions tech {n}",
    "/decision D{n}",
    "/aide {n}",
]


@pytest.mark.parametrize("number", HUGE, ids=lambda n: f"{len(n)}-digits")
async def test_huge_numbers_get_a_french_answer(chat: Chat, number: str) -> None:
    failures = []
    for template in TEMPLATES:
        command = template.format(n=number)
        reply = await chat(command)
        if not reply.strip() or reply.startswith(INTERNAL_PREFIX):
            failures.append((command[:80], reply[:100]))
    assert not failures, "\n".join(map(str, failures))


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (f"/contrib {NINES}h tech x", f"Durée démesurée : « {NINES}h ». Vérifiez le nombre de chiffres"),
        (f"/contrib {NINES}min tech x", "une durée s'écrit par exemple `3h`, `1h30` ou `90min`."),
        (f"/contrib prevoir {NINES}h tech x", f"Durée démesurée : « {NINES}h »"),
        ("/reunion jeudi 14h 999999999999999999999999999999min x", "Durée démesurée : « 9999"),
        (f"/reunion tech jeudi 14h durée {NINES}h", "Durée démesurée"),
        (f"/contrib 1h{NINES} tech", f"Durée illisible : « 1h{NINES} »"),
        (f"/contrib {NINES}€ formation", "Montant démesuré"),
        (f"/budget definir tech {NINES}", "Montant démesuré"),
        (f"/budget ajuster tech -{NINES} raison", "Montant démesuré"),
        (f"/budget taux tech {NINES}", "Montant démesuré"),
        (f"/consent Adopter la charte {'9' * 4400} jours", "est trop lointaine (au plus 183 jours). Exemple :"),
        (f"/consent Adopter la charte {'9' * 4400}h", "est trop lointaine (au plus 183 jours)"),
        (f"/consent Adopter la charte 48h revue {'9' * 4400} mois", "est trop lointaine (au plus 10 ans)"),
        (f"/reunion tech tous les {'9' * 4400} jours 14h", "Rythme non compris"),
        (f"/reunion tech toutes les {'9' * 4400} semaines jeudi 14h", "Rythme non compris"),
        (f"/consent {NINES}", f"Aucun cycle de consentement n°{NINES}"),
        (f"/reunion deplacer {NINES} vendredi 14h", "Exemple : `/reunion deplacer 12 vendredi 14h`"),
        (f"/contrib annuler {NINES}", "Exemple : `/contrib annuler 12`"),
    ],
)
async def test_what_a_huge_number_is_told(chat: Chat, command: str, expected: str) -> None:
    reply = await chat(command)
    assert expected in reply, reply
    assert not reply.startswith(INTERNAL_PREFIX)


@pytest.mark.parametrize(
    "when",
    [
        f"le {NINES}/03",
        f"12/03/{NINES}",
        f"le 12/03/{NINES}",
        f"le {NINES} mars",
        "le 12 mars 20266",
        "le 123/03",
        "12.03.20266",
    ],
)
async def test_a_date_with_oversized_numbers_is_refused_not_described(chat: Chat, bot: Bot, when: str) -> None:
    """It used to become the description: « Description : le 999…/03 x », and the work dated today."""
    reply = await chat(f"/contrib 2h tech {when} Relecture")
    assert reply.startswith(f"Cette date n'existe pas : « {when} ». Exemples :"), reply
    async with bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Contribution)) == 0


@pytest.mark.parametrize(
    ("line", "description"),
    [
        ("/contrib 2h tech 100/200 pages relues", "100/200 pages relues"),
        ("/contrib 2h tech le 12 mars 3 tickets", "3 tickets"),
        ("/contrib 2h tech 1.2.3 mise à jour de Nextcloud", "1.2.3 mise à jour de Nextcloud"),  # a version number
        ("/contrib 2h tech 2.4.1 migration", "2.4.1 migration"),
        ("/contrib 2h tech 10-2-3 ateliers", "10-2-3 ateliers"),
    ],
)
async def test_numbers_of_the_description_stay_in_it(chat: Chat, line: str, description: str) -> None:
    reply = await chat(line)
    assert f"Description : {description}" in reply, reply


async def test_a_duration_just_within_the_bound_reaches_the_declaration_limit(chat: Chat) -> None:
    """Seven digits are read, and get the declaration's own answer (its maximum), not « démesurée »."""
    assert "c'est plus que le maximum" in await chat("/contrib 9999999h tech x")
    assert "Durée démesurée" in await chat("/contrib 99999999h tech x")


async def test_sub_cent_digits_beyond_decimal_precision_are_refused(chat: Chat, bot: Bot) -> None:
    """`1,0000000000000000000000000001 €` was rounded to exactly 1 € by Decimal's 28 digits, and stored."""
    reply = await chat("/contrib 250,0000000000000000000000000001€ formation Atelier")
    assert "Montant au centime près" in reply
    async with bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Contribution)) == 0


@pytest.mark.parametrize(
    ("euros", "cents"),
    [("250.50", 25050), ("1E+3", 100000), ("-3.00", -300), ("0E-10", 0), ("123456789.12", 12345678912)],
)
def test_euros_to_cents_is_exact(euros: str, cents: int) -> None:
    assert euros_to_cents(Decimal(euros)) == cents


@pytest.mark.parametrize("euros", ["1.000000000000000000000000000001", "0.001", "99999999999999999999999999999.999"])
def test_euros_to_cents_refuses_sub_cents_at_any_length(euros: str) -> None:
    with pytest.raises(ValueError):
        euros_to_cents(Decimal(euros))


# --- fuzzing: any number in any numeric slot ------------------------------------------------------------------

FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
numbers = st.one_of(
    st.integers(0, 10**40).map(str),
    st.integers(1, 5000).map(lambda digits: "9" * digits),
    st.tuples(st.integers(0, 10**30), st.integers(0, 10**40)).map(lambda n: f"{n[0]},{n[1]}"),
    st.integers(1, 60).map(lambda digits: "0" * digits + "1"),
)


@FUZZ
@given(template=st.sampled_from(TEMPLATES), number=numbers, sign=st.sampled_from(["", "-", "+"]))
async def test_any_number_in_any_slot(chat: Chat, template: str, number: str, sign: str) -> None:
    reply = await chat(template.format(n=sign + number))
    assert reply.strip()
    assert not reply.startswith(INTERNAL_PREFIX), (template, number, reply[:200])


def test_euros_to_cents_refuses_a_huge_exponent_before_computing() -> None:
    """`1e99999999` (a configuration string amount) raised decimal.Overflow, no ValueError; computed on the digits
    without a bound, it would build a 100-million-digit integer."""
    outcome: list[BaseException | int] = []

    def convert() -> None:
        try:
            outcome.append(euros_to_cents(Decimal("1e99999999")))
        except ValueError as error:
            outcome.append(error)

    worker = threading.Thread(target=convert, daemon=True)  # a daemon: on the old code, the test ends anyway
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive(), "euros_to_cents computed with a 100-million-digit number"
    assert outcome and isinstance(outcome[0], AmountTooLarge), outcome
    assert euros_to_cents(Decimal("999999999999999.99")) == 99999999999999999  # fifteen digits still are read

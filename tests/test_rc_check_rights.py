"""`chatbot check` names every account the configuration gives a right to and that Rocket.Chat does not know:
nobody has that right today, and whoever registers the name tomorrow would."""

from __future__ import annotations

from chatbot.messages import load_catalogue
from chatbot.transport.rocketchat.check import Level, run_checks
from tests.fakerc.fixtures import fake_rc  # noqa: F401
from tests.fakerc.server import FakeRocketChat
from tests.test_rc_check import settings_for, token_of

t = load_catalogue("fr")


async def test_a_right_given_to_no_account_is_a_problem(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    fake_rc.add_user("dominique")  # tech's meeting keeper exists; admin camille does not
    findings = await run_checks(settings_for(fake_rc), token_of(fake_rc), t)
    about = {f.text: f.level for f in findings if "camille" in f.text or "dominique" in f.text}
    assert about == {
        "« camille » (administrateur, associé) ne correspond à aucun compte Rocket.Chat : personne n'a ce droit "
        "aujourd'hui, et le premier qui créerait ce nom l'aurait. Corrigez le nom dans la configuration, ou "
        "retirez-le.": Level.FAIL,
        "Compte @dominique (trésorier, gardien des réunions du cercle tech) : trouvé.": Level.OK,
    }


async def test_every_right_holder_found(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    fake_rc.add_user("camille")
    fake_rc.add_user("dominique")
    findings = await run_checks(settings_for(fake_rc), token_of(fake_rc), t)
    accounts = [f for f in findings if f.text.startswith("Compte @")]
    assert [(f.level, f.text) for f in accounts] == [
        (Level.OK, "Compte @camille (administrateur, associé) : trouvé."),
        (Level.OK, "Compte @dominique (trésorier, gardien des réunions du cercle tech) : trouvé."),
        (Level.OK, "Compte @alice (associé) : trouvé."),  # the associés of [votes] (ballots of the associés)
        (Level.OK, "Compte @bob (associé) : trouvé."),
        (Level.OK, "Compte @carol (associé) : trouvé."),
    ]

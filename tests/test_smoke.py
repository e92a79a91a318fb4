from tests.conftest import Chat


async def test_declare_and_budget(chat: Chat) -> None:
    reply = await chat("/contrib 3h cercle-tech Mise à jour du wiki")
    assert "n°1" in reply
    assert "90 €" in reply
    assert "reste 2 910 € sur 3 000 €" in reply

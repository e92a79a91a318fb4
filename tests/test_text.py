"""Echoing member text: never a ping, never markup, the words still readable."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from chatbot.text import WORD_JOINER, chat_safe, fold, slug, visible, without_bidi_controls

# Rocket.Chat's server-side mention detection (MentionsParser, default UTF8_User_Names_Validation).
USER_MENTION = re.compile(r"(^|\s|>)@([0-9a-zA-Z\-_.]+)", re.MULTILINE)
CHANNEL_MENTION = re.compile(r"(^|\s|>)#([0-9a-zA-Z\-_.]+)", re.MULTILINE)
LOOKALIKES_BACK = str.maketrans({"∗": "*", "＿": "_", "∼": "~", "ˋ": "`", "＄": "$"})
MARKUP = re.compile(r"[*_~`$]")

risky = st.lists(
    st.sampled_from([*"@#*_~`$[]()<>|:!\\;= \n\tabcXYZ019éà/.-", "@all", "@here", "http://a.b/c_d"]),
    max_size=40,
).map("".join)


@given(st.one_of(risky, st.text(max_size=80)))
def test_no_ping_no_markup_same_words(text: str) -> None:
    safe = chat_safe(text)
    assert "\n" not in safe
    assert not USER_MENTION.search(safe)
    assert not CHANNEL_MENTION.search(safe)
    without_urls = re.sub(r"https?://\S+", "", safe)
    assert not MARKUP.search(without_urls)
    assert visible(safe).translate(LOOKALIKES_BACK) == " ".join(without_bidi_controls(text).split())


def test_examples() -> None:
    assert visible(chat_safe("Réunion avec @all\net *gras*")) == "Réunion avec @all et ∗gras∗"
    assert "@" + WORD_JOINER + "here" in chat_safe("@here")
    assert chat_safe("voir https://wiki.example/page_1") == WORD_JOINER + "voir https://wiki.example/page_1"
    assert visible(chat_safe("x" * 300, limit=50)) == "x" * 49 + "…"
    assert chat_safe("   ") == ""


def test_fold_and_slug() -> None:
    assert fold("Réunion") == fold("reunion") == "reunion"
    assert slug("#Vie Coopérative") == "vie-cooperative"
    assert slug("Santé au travail") == "sante-au-travail"

"""The words people read and type (issue 14 item 4): codes, Japanese and English names,
rank names resolved against a card, and the display language."""

import pickle

import pytest

from xl_pricing import load_card
from xl_pricing.vocabulary import (CONTRACTS, LOCATIONS, RANK_ALIASES, Said, both, code_for,
                                   lang_from_env, researcher_words, say, set_lang, words_of)


@pytest.mark.parametrize("text, code", [
    ("共同研究", "joint"), ("受託研究", "sponsored"), ("学術指導", "consulting"),
    ("受託研究 / sponsored research", "sponsored"), ("Sponsored Research", "sponsored"),
    (" sponsored ", "sponsored"), ("共同開発", None), ("", None)])
def test_contract_names(text, code):
    assert code_for(text, CONTRACTS) == code


def test_location_names():
    assert (code_for("学内", LOCATIONS), code_for("学外", LOCATIONS)) == ("on", "off")


@pytest.mark.parametrize("typed, code", [
    ("professor", "professor"),                 # the code
    ("教授", "professor"),                      # label_ja
    ("Professor", "professor"), ("PROFESSOR", "professor"),   # label_en, any case
    ("准教授", "associate_professor"), ("講師", "lecturer"), ("助教", "assistant_professor"),
    ("ポスドク", "postdoc"), ("博士研究員", "postdoc"),      # an alias and the label
    ("博士課程", "doctoral_student"),            # alias; the card's label is 博士課程学生
    ("博士課程学生", "doctoral_student"),
    ("教授 / Professor", "professor"),           # the workbooks' drop-down entry
    ("博士研究員 / Postdoctoral researcher", "postdoc"), ("教授 / Prof", None),
    ("助手", None),            # an alias of a rank jp-default does not have: not guessed
    ("学長", None), ("professor\x00", None), ("professor\x0b", None)])
def test_rank_names_resolve_against_the_card(typed, code):
    assert load_card("jp-default").rank_code(typed) == code


def test_an_unknown_rank_is_refused_listing_the_codes():
    from xl_pricing import InputError
    with pytest.raises(InputError, match="a rank of card 'jp-default': professor, "):
        load_card("jp-default").rank("学長")
    assert load_card("jp-default").rank("教授").hourly == 30000


@pytest.mark.parametrize("typed, code", [
    ("data_provision", "data_provision"), ("データ提供", "data_provision"),
    ("DATA PROVISION", "data_provision"), ("データ提供 / Data provision", "data_provision"),
    ("知的財産の共有 / IP co-ownership", "ip_co_ownership"), ("data*", None), ("", None)])
def test_option_names_resolve_against_the_card(typed, code):
    assert load_card("jp-default").option_code(typed) == code


def test_an_option_chosen_by_its_entry_prices_as_its_id():
    # jp-default's data_provision: a fixed 500,000 yen
    from conftest import make
    from xl_pricing import quote
    jp = load_card("jp-default")
    p = make(project={"approach": "A"}, options=[{"name": "データ提供 / Data provision"}])
    assert [int(ln.amount) for ln in quote(p, jp).lines if ln.component == "option"] == \
        [500_000]


def test_words_of_bases_bounds_and_partners_are_read_as_codes():
    from xl_pricing.project import Researcher, TaxIntent
    r = Researcher(rate_source="日額単価 / day rate", day_rate="cambridge-postdoc",
                   day_rate_bound="上限 / maximum", days=1)
    assert (r.rate_source, r.day_rate_bound) == ("day_rate", "max")
    r = Researcher(rate_source="achievement", achievement_basis="論文数 / publications",
                   publications=60, hours=1)
    assert r.achievement_basis == "publications"
    assert TaxIntent(partner="研究開発型ベンチャー / R&D startup").partner == "startup"
    assert TaxIntent(partner="friend").partner == "friend"   # left for the card to refuse


def test_every_alias_names_a_code_not_a_label():
    assert all(code.isascii() and code == code.lower() for code in RANK_ALIASES.values())


def test_display_language():
    try:
        set_lang("ja")
        assert say("合計", "Total") == "合計 / Total"
        set_lang("en")
        assert say("合計", "Total") == "Total"
    finally:
        set_lang("ja")


def test_language_from_option_env_and_locale(monkeypatch):
    monkeypatch.delenv("XLP_LANG", raising=False)
    assert lang_from_env(None) == "ja"                        # the default
    monkeypatch.setenv("XLP_LANG", "en_US.UTF-8")
    assert lang_from_env(None) == "en"
    assert lang_from_env("ja") == "ja"                        # the option wins


def test_a_said_message_is_its_english_and_carries_its_japanese():
    w = Said("researcher 1 (Prof. Sato): below", "研究者 1 (Prof. Sato): 下回る")
    assert w == "researcher 1 (Prof. Sato): below" and w.ja.startswith("研究者 1")
    back = pickle.loads(pickle.dumps(w))       # batch workers send quotes between processes
    assert isinstance(back, Said) and back.ja == w.ja and back == w
    try:
        set_lang("ja")
        assert words_of(w) == "研究者 1 (Prof. Sato): 下回る / researcher 1 (Prof. Sato): below"
        set_lang("en")
        assert words_of(w) == "researcher 1 (Prof. Sato): below"
        assert words_of("plain") == "plain"
    finally:
        set_lang("ja")


def test_researchers_are_named_from_1():
    assert both(researcher_words(1, "Prof. Sato")) == \
        "研究者 1 (Prof. Sato) / researcher 1 (Prof. Sato)"
    assert both(researcher_words(2)) == "研究者 2 / researcher 2"

"""Rate cards: the handbook's F&A tables, lookups, hashing, inheritance, locations."""

import shutil
from datetime import date
from decimal import Decimal

import pytest

from conftest import RATES
from xl_pricing import InputError, load_card
from xl_pricing.rates import resolve_card, shipped_cards

# Handbook fig. 8, exactly: (card, activity, location, rate)
US_FA = [
    ("harvard", "research", "on", "0.69"), ("harvard", "research", "off", "0.26"),
    ("harvard", "other", "on", "0.34"),
    ("yale", "research", "on", "0.67"), ("yale", "research", "off", "0.26"),
    ("yale", "instruction", "on", "0.69"), ("yale", "instruction", "off", "0.26"),
    ("stanford", "research", "on", "0.57"), ("stanford", "instruction", "on", "0.35"),
    ("stanford", "other", "on", "0.35"),
    *[("mit", a, l, "0.547") for a in ("research", "instruction", "other") for l in ("on", "off")],
    ("princeton", "research", "on", "0.62"), ("princeton", "research", "off", "0.26"),
]


@pytest.mark.parametrize("card_id,activity,location,rate", US_FA)
def test_us_fa_tables_from_the_handbook(card_id, activity, location, rate):
    assert load_card(card_id).fa_rate(activity, location).rate == Decimal(rate)


def test_princeton_on_campus_is_facilities_plus_administrative():
    row = load_card("princeton").fa_rate("research", "on")
    assert row.components == {"facilities": Decimal("0.36"), "administrative": Decimal("0.26")}


@pytest.mark.parametrize("card_id,activity,location", [
    ("stanford", "research", "off"), ("harvard", "instruction", "on"),
    ("princeton", "other", "on")])
def test_rates_a_card_does_not_publish_are_errors_not_guesses(card_id, activity, location):
    with pytest.raises(InputError, match=f"{activity}/{location}.*it has:"):
        load_card(card_id).fa_rate(activity, location)


def test_default_card_has_fa_for_every_activity_and_location(jp):
    for a in ("research", "instruction", "other"):
        for l in ("on", "off"):
            assert jp.fa_rate(a, l).rate > 0


def test_default_card_handbook_figures(jp):
    m = jp.model
    assert m.indirect.rate == Decimal("0.30")
    assert m.time_charge.consulting_rate == 50_000
    assert m.tax_credit.rate == Decimal("0.30")
    assert jp.rounding.rule == "down" and jp.rounding.unit == 1
    assert m.time_charge.exchange_rates["GBP"] == 160


def test_field_specific_and_dated_fa_rates(full):
    assert full.fa_rate("research", "on", None, date(2027, 4, 1)).rate == Decimal("0.30")
    assert full.fa_rate("research", "on", None, date(2028, 4, 1)).rate == Decimal("0.32")
    assert full.fa_rate("research", "on", "natural_sciences", date(2028, 4, 1)).rate \
        == Decimal("0.40")  # an exact field row wins over a later general row
    assert full.fa_rate("research", "on", "humanities").rate == Decimal("0.20")
    assert full.fa_rate("research", "on", "law").rate == Decimal("0.30")  # no law row
    with pytest.raises(InputError, match="in force on 2025-04-01"):
        full.fa_rate("research", "on", None, date(2025, 4, 1))


def test_lookups_name_what_the_card_has(jp):
    with pytest.raises(InputError, match="professor, associate_professor"):
        jp.rank("dean")
    with pytest.raises(InputError, match="cambridge-professor"):
        jp.day_rate("oxford")
    with pytest.raises(InputError, match="ip_co_ownership"):
        jp.option("free_lunch")
    assert jp.achievement_rate("citations", 2400).hourly == 50_000
    assert jp.achievement_rate("citations", 999).hourly == 20_000
    assert jp.achievement_rate("publications", 150).hourly == 80_000
    assert jp.tax_rate("startup") == Decimal("0.25")
    assert jp.tax_rate("company") == Decimal("0.20")


def test_indirect_rate_by_contract(full):
    assert full.indirect_rate("consulting") == Decimal("0.10")
    assert full.indirect_rate("joint") == Decimal("0.30")


def test_sha256_ignores_comments_and_number_spelling(tmp_path):
    text = (RATES / "jp-default.toml").read_text(encoding="utf-8")
    stripped = "\n".join(line.split("#")[0].rstrip() for line in text.splitlines())
    stripped = stripped.replace("rate = 0.30", "rate = 0.3").replace("1860", "1_860")
    (tmp_path / "a.toml").write_text(stripped, encoding="utf-8")
    assert load_card(tmp_path / "a.toml").sha256 == load_card("jp-default").sha256
    (tmp_path / "b.toml").write_text(stripped.replace("consulting_rate = 50000",
                                                      "consulting_rate = 50001"), "utf-8")
    assert load_card(tmp_path / "b.toml").sha256 != load_card("jp-default").sha256


def test_extends_merges_tables_and_replaces_arrays():
    mit = load_card("mit")
    assert mit.model.card.extends == "jp-default"
    assert mit.model.time_charge.consulting_rate == 50_000       # inherited
    assert mit.model.fa.base == "mtdc"                           # overridden
    assert len(mit.model.fa.rates) == 6                          # replaced, not appended
    assert mit.sha256 != load_card("jp-default").sha256


def test_circular_extends_is_an_error(tmp_path):
    (tmp_path / "a.toml").write_text('[card]\nid="a"\nextends="b.toml"\n', "utf-8")
    (tmp_path / "b.toml").write_text('[card]\nid="b"\nextends="a.toml"\n', "utf-8")
    with pytest.raises(InputError, match="circular"):
        load_card(tmp_path / "a.toml")


def test_cards_found_by_id_in_xl_pricing_rates(tmp_path, monkeypatch):
    text = (RATES / "jp-default.toml").read_text(encoding="utf-8")
    (tmp_path / "my-uni.toml").write_text(text.replace('id = "jp-default"', 'id = "my-uni"'),
                                          "utf-8")
    monkeypatch.setenv("XL_PRICING_RATES", str(tmp_path))
    assert load_card("my-uni").id == "my-uni"
    assert load_card("harvard").id == "harvard"     # shipped cards still found
    with pytest.raises(InputError, match=r"XL_PRICING_RATES"):
        load_card("nowhere")


def test_default_and_shipped_cards():
    assert resolve_card(None).name == "jp-default.toml"
    assert {"jp-default", "harvard", "yale", "stanford", "mit", "princeton",
            "full-features"} <= set(shipped_cards())
    for cid in shipped_cards():
        assert load_card(cid).id == cid


def test_edited_card_is_reloaded(tmp_path, monkeypatch):
    import xl_pricing.rates as rates
    monkeypatch.setattr(rates, "_STAT_EVERY", 0.0)  # look at the file on every call
    p = tmp_path / "c.toml"
    shutil.copy(RATES / "jp-default.toml", p)
    first = load_card(p).sha256
    p.write_text(p.read_text("utf-8").replace("consulting_rate = 50000",
                                              "consulting_rate = 123456"), "utf-8")
    assert load_card(p).sha256 != first
    assert load_card(p).model.time_charge.consulting_rate == 123_456

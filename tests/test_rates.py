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


def test_edited_card_is_reloaded(tmp_path):
    p = tmp_path / "c.toml"
    shutil.copy(RATES / "jp-default.toml", p)
    first = load_card(p).sha256
    p.write_text(p.read_text("utf-8").replace("consulting_rate = 50000",
                                              "consulting_rate = 123456"), "utf-8")
    assert load_card(p).sha256 != first
    assert load_card(p).model.time_charge.consulting_rate == 123_456


# -- one cache, checked on every lookup (issue 13 item 4) -----------------------------------

def _jp_text() -> str:
    return (RATES / "jp-default.toml").read_text(encoding="utf-8")


def test_a_card_dropped_into_xl_pricing_rates_replaces_the_shipped_one(tmp_path, monkeypatch):
    """Old code: load_card("jp-default") kept returning the shipped card (a per-reference
    cache) while resolve_card already named the new file."""
    shipped = load_card("jp-default")
    assert shipped.model.time_charge.consulting_rate == 50_000
    monkeypatch.setenv("XL_PRICING_RATES", str(tmp_path))
    (tmp_path / "jp-default.toml").write_text(
        _jp_text().replace("consulting_rate = 50000", "consulting_rate = 77777"), "utf-8")
    assert resolve_card("jp-default") == tmp_path / "jp-default.toml"
    assert load_card("jp-default").model.time_charge.consulting_rate == 77_777
    assert load_card(None).model.time_charge.consulting_rate == 77_777   # the default too
    monkeypatch.delenv("XL_PRICING_RATES")
    assert load_card("jp-default").sha256 == shipped.sha256


def test_the_cache_is_one_table_without_timers():
    import xl_pricing.rates as rates
    from xl_pricing.rates import loading
    for gone in ("checked_card", "_checked", "_STAT_EVERY", "_resolved", "_load_cached"):
        assert not hasattr(rates, gone) and not hasattr(loading, gone), gone
    assert load_card("yale") is load_card("yale")          # parsed once, then cached


def test_rates_is_a_package_of_schema_card_and_loading():
    from xl_pricing.rates import card, loading, schema
    assert schema.RateCardModel is __import__("xl_pricing.rates").rates.RateCardModel
    assert card.RateCard.__module__ == "xl_pricing.rates.card"
    assert loading.load_card.__module__ == "xl_pricing.rates.loading"


# -- cards named by id only (xlwings Server, issue 12 item 1) ---------------------------------

from xl_pricing.rates import load_card_id  # noqa: E402


@pytest.mark.parametrize("ref", [
    "/etc/passwd", "../../etc/passwd", "..", "a/b", "a\\b", "jp-default.toml",
    "harvard.JSON", "/dev/zero", "C:\\x.toml", ".hidden", "-x", "x" * 65, "", "  ", 3.0,
    True, "jp default", "jp-default\n"])
def test_load_card_id_refuses_anything_but_an_id(ref):
    if isinstance(ref, str) and not ref.strip():
        assert load_card_id(ref).id == "jp-default"             # blank: the default
        return
    if ref == "jp-default\n":
        assert load_card_id(ref).id == "jp-default"             # surrounding space is trimmed
        return
    with pytest.raises(InputError, match="card = .*expected a card id"):
        load_card_id(ref)


def test_load_card_id_finds_configured_and_shipped_cards(tmp_path, monkeypatch):
    monkeypatch.setenv("XL_PRICING_RATES", str(tmp_path))
    (tmp_path / "my-uni.toml").write_text(_jp_text().replace('id = "jp-default"',
                                                             'id = "my-uni"'), "utf-8")
    assert load_card_id("my-uni").id == "my-uni"
    assert load_card_id("mit").id == "mit"
    with pytest.raises(InputError, match="my-uni") as e:
        load_card_id("nowhere")
    assert str(tmp_path) not in str(e.value)                   # no folder shown to callers


def test_an_invalid_card_by_id_quotes_nothing_from_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XL_PRICING_RATES", str(tmp_path))
    (tmp_path / "leak.toml").write_text('[card]\nid = "leak"\nsecret_key = "hunter2-SECRET"\n'
                                        'password = 424242\n', "utf-8")
    (tmp_path / "syntax.toml").write_text('token = "hunter2-SECRET\n', "utf-8")
    for cid in ("leak", "syntax"):
        with pytest.raises(InputError) as e:
            load_card_id(cid)
        text = str(e.value)
        assert text.startswith(f"card = '{cid}': expected a valid rate card"), text
        for secret in ("hunter2", "SECRET", "secret_key", "424242", "password", str(tmp_path)):
            assert secret not in text
    with pytest.raises(InputError, match="hunter2"):            # a path (CLI) still explains
        load_card(tmp_path / "leak.toml")


# -- size limits and non-regular files -------------------------------------------------------

def test_a_card_over_one_mib_is_refused_before_parsing(tmp_path):
    p = tmp_path / "big.toml"
    p.write_text(_jp_text() + "\n# " + "x" * (1024 * 1024) + "\n", "utf-8")
    with pytest.raises(InputError, match="at most 1,048,576 bytes"):
        load_card(p)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_is_refused_without_reading(device, tmp_path, monkeypatch):
    """Old code: read /dev/zero until the kernel killed the process."""
    link = tmp_path / "zero.toml"
    link.symlink_to(device)
    with pytest.raises(InputError, match="a regular file"):
        load_card(link)
    monkeypatch.setenv("XL_PRICING_RATES", str(tmp_path))
    with pytest.raises(InputError, match="card = 'zero'"):      # is_file() is False
        load_card_id("zero")


def test_a_fifo_and_a_directory_are_refused(tmp_path):
    import os
    fifo = tmp_path / "f.toml"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="a regular file"):
        load_card(fifo)                                        # no writer: must not block
    d = tmp_path / "d.toml"
    d.mkdir()
    with pytest.raises(InputError, match="not a directory"):
        load_card(d)


# -- the rank rule lives in the card's lookups (issue 12 item 8) ------------------------------

def test_salary_only_rank_has_no_rank_table_rate():
    full = load_card("full-features")
    assert full.model.time_charge.ranks["associate_professor"].hourly is None
    with pytest.raises(InputError, match="rate_source = 'rank': expected 'salary'"):
        full.rank_hourly("associate_professor")
    assert load_card("jp-default").rank_hourly("professor") == 30_000


def test_validate_value_uses_the_card_schema():
    from xl_pricing.rates import Fraction, Hours2, validate_value
    assert validate_value(Fraction, Decimal("0.547"), "rate") == Decimal("0.547")
    with pytest.raises(InputError, match="rate = 30: expected a number <= 5"):
        validate_value(Fraction, Decimal(30), "rate")
    with pytest.raises(InputError, match="at most 4 decimal places"):
        validate_value(Fraction, Decimal("0.12345"), "rate")
    with pytest.raises(InputError, match="annual_hours = 0: expected a number > 0"):
        validate_value(Hours2, Decimal(0), "annual_hours")


# -- conditional rates (issue 16): the card's lookups ---------------------------------------

def _facts(direct=1_000_000, location="on", contract="joint", kind=None,
           start=date(2027, 4, 1), end=date(2028, 3, 31), months=12):
    from xl_pricing.rates.card import Facts
    return Facts(Decimal(direct), months, location, contract, kind, start, end)


def test_rate_for_checks_cases_in_order_then_by_contract_then_rate(full):
    from xl_pricing.rates import deep_merge, parse_card, read_card_document
    data = deep_merge(read_card_document(RATES / "full-features.toml"), {"indirect": {"cases": [
        {"rate": 0.08, "when": {"direct_at_most": 1_000_000}},
        {"rate": 0.05, "when": {"direct_at_most": 500_000}}]}})    # never reached first
    card = parse_card(data, "t.toml")
    assert card.rate_for("indirect", _facts(400_000)) == (
        Decimal("0.08"), "indirect.cases[0] (direct ≤ 1,000,000 yen)")
    assert card.rate_for("indirect", _facts(2_000_000, contract="consulting")) == (
        Decimal("0.10"), "indirect.by_contract.consulting")
    assert card.rate_for("indirect", _facts(2_000_000)) == (Decimal("0.30"), "indirect.rate")
    # resolved for one project: same provenance, the plain rate replaced, the case named
    resolved = card.for_project(_facts(400_000))
    assert resolved.sha256 == card.sha256 and resolved.model.indirect.rate == Decimal("0.08")
    assert resolved.chosen_by("indirect") == " (indirect.cases[0] (direct ≤ 1,000,000 yen))"
    assert full.for_project(_facts()) is full                  # no cases: the card itself


def test_rates_over_splits_a_year_at_each_case_date():
    from xl_pricing.rates import deep_merge, parse_card, read_card_document
    data = deep_merge(read_card_document(RATES / "jp-default.toml"), {
        "rate_change": {"method": "blend_by_days"},
        "indirect": {"rate": 0.35, "cases": [{"rate": 0.30,
                                              "when": {"start_before": "2027-07-01"}}]}})
    card = parse_card(data, "t.toml")
    got = card.rates_over("indirect", _facts(), date(2027, 4, 1), date(2028, 3, 31))
    # April–June 2027: 30 + 31 + 30 = 91 days; July 2027 – March 2028: 275 days (leap Feb)
    assert [(c.rate, c.days) for c in got] == [(Decimal("0.30"), 91), (Decimal("0.35"), 275)]

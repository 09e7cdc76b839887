import json
import os
from datetime import date

import pytest

from conftest import EXAMPLES, make
from xl_pricing import InputError, load_card, load_project, quote
from xl_pricing.project import fiscal_year, months_by_fiscal_year


def test_fiscal_years_run_april_to_march():
    assert fiscal_year(date(2027, 4, 1)) == 2027
    assert fiscal_year(date(2028, 3, 31)) == 2027
    assert months_by_fiscal_year(date(2027, 4, 1), date(2028, 3, 31)) == {2027: 12}
    assert months_by_fiscal_year(date(2027, 10, 1), date(2029, 9, 30)) == \
        {2027: 6, 2028: 12, 2029: 6}
    assert months_by_fiscal_year(date(2027, 5, 15), date(2027, 5, 20)) == {2027: 1}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_has_a_comment_saying_what_it_demonstrates(path):
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# ") and len(first) > 20


def test_examples_cover_every_approach():
    approaches = {load_project(p).project.approach for p in EXAMPLES}
    assert approaches == {"X", "A", "B", "C"}
    assert len(EXAMPLES) >= 4


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, date):
        return obj.isoformat()
    return obj


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_json_project_prices_like_toml(path, tmp_path):
    import tomllib
    data = _jsonable(tomllib.loads(path.read_text(encoding="utf-8")))
    j = tmp_path / (path.stem + ".json")
    j.write_text(json.dumps(data), encoding="utf-8")
    card = load_card()
    assert quote(load_project(j), card).total == quote(load_project(path), card).total


def test_approach_names_are_accepted():
    assert make(project={"approach": "stacked"}).project.approach == "A"
    assert make(project={"approach": "x"}).project.approach == "X"


def test_options_as_names_or_tables():
    p = make(options=["know_how", {"name": "data_provision", "amount": 300_000}])
    assert [o.name for o in p.options] == ["know_how", "data_provision"]
    assert p.options[1].amount == 300_000


def test_errors_name_the_key_path():
    with pytest.raises(InputError) as e:
        make(researchers=[{"rank": "professor", "hours": -5}])
    assert "researchers[0].hours = -5" in str(e.value)
    with pytest.raises(InputError, match=r"project.end = '2026-01-01': expected a date on or after start"):
        make(project={"end": "2026-01-01"})
    with pytest.raises(InputError, match=r"direct\[0\]\.fiscal_year = 2031"):
        make(direct=[{"category": "x", "amount": 1, "fiscal_year": 2031}])


def test_absurd_amounts_are_refused_clearly():
    with pytest.raises(InputError, match=r"direct\[0\]\.amount = '1e30': expected a number <= "
                                         r"1000000000000000"):
        make(direct=[{"category": "x", "amount": "1e30"}])


@pytest.mark.parametrize("sections, where", [
    ({"project": {"escalation": 10**30}}, r"project\.escalation = 1000000000000000000000000000000: "
                                          r"expected a number <= 5"),
    ({"project": {"escalation": 1e300}},
     r"project\.escalation = 1e\+300: expected a number <= 5"),
    ({"outcome": {"royalty_rate": 10**30}}, r"outcome\.royalty_rate = 1000.*: expected a "
                                            r"number <= 5"),
    ({"contributions": [{"kind": "researcher_hours", "hours": 10**30}]},
     r"contributions\[0\]\.hours = 1000.*: expected a number <= 100000"),
], ids=["escalation-int", "escalation-float", "royalty", "contribution-hours"])
def test_huge_numbers_in_decimal_place_checked_fields_are_refused_clearly(sections, where):
    """A value wider than Decimal's default precision used to overflow the decimal-places
    check (an internal error); it gets the field's own range message now."""
    with pytest.raises(InputError, match=where):
        make(**sections)


# -- loading: what cannot be a project file is refused before it is read ----------------------

from xl_pricing.tomlio import PROJECT_LIMIT as MAX_FILE_BYTES  # noqa: E402

X = EXAMPLES[0].parent / "x-cost-joint.toml"


def test_a_project_file_over_one_mebibyte_is_refused_unread(tmp_path):
    big = tmp_path / "big.toml"
    big.write_text(X.read_text(encoding="utf-8") + "# " + "x" * MAX_FILE_BYTES + "\n",
                   encoding="utf-8")
    with pytest.raises(InputError, match=r"big.toml: file = '.*big.toml': expected a file "
                                         r"of at most 1,048,576 bytes"):
        load_project(big)


def test_exactly_the_limit_is_still_read(tmp_path):
    text = X.read_text(encoding="utf-8")
    path = tmp_path / "edge.toml"
    path.write_text(text + "#" * (MAX_FILE_BYTES - len(text.encode()) - 1) + "\n",
                    encoding="utf-8")
    assert path.stat().st_size == MAX_FILE_BYTES
    assert load_project(path).project.id == "X-2027-001"


def test_a_device_behind_a_project_name_is_refused_unread(tmp_path):
    (tmp_path / "zero.toml").symlink_to("/dev/zero")  # reading it would never end
    with pytest.raises(InputError, match="expected a regular file"):
        load_project(tmp_path / "zero.toml")


def test_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.json")  # opening it for reading would wait for a writer
    with pytest.raises(InputError, match="expected a regular file"):
        load_project(tmp_path / "pipe.json")


@pytest.mark.parametrize("name, text", [
    ("deep.json", "[" * 100_000 + "]" * 100_000),
    ("deep-key.json", '{"project": ' + '{"a": ' * 50_000 + "1" + "}" * 50_001),
    ("deep.toml", "a = " + "[" * 5_000 + "]" * 5_000 + "\n"),
    ("deep-inline.toml", "a = " + "{b = " * 3_000 + "1" + "}" * 3_000 + "\n"),
], ids=["json-lists", "json-tables", "toml-arrays", "toml-inline-tables"])
def test_deep_nesting_is_an_input_error_not_a_crash(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="nested at most 32 levels deep") as err:
        load_project(path)
    assert err.value.source == str(path)


# -- issue 14: Japanese names, months within the period ------------------------------------

def test_japanese_names_are_the_codes():
    p = make(project={"contract": "受託研究", "location": "学外", "activity": "研究",
                      "approach": "A 欧米型積み上げ方式"},
             researchers=[{"rank": "教授", "rate_source": "職位別単価", "hours": 10}])
    assert (p.project.contract, p.project.location, p.project.activity,
            p.project.approach) == ("sponsored", "off", "research", "A")
    assert p.researchers[0].rate_source == "rank"
    for typed in ("受託研究 / sponsored research", "Sponsored research", "sponsored"):
        assert make(project={"contract": typed}).project.contract == "sponsored"


def test_a_rank_typed_in_japanese_prices_as_its_code(jp):
    # 教授 = professor on jp-default: 30,000 yen/h × 10 h = 300,000 (rank table)
    coded = quote(make(researchers=[{"rank": "professor", "hours": 10}]), jp)
    named = quote(make(researchers=[{"rank": "教授", "hours": 10}]), jp)
    assert named.total == coded.total and named.lines == coded.lines
    tc = [ln for ln in named.lines if ln.component == "time_charge"][0]
    assert tc.amount == 300_000 and tc.detail == "professor"   # the code, as JSON keeps it
    # 博士課程 is the alias people type; the card's label is 博士課程学生 (5,000 yen/h)
    phd = quote(make(researchers=[{"rank": "博士課程", "hours": 10}]), jp)
    assert [ln.amount for ln in phd.lines if ln.component == "time_charge"] == [50_000]


def test_an_unknown_name_is_refused_with_the_codes():
    with pytest.raises(InputError, match=r"project.contract = '共同開発': expected one of "
                                         r"'joint', 'sponsored' or 'consulting'"):
        make(project={"contract": "共同開発"})


def test_months_beyond_the_period_are_refused():
    # 2027-04-01 – 2028-03-31 is 12 months: 24 months × 10% effort would be 1,860 × 0.1 × 2
    # = 372 h of a year that has only 12 months of project
    with pytest.raises(InputError) as e:
        make(researchers=[{"rank": "professor", "months": 24, "effort": 0.1}])
    assert e.value.message == ("test: researchers[0].months = 24: expected months within "
                               "the project period 2027-04-01 – 2028-03-31 (12 months)")
    ok = make(researchers=[{"rank": "professor", "months": 12, "effort": 0.1}])
    assert ok.researchers[0].months == 12
    # a partly covered month counts: 2027-04-15 – 2027-06-10 touches 3 months
    short = {"start": "2027-04-15", "end": "2027-06-10"}
    assert make(project=short, researchers=[{"rank": "professor", "months": 3,
                                             "effort": 1}]).researchers[0].months == 3
    with pytest.raises(InputError, match=r"researchers\[0\]\.months = 3\.5: .*\(3 months\)"):
        make(project=short, researchers=[{"rank": "professor", "months": 3.5, "effort": 1}])

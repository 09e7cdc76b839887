"""The xl-pricing command on every shipped example and card."""

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from conftest import EXAMPLES, RATES
from xl_pricing import load_card, load_project, quote
from xl_pricing.cli import app

runner = CliRunner()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_quote_table_on_every_example(path):
    res = runner.invoke(app, ["quote", str(path)])
    assert res.exit_code == 0, res.output
    total = quote(load_project(path), load_card()).total
    assert f"¥{int(total):,}" in res.output
    assert "jp-default" in res.output


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("card", ["jp-default", "full-features", "mit"])
def test_quote_json_contract(path, card):
    res = runner.invoke(app, ["quote", str(path), "--rates", card, "--json"])
    if res.exit_code == 2:       # a card may lack a rate the project needs: a clean error
        assert "error:" in res.output
        return
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert isinstance(d["total"], int)
    assert d["total"] == sum(line["amount"] for line in d["lines"])
    assert all(isinstance(line["amount"], int) and line["component"] for line in d["lines"])
    c = load_card(card)
    assert d["rate_card"] == {"id": c.id, "version": c.version, "sha256": c.sha256}
    assert d["total"] == int(quote(load_project(path), c).total)


def test_quote_json_extras():
    d = json.loads(runner.invoke(app, ["quote", str(EXAMPLES[2]), "--json"]).stdout)
    assert d["approach"] == "B" and d["implied_indirect_ratio"] == 1.0
    assert d["tax_credit"]["credit"] == 3_000_000          # 30% of 10,000,000
    assert sum(d["allocation"]["by_party"].values()) == d["total"]


def test_compare_table_and_json():
    c_proj = [p for p in EXAMPLES if p.stem.startswith("c-")][0]
    res = runner.invoke(app, ["compare", str(c_proj)])
    assert res.exit_code == 0 and "¥12,475,000" in res.output and "◀" in res.output
    d = json.loads(runner.invoke(app, ["compare", str(c_proj), "--json"]).stdout)
    assert [a["approach"] for a in d["approaches"]] == ["X", "A", "C"]


def test_backsolve_command():
    a = [p for p in EXAMPLES if p.stem == "a-stacked-sponsored"][0]
    d = json.loads(runner.invoke(app, ["backsolve", str(a), "--target", "20,000,000",
                                       "--json"]).stdout)
    assert d["total"] <= 20_000_000 and d["total"] + d["residual"] == 20_000_000


def test_rates_commands():
    res = runner.invoke(app, ["rates", "check", *[str(p) for p in sorted(RATES.glob("*.toml"))]])
    assert res.exit_code == 0 and res.output.count("ok ") == len(list(RATES.glob("*.toml")))
    assert runner.invoke(app, ["rates", "check", "harvard"]).exit_code == 0
    show = runner.invoke(app, ["rates", "show", "princeton"])
    assert show.exit_code == 0 and "62%" in show.output and "26%" in show.output
    schema = json.loads(runner.invoke(app, ["rates", "schema"]).stdout)
    assert {"card", "indirect", "time_charge", "fa"} <= set(schema["properties"])
    pschema = json.loads(runner.invoke(app, ["project", "schema"]).stdout)
    assert "researchers" in pschema["properties"]
    assert "jp-default" in runner.invoke(app, ["rates", "list"]).output


def test_project_check():
    res = runner.invoke(app, ["project", "check", *map(str, EXAMPLES)])
    assert res.exit_code == 0 and res.output.count("ok ") == len(EXAMPLES)


def test_console_script_end_to_end(tmp_path):
    out = subprocess.run([sys.executable, "-m", "xl_pricing", "quote", str(EXAMPLES[0]),
                          "--json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["total"] > 0
    bad = subprocess.run([sys.executable, "-m", "xl_pricing", "quote",
                          str(tmp_path / "missing.toml")], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "missing.toml" in bad.stderr


def test_excel_setup_prints_and_merges_config(tmp_path):
    res = runner.invoke(app, ["excel", "setup", "--platform", "win"])
    assert res.exit_code == 0
    assert '"UDF MODULES","xl_pricing.udfs"' in res.output
    assert f'"INTERPRETER_WIN","{sys.executable}"' in res.output
    conf = tmp_path / "xlwings.conf"
    conf.write_text('"UDF MODULES","old_module"\n"DEBUG UDFS","False"\n', encoding="utf-8")
    res = runner.invoke(app, ["excel", "setup", "--write", "--config-file", str(conf),
                              "--rates-dir", str(tmp_path), "--platform", "mac"])
    assert res.exit_code == 0, res.output
    lines = conf.read_text("utf-8").splitlines()
    assert '"DEBUG UDFS","False"' in lines                       # other settings kept
    assert '"UDF MODULES","xl_pricing.udfs"' in lines and '"UDF MODULES","old_module"' \
        not in lines
    assert f'"XL_PRICING_RATES","{tmp_path.resolve()}"' in lines
    assert (tmp_path / "xlwings.conf.bak").read_text("utf-8").startswith('"UDF MODULES","old')
    bad = runner.invoke(app, ["excel", "setup", "--rates-dir", str(tmp_path / "none")])
    assert bad.exit_code == 2 and "--rates-dir" in bad.output


def test_excel_serve_needs_a_licence_key(monkeypatch):
    monkeypatch.delenv("XLWINGS_LICENSE_KEY", raising=False)
    res = runner.invoke(app, ["excel", "serve"])
    assert res.exit_code == 2 and "noncommercial" in res.output


def test_udfs_read_rates_folder_from_xlwings_conf(tmp_path, monkeypatch):
    import xlwings
    import xlwings.utils

    from xl_pricing import udfs
    text = (RATES / "jp-default.toml").read_text("utf-8")
    (tmp_path / "cards").mkdir()
    (tmp_path / "cards" / "my-uni.toml").write_text(
        text.replace('id = "jp-default"', 'id = "my-uni"').replace(
            "consulting_rate = 50000", "consulting_rate = 20000"), "utf-8")
    conf = tmp_path / "xlwings.conf"
    conf.write_text(f'"XL_PRICING_RATES","{tmp_path / "cards"}"\n', "utf-8")
    monkeypatch.delenv("XL_PRICING_RATES", raising=False)
    monkeypatch.setattr(xlwings, "USER_CONFIG_FILE", str(conf))
    monkeypatch.setattr(udfs, "_conf_read", False)
    assert udfs.XLP_CARD("my-uni")[0] == ["id", "my-uni"]
    assert os.environ["XL_PRICING_RATES"] == str(tmp_path / "cards")


# -- pdf: inputs never outputs, bounded work (issue 12 items 4 and 9) ---------------------------

import time  # noqa: E402
from pathlib import Path  # noqa: E402

import openpyxl  # noqa: E402
import typer  # noqa: E402

from xl_pricing.cli import handles_input_errors  # noqa: E402

X_PROJECT = EXAMPLES[0].parent / "x-cost-joint.toml"


def _native(tmp_path: Path) -> Path:
    res = runner.invoke(app, ["build", "--project", str(X_PROJECT), "--target", "native",
                              "--out", str(tmp_path / "built")])
    assert res.exit_code == 0, res.output
    return Path(res.stdout.strip())


def test_pdf_refuses_to_write_over_its_workbook_in_any_spelling(tmp_path, monkeypatch):
    book = _native(tmp_path)
    monkeypatch.chdir(book.parent)
    Path("link.xlsx").symlink_to(book.name)
    os.link(book.name, "hard.xlsx")
    before = book.read_bytes()
    for out in [book.name, f"./{book.name}", f"../built/{book.name}", str(book), "link.xlsx",
                "hard.xlsx"]:
        res = runner.invoke(app, ["pdf", book.name, "--out", out, "--force"])
        assert res.exit_code == 2, (out, res.output)
        assert f"--out = '{Path(out)}': expected an output file other than the command's input" \
            in res.stderr
    assert book.read_bytes() == before
    assert sorted(p.name for p in book.parent.iterdir()) == sorted(
        [book.name, "link.xlsx", "hard.xlsx"])


def test_pdf_of_a_far_last_cell_is_refused_in_a_moment(tmp_path):
    wb = openpyxl.Workbook()
    wb.active["XFD1048576"] = 1
    wb.save(tmp_path / "far.xlsx")
    started = time.monotonic()
    res = runner.invoke(app, ["pdf", str(tmp_path / "far.xlsx"), "--out",
                              str(tmp_path / "far.pdf")])
    assert time.monotonic() - started < 5               # was > 250 s
    assert res.exit_code == 2
    assert "WORKBOOK = " in res.stderr and "column 16,384" in res.stderr
    assert not (tmp_path / "far.pdf").exists()


def test_pdf_timeout_is_one_message_and_exit_2(tmp_path):
    book = _native(tmp_path)
    for extra in ([], ["--sheet", "Quote X"]):
        res = runner.invoke(app, ["pdf", str(book), "--out", str(tmp_path / "q.pdf"),
                                  "--timeout", "0.05", *extra])
        assert res.exit_code == 2, res.output
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith(
            "入力エラー / input error: --timeout = 0.05: expected more seconds"), lines
        assert not (tmp_path / "q.pdf").exists()


def test_pdf_of_a_udf_workbook_says_it_needs_a_native_one(tmp_path):
    res = runner.invoke(app, ["build", "--project", str(X_PROJECT), "--out", str(tmp_path),
                              "--target", "udf"])       # asked for by name (issue 14 item 5)
    res = runner.invoke(app, ["pdf", res.stdout.strip(), "--out", str(tmp_path / "u.pdf")])
    assert res.exit_code == 2 and "a native workbook (xl-pricing build --target native)" \
        in res.stderr
    assert not (tmp_path / "u.pdf").exists()


@pytest.mark.skipif(__import__("shutil").which("soffice") is None, reason="no LibreOffice")
def test_a_workbook_libreoffice_cannot_load_is_one_message_exit_2(tmp_path):
    """It passes the checks made before LibreOffice starts; LibreOffice's own word on it
    ends the one line (it was exit 1 and several lines of LibreOffice's command line)."""
    import zipfile

    with zipfile.ZipFile(tmp_path / "odd.xlsx", "w") as z:
        z.writestr("xl/workbook.xml", "<foo/>")
    res = runner.invoke(app, ["pdf", str(tmp_path / "odd.xlsx"), "--out",
                              str(tmp_path / "odd.pdf")])
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "expected a workbook LibreOffice can open and print " \
        "(LibreOffice: " in lines[0]
    assert not (tmp_path / "odd.pdf").exists()


# -- what is bad input and what is a bug ---------------------------------------------------------

def _run(exc: BaseException) -> tuple[int, str]:
    probe = typer.Typer()

    @probe.command()
    @handles_input_errors
    def fail() -> None:
        raise exc

    res = CliRunner(env={"XL_PRICING_DEBUG": None}).invoke(probe, [])
    return res.exit_code, res.stderr


def test_a_file_the_user_named_that_cannot_be_read_is_exit_2():
    code, err = _run(PermissionError(13, "Permission denied", "/srv/share/p.toml"))
    assert code == 2
    assert "file = '/srv/share/p.toml': expected a file that can be read or written " \
           "(Permission denied)" in err


@pytest.mark.parametrize("exc", [RecursionError("maximum recursion depth exceeded"),
                                 ZeroDivisionError("division by zero"),
                                 OSError("no file involved"),
                                 UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid")],
                         ids=["recursion", "zero-division", "oserror-no-file", "unicode"])
def test_a_genuine_bug_stays_exit_1_internal_error(exc):
    code, err = _run(exc)
    assert code == 1 and "internal error" in err and "Traceback" not in err


def test_project_check_takes_a_card(tmp_path):
    res = runner.invoke(app, ["project", "check", str(X_PROJECT), "--rates", "mit"])
    assert res.exit_code == 0 and res.stdout.startswith("ok  X-2027-001")
    res = runner.invoke(app, ["project", "check", str(X_PROJECT), "--rates", "no-such"])
    assert res.exit_code == 2 and "--rates = 'no-such'" in res.stderr


# -- issue 14 items 4 and 5: Japanese names and words, units, dates, researchers from 1 ------

A_PROJECT = EXAMPLES[0].parent / "a-stacked-sponsored.toml"
ENV = {"XLP_LANG": None, "NO_COLOR": "1", "XL_PRICING_RATES": None}
jp_runner = CliRunner(env=ENV)


def _named_copy(tmp_path: Path) -> Path:
    """The A example with its codes typed as Japanese names: 受託研究, 学内, 教授, 准教授."""
    text = A_PROJECT.read_text("utf-8")
    for code, name in [('contract = "sponsored"', 'contract = "受託研究"'),
                       ('location = "on"', 'location = "学内"'),
                       ('rank = "professor"', 'rank = "教授"'),
                       ('rank = "associate_professor"', 'rank = "准教授"')]:
        assert code in text
        text = text.replace(code, name)
    path = tmp_path / "named.toml"
    path.write_text(text, "utf-8")
    return path


def test_a_project_typed_in_japanese_prices_exactly_as_with_codes(tmp_path):
    coded = json.loads(jp_runner.invoke(app, ["quote", str(A_PROJECT), "--json"]).stdout)
    res = jp_runner.invoke(app, ["quote", str(_named_copy(tmp_path)), "--json"])
    assert res.exit_code == 0, res.output
    named = json.loads(res.stdout)
    assert named["total"] == coded["total"] == 15_287_828
    assert named["lines"] == coded["lines"]
    assert named["contract"] == "sponsored"                          # JSON keeps codes
    sato = [ln for ln in named["lines"] if ln["detail"] == "Prof. Sato"][0]
    assert sato["source"] == "jp-default: rank table, professor"     # 30,000 × 200 h
    assert sato["amount"] == 6_000_000
    table = jp_runner.invoke(app, ["quote", str(_named_copy(tmp_path))]).stdout
    assert "受託研究 / sponsored research" in table and "¥15,287,828" in table
    for cmd in (["project", "check"], ["compare"]):
        assert jp_runner.invoke(app, [*cmd, str(_named_copy(tmp_path))]).exit_code == 0


def test_a_day_rate_line_says_days_in_the_table_and_the_json():
    # Dr. Ito: £600/day × 160 JPY/GBP = 96,000 yen a day × 10 days = 960,000
    d = json.loads(jp_runner.invoke(app, ["quote", str(A_PROJECT), "--json"]).stdout)
    ito = [ln for ln in d["lines"] if ln["detail"] == "Dr. Ito (postdoc)"][0]
    assert (ito["base"], ito["rate"], ito["unit"], ito["amount"]) == (10, 96000, "day", 960_000)
    assert {ln["unit"] for ln in d["lines"] if ln["component"] == "time_charge"} == {"h", "day"}
    assert all("unit" not in ln for ln in d["lines"] if ln["component"] != "time_charge")
    ja = jp_runner.invoke(app, ["quote", str(A_PROJECT)]).stdout
    assert "10 日 / days" in ja and "¥96,000/日" in ja and "10 h" not in ja
    assert "200 h" in ja and "¥30,000/h" in ja                       # hours stay hours
    en = jp_runner.invoke(app, ["--lang", "en", "quote", str(A_PROJECT)]).stdout
    assert "10 days" in en and "¥96,000/day" in en and "日" not in en.replace("電池", "")


def test_an_option_line_reads_its_japanese_name():
    d = json.loads(jp_runner.invoke(app, ["quote", str(A_PROJECT), "--json"]).stdout)
    ip = [ln for ln in d["lines"] if ln["component"] == "option"][0]
    # the card's label_ja of ip_co_ownership; detail stays the English name
    assert (ip["label_ja"], ip["label_en"], ip["detail"]) == (
        "オプション（知的財産の共有）", "Option (IP co-ownership)", "IP co-ownership")


def test_lang_option_and_env():
    ja = jp_runner.invoke(app, ["quote", str(A_PROJECT)]).stdout
    assert "合計 / Total" in ja and "収入の配分 / split of proceeds: 研究者 / researcher" in ja
    assert "A 欧米型積み上げ方式 / A Western-standard stacking" in ja
    en = jp_runner.invoke(app, ["--lang", "en", "quote", str(A_PROJECT)]).stdout
    assert "Total" in en and "合計" not in en and "split of proceeds: researcher" in en
    assert "approach A (Western-standard stacking), sponsored research" in en
    by_env = CliRunner(env={**ENV, "XLP_LANG": "en"}).invoke(app, ["quote", str(A_PROJECT)])
    assert by_env.stdout == en
    bad = jp_runner.invoke(app, ["--lang", "fr", "quote", str(A_PROJECT)])
    assert bad.exit_code == 2 and "--lang = 'fr': expected ja or en" in bad.stderr
    assert bad.stdout == ""
    cmp = jp_runner.invoke(app, ["compare", str(EXAMPLES[0].parent / "c-outcome-royalty.toml")])
    assert "方式の比較 / approaches side by side" in cmp.stdout


def test_errors_are_japanese_first_and_english_only_with_lang_en(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(A_PROJECT.read_text("utf-8").replace("hours = 200", "hours = -5"), "utf-8")
    ja = jp_runner.invoke(app, ["quote", str(bad)])
    assert ja.exit_code == 2
    assert ja.stderr.strip() == (f"入力エラー / input error: {bad}: researchers[0].hours = -5: "
                                 "expected a number >= 0")
    en = jp_runner.invoke(app, ["--lang", "en", "quote", str(bad)])
    assert en.stderr.strip() == (f"input error: {bad}: researchers[0].hours = -5: "
                                 "expected a number >= 0")


def test_backsolve_numbers_researchers_from_1_and_names_them():
    args = ["backsolve", str(A_PROJECT), "--target", "12,000,000"]
    one = jp_runner.invoke(app, [*args, "--researcher", "1"])
    assert one.exit_code == 0, one.output
    assert "研究者 1 (Prof. Sato) / researcher 1 (Prof. Sato)" in one.stdout
    # the solved rate (below 30,000) carries the warning quote gives for a negotiated rate
    assert "below the professor standard of 30,000 yen/h (standards are a floor)" in one.stdout
    d = json.loads(jp_runner.invoke(app, [*args, "--researcher", "1", "--json"]).stdout)
    assert d["researchers"] == [1] and d["rate"] < 30_000 and len(d["warnings"]) == 1
    assert d["warnings"][0].startswith("researcher 1 (Prof. Sato): negotiated rate ")
    # researcher 2 (Assoc. Prof. Suzuki, 186 h): the others fixed, the price at rate 0 is
    # 14,084,000, and 186 h × 1.4 (F&A 30% + IP option 10% on time) = 260.4 yen per yen/h
    res2 = jp_runner.invoke(app, ["backsolve", str(A_PROJECT), "--target", "16,000,000",
                                  "--researcher", "2", "--json"])
    d2 = json.loads(res2.stdout)
    assert d2["researchers"] == [2] and d2["total"] <= 16_000_000
    assert d2["rate"] == (16_000_000 - 14_084_000) // 260.4 // 1
    for bad in ("0", "99"):
        res = jp_runner.invoke(app, [*args, "--researcher", bad])
        assert res.exit_code == 2
        assert f"--researcher = {bad}: expected a researcher number from 1 to 4 (numbering " \
               "starts at 1; 研究者 / researchers: 1 (Prof. Sato), 2 (Assoc. Prof. Suzuki), " \
               "3 (Prof. Tanaka (advice)), 4 (Dr. Ito (postdoc)))" in res.stderr.replace("\n", "")
    en = jp_runner.invoke(app, ["--lang", "en", *args, "--researcher", "0"])
    assert en.exit_code == 2 and "研究者" not in en.stderr and "入力" not in en.stderr
    assert "(numbering starts at 1; researchers: 1 (Prof. Sato), 2 (Assoc." in \
        en.stderr.replace("\n", "")


def test_build_makes_a_native_workbook_unless_asked(tmp_path):
    res = jp_runner.invoke(app, ["build", "--project", str(X_PROJECT), "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert Path(res.stdout.strip()).name == "jp-default-X-2027-001-native.xlsx"


def test_recalc_prints_dates_for_date_names(tmp_path):
    """Start, End and *_Date hold dates by their names, also in a General-formatted cell
    (an office's own workbook): 46478 is 2027-04-01 in Excel's 1900 date system."""
    from conftest import one_sheet
    book = one_sheet(tmp_path, {"A1": 46478, "A2": 46843, "A3": 46478, "A4": "=A2-A1"},
                     {"Start": "Sheet1!$A$1", "End": "Sheet1!$A$2", "Pkg_Date": "Sheet1!$A$3",
                      "Days": "Sheet1!$A$4"})
    d = json.loads(jp_runner.invoke(app, ["recalc", str(book), "--json", "--engine",
                                          "formulas"]).stdout)
    assert d == {"Days": 365, "End": "2028-03-31", "Pkg_Date": "2027-04-01",
                 "Start": "2027-04-01"}
    table = jp_runner.invoke(app, ["recalc", str(book), "--engine", "formulas"]).stdout
    assert "2027-04-01" in table and "46,478" not in table and "365" in table


def test_a_batch_row_typed_in_japanese_builds_a_workbook_with_the_engines_total(tmp_path):
    """受託研究 and 教授 in a table row: the workbook holds the card's codes, so its own
    formulas give the engine's total (they gave #N/A for a rank cell holding 教授).
    Professor 30,000 × 100 h = 3,000,000; consumables 1,000,000; F&A 30% of direct + time
    charge = 1,200,000; strategic 10% of direct = 100,000 → 5,300,000."""
    from xl_pricing.recalc import Recalculator
    table = tmp_path / "t.csv"
    table.write_text("id,contract,approach,start,end,direct.consumables,researchers.1.rank,"
                     "researchers.1.hours\nJ-1,受託研究,A,2027-04-01,2028-03-31,1000000,教授,100\n",
                     "utf-8")
    res = jp_runner.invoke(app, ["batch", str(table), "--out", str(tmp_path / "o"),
                                 "--target", "native", "--workers", "1"])
    assert res.exit_code == 0, res.output
    assert "ワークブック 1 件を作成、失敗 0 行、合計 ¥5,300,000" in res.stdout
    assert "1 workbooks written, 0 rows failed; total ¥5,300,000" in res.stdout
    book = tmp_path / "o" / "jp-default-J-1-native.xlsx"
    assert Recalculator(book, engine="formulon").values(names=["Total"])["Total"] == 5_300_000


def test_quote_table_shows_a_research_fee_per_researcher_and_year(tmp_path):
    # Review finding 11: Kyoto joint research, one company researcher for a year: the
    # 研究料 row reads "1 名 / researchers" and "¥440,000/年" (it read "¥1" and
    # "44000000%"), labelled 研究料 once (not 研究料（研究料）).  Total: direct 1,000,000 +
    # 研究料 440,000 + indirect 30% × 1,440,000 = 432,000 → 1,872,000.
    proj = tmp_path / "k.toml"
    proj.write_text('[project]\nid = "K"\ncontract = "joint"\napproach = "X"\n'
                    'start = 2027-04-01\nend = 2028-03-31\n\n[[direct]]\n'
                    'category = "consumables"\namount = 1_000_000\n\n[quantities]\n'
                    'company_researcher = 1\n', encoding="utf-8")
    res = runner.invoke(app, ["quote", str(proj), "--rates", "kyoto"],
                        env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    row = [ln for ln in res.output.splitlines() if "研究料" in ln][0]
    assert "1 名 / researchers" in row and "¥440,000/年" in row and "¥440,000 " in row
    assert "%" not in row and "研究料（" not in res.output
    assert "¥1,872,000" in res.output
    en = runner.invoke(app, ["--lang", "en", "quote", str(proj), "--rates", "kyoto"],
                       env={"COLUMNS": "200"})
    assert en.exit_code == 0, en.output
    row = [ln for ln in en.output.splitlines() if "Research fee" in ln][0]
    assert "1 researchers" in row and "¥440,000/year" in row

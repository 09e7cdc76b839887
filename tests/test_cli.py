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
    res = runner.invoke(app, ["build", "--project", str(X_PROJECT), "--out", str(tmp_path)])
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

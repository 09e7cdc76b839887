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

"""Reading TOML/JSON documents: exact decimals, bounded reads, one clear error each."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest

from xl_pricing import InputError
from xl_pricing.tomlio import CARD_LIMIT, PROJECT_LIMIT, read_bytes, read_document


def test_floats_stay_exact(tmp_path):
    (tmp_path / "a.toml").write_text("rate = 0.547\n", "utf-8")
    (tmp_path / "a.json").write_text('{"rate": 0.547}', "utf-8")
    assert read_document(tmp_path / "a.toml") == {"rate": Decimal("0.547")}
    assert read_document(tmp_path / "a.json") == {"rate": Decimal("0.547")}


def test_json_nested_100000_deep_is_one_input_error(tmp_path):
    """Old code: RecursionError, a traceback."""
    p = tmp_path / "deep.json"
    p.write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "utf-8")
    with pytest.raises(InputError, match="nested at most 32 levels"):
        read_document(p)


def test_toml_nested_deep_is_one_input_error(tmp_path):
    p = tmp_path / "deep.toml"
    p.write_text("a = " + "[" * 50_000 + "]" * 50_000 + "\n", "utf-8")
    with pytest.raises(InputError, match="nested at most 32 levels"):
        read_document(p)


def test_a_project_over_the_limit_is_refused(tmp_path):
    p = tmp_path / "big.toml"
    p.write_bytes(b"# " + b"x" * PROJECT_LIMIT + b"\n")
    with pytest.raises(InputError, match=f"at most {PROJECT_LIMIT:,} bytes"):
        read_document(p)
    assert CARD_LIMIT == 1024 * 1024 and PROJECT_LIMIT >= CARD_LIMIT


def test_read_bytes_refuses_devices_fifos_and_directories(tmp_path):
    with pytest.raises(InputError, match="regular file"):
        read_bytes(__import__("pathlib").Path("/dev/zero"), 10)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(InputError, match="regular file"):
        read_bytes(tmp_path / "fifo", 10)
    with pytest.raises(InputError, match="not a directory"):
        read_bytes(tmp_path, 10)
    with pytest.raises(InputError, match="an existing file"):
        read_bytes(tmp_path / "nope", 10)
    (tmp_path / "ok").write_bytes(b"12345")
    assert read_bytes(tmp_path / "ok", 5) == b"12345"
    with pytest.raises(InputError, match="at most 4 bytes"):
        read_bytes(tmp_path / "ok", 4)


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_bad_utf8_names_line_and_column(tmp_path, bom):
    p = tmp_path / "x.toml"
    p.write_bytes(bom + b'a = 1\nb = "\x82\xa0"\n')
    with pytest.raises(InputError, match=r"line 2, column 6 \(byte 0x82\)"):
        read_document(p)


def test_syntax_errors_and_top_level(tmp_path):
    (tmp_path / "a.json").write_text("[1, 2]", "utf-8")
    with pytest.raises(InputError, match=r"\(top level\) = 'list'"):
        read_document(tmp_path / "a.json")
    (tmp_path / "b.json").write_text('{"a": NaN', "utf-8")
    with pytest.raises(InputError, match="JSON syntax"):
        read_document(tmp_path / "b.json")
    (tmp_path / "c.toml").write_text("a = = 1", "utf-8")
    with pytest.raises(InputError, match="TOML syntax"):
        read_document(tmp_path / "c.toml")


@pytest.mark.parametrize("text", [
    "[project]\n" + ".".join(["a"] * 20_000) + " = 1\n",          # dotted keys: no recursion
    "a = " + "{b = " * 40 + "1" + "}" * 40 + "\n",
])
def test_deep_tables_from_dotted_keys_are_refused(tmp_path, text):
    """Old code: the parser took 20,000 dotted levels; validation then hit RecursionError
    (exit 1, internal error)."""
    p = tmp_path / "deep.toml"
    p.write_text(text, "utf-8")
    with pytest.raises(InputError, match="nested at most 32 levels"):
        read_document(p)


def test_real_documents_are_shallow():
    from conftest import EXAMPLES, RATES
    from xl_pricing.tomlio import MAX_DEPTH, depth
    for path in [*EXAMPLES, *RATES.glob("*.toml")]:
        assert depth(read_document(path)) <= MAX_DEPTH // 4, path

"""xlwings Server as `xl-pricing excel serve` runs it: the payload guard, card ids only,
authentication (xlwings Server's own providers), and the CLI settings.

Everything goes through xlwings Server's real app (``xlwings_server.main:main_app``,
wrapped by ``xl_pricing.server.app:app``) with FastAPI's TestClient, or a real uvicorn on
127.0.0.1.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import json
from pathlib import Path

import pytest

from conftest import RATES
from serverkit import payload, post, server_modules, serving, started_client
from xl_pricing import InputError
from xl_pricing.server import auth_environment, is_loopback
from xl_pricing.server.guard import check_call

pytestmark = pytest.mark.skipif(importlib.util.find_spec("xlwings_server") is None,
                                reason="the optional [server] extra")

CALL = "/xlwings/custom-functions-call"
TOKEN = "s3cret-token-for-tests"
DIGEST = hashlib.sha256(TOKEN.encode()).hexdigest()


@contextlib.contextmanager
def client(env: dict[str, str] | None = None):
    from fastapi.testclient import TestClient
    with server_modules(env):
        app = importlib.import_module("xl_pricing.server.app")
        with TestClient(app.app) as c:
            yield c


@pytest.fixture(scope="session")
def anonymous_app():
    """The app without auth, started once per process; each test using it runs in server
    mode (``anonymous``)."""
    with started_client("xl_pricing.server.app", "app") as c:
        yield c


@pytest.fixture
def anonymous(anonymous_app):
    with server_modules():
        yield anonymous_app


# -- the guard: what xlwings Server would crash on is a 400 with a message -------------------

def _body(**over):
    data = payload("XLP_TIMECHARGE", [50000, 12])
    data.update(over)
    return data


BAD_BODIES = [
    ("empty body", b"", "body is missing"),
    ("not json", b"{nope", "not JSON': expected a JSON object"),
    ("json list", b"[1, 2]", "body = 'list': expected a JSON object"),
    ("deep json", b"[" * 100_000 + b"]" * 100_000, "not JSON"),
    ("no func_name", json.dumps({k: v for k, v in _body().items() if k != "func_name"}),
     "func_name is missing"),
    ("no args", json.dumps({k: v for k, v in _body().items() if k != "args"}),
     "args is missing"),
    ("no version", json.dumps({k: v for k, v in _body().items() if k != "version"}),
     "version is missing"),
    ("no runtime", json.dumps({k: v for k, v in _body().items() if k != "runtime"}),
     "runtime is missing"),
    ("date_format a table", json.dumps(_body(date_format=[[1]])),
     "date_format = 'list': expected text or null"),
    ("unknown function", json.dumps(_body(func_name="os.system")),
     "func_name = 'os.system': expected the name of an XLP function"),
    ("private name", json.dumps(_body(func_name="_card")), "func_name = '_card'"),
    ("args not a list", json.dumps(_body(args={"a": 1})), "args = 'dict': expected a list"),
    ("arg a scalar", json.dumps(_body(args=[5, [[12]]])), "args[1] = 'int': expected a range"),
    ("empty range", json.dumps(_body(args=[[], [[12]]])), "args[1] = 'a list of non-rows"),
    ("empty row", json.dumps(_body(args=[[[]], [[12]]])), "args[1] = 'a list of non-rows"),
    ("dict cell", json.dumps(_body(args=[[[{"a": 1}]], [[12]]])),
     "args[1][1][1] = {a = 1}: expected a cell value"),
    ("nested list cell", json.dumps(_body(args=[[[[1, 2]]], [[12]]])),
     "args[1][1][1] = [1, 2]: expected a cell value"),
]


@pytest.mark.parametrize("body,expected", [(b, e) for _, b, e in BAD_BODIES],
                         ids=[i for i, _, _ in BAD_BODIES])
def test_malformed_calls_are_client_errors(anonymous, body, expected):
    """Old code: KeyError / AttributeError / AssertionError inside xlwings Server, HTTP 500
    (retried three times by the add-in)."""
    r = anonymous.post(CALL, content=body if isinstance(body, bytes) else body.encode(),
                       headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert expected in r.text
    assert "Traceback" not in r.text


@pytest.mark.parametrize("func,args,expected", [
    ("XLP_TIMECHARGE", [float("nan"), 1], "rate = nan: expected an hourly rate"),
    ("XLP_TIMECHARGE", [float("inf"), 1], "rate = inf: expected"),
    ("XLP_TIMECHARGE", ["NaN", 1], "rate = 'NaN': expected"),
    ("XLP_TIMECHARGE", [1e308, 1e308], "below 10^15"),
    ("XLP_TIMECHARGE", [50000], "XLP_TIMECHARGE = '1 arguments': expected the arguments"),
    ("XLP_TIMECHARGE", [1, 2, None, 4], "XLP_TIMECHARGE = '4 arguments'"),
    ("XLP_EFFORT_HOURS", [1860, 2, 12], "effort = 2: expected a number <= 1"),
    ("XLP_INDIRECT", [1e6, 30], "rate = 30: expected a number <= 5"),
    ("XLP_ALLOCATE", [[[1, 2]]], "amounts row 1 component = 1"),
    ("XLP_RATE", ["associate_professor", "full-features"], "rate_source = 'rank'"),
    ("XLP_FA_RATE", ["research", "on", None, None, 1e9], "date = 1000000000.0"),
    ("XLP_QUOTE", ["approach"], "inputs row 1 = ['approach']"),
])
def test_bad_arguments_are_400_with_the_message(anonymous, func, args, expected):
    # json.dumps writes NaN and Infinity as JavaScript does; the server's parser takes them
    r = anonymous.post(CALL, content=json.dumps(payload(func, args)),
                       headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert expected in r.text


def test_an_excel_error_value_cell_is_passed_to_the_function(anonymous):
    err = {"type": "Error", "basicValue": "#DIV/0!", "errorType": "Div0"}
    data = payload("XLP_TIMECHARGE", [50000, 12])
    data["args"][1] = [[err]]
    r = anonymous.post(CALL, json=data)
    assert r.status_code == 400 and "hours" in r.text, r.text


def test_good_calls_pass_the_guard(anonymous):
    r = anonymous.post(CALL, json=payload("XLP_TIMECHARGE", [50000, 12]))
    assert r.status_code == 200 and r.json()["result"] == [[600_000]]
    r = anonymous.post(CALL, json=payload("XLP_TIMECHARGE", [[[1], [2]], [[3], [4]]]))
    assert r.json()["result"] == [[3], [8]]
    assert anonymous.get("/xlwings/custom-functions-meta").status_code == 200


def test_check_call_accepts_what_the_add_in_sends():
    assert check_call(json.dumps(payload("XLP_CARD", [None])).encode(), ["XLP_CARD"]) is None


# -- cards are ids; nothing of a file is quoted ------------------------------------------------

@pytest.mark.parametrize("ref", ["/etc/passwd", "/dev/zero", "../../../etc/hosts",
                                 str(RATES / "jp-default.toml"), "jp-default.toml", "C:\\x"])
def test_a_path_for_a_card_is_refused(anonymous, ref):
    r = anonymous.post(CALL, json=payload("XLP_CARD", [ref]))
    assert r.status_code == 400 and "expected a card id" in r.text, r.text


def test_an_invalid_card_in_the_rates_folder_leaks_nothing(tmp_path):
    (tmp_path / "leaky.toml").write_text('[card]\nid = "leaky"\napi_key = "SECRET-42"\n', "utf-8")
    (tmp_path / "good.toml").write_text(
        (RATES / "jp-default.toml").read_text("utf-8").replace('id = "jp-default"',
                                                               'id = "good"'), "utf-8")
    with client({"XL_PRICING_RATES": str(tmp_path)}) as c:
        r = c.post(CALL, json=payload("XLP_CARD", ["leaky"]))
        assert r.status_code == 400
        assert "SECRET" not in r.text and "api_key" not in r.text and str(tmp_path) not in r.text
        assert r.text == "card = 'leaky': expected a valid rate card (this card's file is " \
                         "invalid or unreadable: its maintainer can run `xl-pricing rates check`)"
        ok = c.post(CALL, json=payload("XLP_CARD", ["good"]))
        assert ok.status_code == 200 and ok.json()["result"][0] == ["id", "good"]


# -- authentication: xlwings Server's providers ------------------------------------------------

def test_custom_auth_refuses_a_call_without_a_valid_token():
    env = {**auth_environment("custom", "127.0.0.1", environ={
        "XL_PRICING_AUTH_TOKENS": DIGEST}), "XL_PRICING_AUTH_TOKENS": f"{DIGEST}:pricing"}
    with client(env) as c:
        body = payload("XLP_TIMECHARGE", [50000, 12])
        assert c.post(CALL, json=body).status_code == 401
        assert c.post(CALL, json=body, headers={"Authorization": "wrong"}).status_code == 401
        assert c.post(CALL, json=body,
                      headers={"Authorization": "Bearer " + DIGEST}).status_code == 401
        r = c.post(CALL, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200 and r.json()["result"] == [[600_000]]
        assert c.post(CALL, json=body, headers={"Authorization": TOKEN}).status_code == 200


def test_required_roles_are_checked():
    env = {**auth_environment("custom", "127.0.0.1", roles=["admin"], environ={
        "XL_PRICING_AUTH_TOKENS": DIGEST}), "XL_PRICING_AUTH_TOKENS": f"{DIGEST}:pricing"}
    with client(env) as c:
        r = c.post(CALL, json=payload("XLP_CARD", []),
                   headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 403 and "admin" in r.text


def test_auth_settings_for_each_provider():
    assert auth_environment("none", "127.0.0.1") == {"XLWINGS_AUTH_PROVIDERS": "[]"}
    env = auth_environment("entraid", "0.0.0.0", client_id="cid", tenant_id="tid",
                           roles=["pricing", "finance"], environ={})
    assert env == {"XLWINGS_AUTH_PROVIDERS": '["entraid"]',
                   "XLWINGS_AUTH_REQUIRED_ROLES": '["pricing", "finance"]',
                   "XLWINGS_AUTH_ENTRAID_CLIENT_ID": "cid",
                   "XLWINGS_AUTH_ENTRAID_TENANT_ID": "tid"}
    from_env = auth_environment("entraid", "10.0.0.1", environ={
        "XLWINGS_AUTH_ENTRAID_CLIENT_ID": "c2", "XLWINGS_AUTH_ENTRAID_TENANT_ID": "t2"})
    assert from_env["XLWINGS_AUTH_ENTRAID_TENANT_ID"] == "t2"
    # xlwings Server reads exactly these settings (imported in server mode only: its
    # config switches the whole process to server mode)
    with server_modules(env):
        s = importlib.import_module("xlwings_server.config").Settings()
        assert s.auth_providers == ["entraid"] and s.auth_required_roles == ["pricing",
                                                                            "finance"]
        assert (s.auth_entraid_client_id, s.auth_entraid_tenant_id) == ("cid", "tid")


@pytest.mark.parametrize("auth,host,kw,expected", [
    ("none", "0.0.0.0", {}, "--auth = 'none': expected entraid or custom"),
    ("none", "127.0.0.1", {"roles": ["x"]}, "--required-role = 'x'"),
    ("entraid", "0.0.0.0", {}, "--entraid-client-id is missing"),
    ("entraid", "0.0.0.0", {"client_id": "c"}, "--entraid-tenant-id is missing"),
    ("custom", "0.0.0.0", {}, "XL_PRICING_AUTH_TOKENS is missing"),
    ("ldap", "127.0.0.1", {}, "--auth = 'ldap': expected one of none, entraid, custom"),
])
def test_auth_settings_refused(auth, host, kw, expected):
    with pytest.raises(InputError, match=expected.replace("[", r"\[")):
        auth_environment(auth, host, environ={}, **kw)


def test_anonymous_beyond_loopback_only_when_asked():
    assert auth_environment("none", "0.0.0.0", allow_anonymous=True)
    assert is_loopback("::1") and not is_loopback("192.168.1.5")


def test_serve_refuses_before_listening(tmp_path):
    from typer.testing import CliRunner

    from xl_pricing.cli import app
    env = {"XLWINGS_LICENSE_KEY": "noncommercial", "XL_PRICING_AUTH_TOKENS": ""}
    r = CliRunner().invoke(app, ["excel", "serve", "--host", "0.0.0.0"], env=env)
    assert r.exit_code == 2 and "--auth = 'none'" in r.output
    r = CliRunner().invoke(app, ["excel", "serve", "--auth", "entraid"], env=env)
    assert r.exit_code == 2 and "--entraid-client-id is missing" in r.output
    r = CliRunner().invoke(app, ["excel", "serve", "--ssl-certfile", "c.pem"], env=env)
    assert r.exit_code == 2 and "--ssl-keyfile is missing" in r.output


def test_real_server_with_custom_auth_on_loopback(tmp_path):
    """`xl-pricing excel serve --auth custom` on 127.0.0.1: no token → 401, the token →
    the answer."""
    import xlwings
    body = json.dumps({**payload("XLP_TIMECHARGE", [50000, 12]),
                       "version": xlwings.__version__}).encode()
    with serving(tmp_path, "--auth", "custom", env={"XL_PRICING_AUTH_TOKENS": DIGEST}) as url:
        assert post(url, body)[0] == 401
        assert post(url, body, {"Authorization": "Bearer nope"})[0] == 401
        status, text = post(url, body, {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and json.loads(text)["result"] == [[600000]]
        status, text = post(url, b"", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 400 and "body is missing" in text


def test_the_pyodide_workaround_is_only_in_the_serve_app():
    src = Path(__file__).parent.parent / "xl_pricing"
    users = [p.relative_to(src).as_posix() for p in src.rglob("*.py")
             if "skip_pyodide_probe" in p.read_text("utf-8")]
    assert sorted(users) == ["server/app.py", "server/workarounds.py"]


# -- a standing battery: whatever is posted, never a server error ------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=12)
_cells = st.none() | st.booleans() | st.floats() | st.integers(-10**20, 10**20) | \
    st.sampled_from(["", "NaN", "1e999999", "mit", "research", "on", "professor", "/etc/passwd",
                     "2027-04-01", "¥1,000", "１０００", "approach", "X"]) | st.text(max_size=10)
_ranges = st.none() | st.lists(st.lists(_cells, min_size=1, max_size=3), min_size=1, max_size=3)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(func=st.sampled_from(sorted(__import__("xl_pricing.udfs").udfs.__all__)),
       args=st.lists(_ranges, max_size=7), junk=st.dictionaries(
           st.sampled_from(["func_name", "args", "client", "version", "runtime",
                            "date_format", "caller_address", "culture_info_name"]), _json,
           max_size=2))
def test_no_body_gets_a_server_error(anonymous, func, args, junk):
    data = {**payload(func, []), "args": args, **junk}
    r = anonymous.post(CALL, content=json.dumps(data),
                       headers={"Content-Type": "application/json"})
    assert r.status_code in (200, 400), (r.status_code, r.text, data)
    assert "Traceback" not in r.text

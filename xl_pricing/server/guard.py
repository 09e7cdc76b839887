"""A check of every custom-function call before xlwings Server sees it.

xlwings Server reads a call's body with ``data["func_name"]``, ``data["args"]``,
``data["version"]`` and converts each argument before any function runs, so an empty body,
a missing key, an unknown function, an argument that is not a range, or a cell that is a
JSON object (``{"a": 1}``) ends in a ``KeyError``, ``AttributeError`` or
``AssertionError`` there: HTTP 500, which the add-in retries three times.  This ASGI
middleware answers such a request itself with HTTP 400 and one message naming the key,
the value and what was expected; a well-formed call passes through untouched (its body
replayed as it came).  It reads at most :data:`MAX_BODY` bytes of a request.

Plain ASGI on the public interface of the wrapped app: nothing of xlwings Server is
changed.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, Iterable

from ..errors import InputError

CALL_PATH = "/xlwings/custom-functions-call"
MAX_BODY = 8 * 1024 * 1024  # 8 MiB: a 100,000-row range of numbers is about 2 MiB
SCALARS = (type(None), bool, int, float, str)
REQUIRED = ("func_name", "args", "client", "version", "runtime")  # xlwings reads data[...]
OPTIONAL_TEXT = ("caller_address", "session_id", "culture_info_name", "date_format")
EXPECTED_BODY = ("a JSON object with func_name, args, client, version and runtime (as the "
                 "add-in sends)")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def _cell(value: Any) -> bool:
    """A cell as Office.js sends it: a scalar, or an Excel value object (an error, a
    formatted number) with ``type`` and ``basicValue``."""
    if isinstance(value, SCALARS):
        return True
    return isinstance(value, dict) and isinstance(value.get("type"), str) and \
        "basicValue" in value and isinstance(value["basicValue"], SCALARS)


def check_call(body: bytes, functions: Iterable[str]) -> str | None:
    """Why ``body`` is not a custom-function call xlwings Server can take, or None.

    >>> check_call(b'', ["XLP_CARD"])
    'body is missing: expected a JSON object with func_name, args, client, version and runtime (as the add-in sends)'
    >>> check_call(b'{"func_name": "XLP_CARD", "args": [[[{"a": 1}]]], "client": "Office.js", '
    ...            b'"version": "0", "runtime": "1.4"}', ["XLP_CARD"])
    'args[1][1][1] = {a = 1}: expected a cell value: a number, text, TRUE/FALSE or empty'
    """
    if not body.strip():
        return InputError("body", InputError.MISSING, EXPECTED_BODY).message
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return InputError("body", f"{len(body)} bytes that are not JSON", EXPECTED_BODY).message
    if not isinstance(data, dict):
        return InputError("body", type(data).__name__, EXPECTED_BODY).message
    for key in REQUIRED:
        if key not in data:
            return InputError(key, InputError.MISSING, EXPECTED_BODY).message
    name = data["func_name"]
    if not isinstance(name, str) or name not in set(functions):
        shown = name[:64] if isinstance(name, str) else type(name).__name__
        return InputError("func_name", shown, "the name of an XLP function").message
    for key in ("client", "version", "runtime"):
        if not isinstance(data[key], str):
            return InputError(key, type(data[key]).__name__, "text").message
    for key in OPTIONAL_TEXT:
        if not isinstance(data.get(key), (str, type(None))):
            return InputError(key, type(data[key]).__name__, "text or null").message
    args = data["args"]
    if not isinstance(args, list):
        return InputError("args", type(args).__name__, "a list of ranges").message
    for i, arg in enumerate(args, start=1):
        if arg is None:
            continue
        if not isinstance(arg, list) or not arg or not all(isinstance(r, list) and r
                                                           for r in arg):
            return InputError(f"args[{i}]", type(arg).__name__ if not isinstance(arg, list)
                              else "a list of non-rows or empty rows", "a range: a list of "
                              "rows, each a list of one cell or more (or null for an omitted "
                              "argument)").message
        for r, row in enumerate(arg, start=1):
            for c, cell in enumerate(row, start=1):
                if not _cell(cell):
                    return InputError(f"args[{i}][{r}][{c}]", cell, "a cell value: a number, "
                                      "text, TRUE/FALSE or empty").message
    return None


class PayloadGuard:
    """ASGI middleware: custom-function calls that xlwings Server would crash on are
    answered with HTTP 400 and a message; everything else goes to ``app`` unchanged."""

    def __init__(self, app: Callable[..., Awaitable[None]], functions: Iterable[str]):
        self.app = app
        self.functions = frozenset(functions)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path.startswith("/xlwings/") and not path.endswith(CALL_PATH):
            # xl-pricing serves Excel functions only; xlwings Server's other routes (custom
            # scripts) parse their body before authentication and answer odd bodies with 500.
            await _reply(send, 404, InputError("path", path, f"{CALL_PATH} (xl-pricing "
                                               "serves Excel functions only)").message)
            return
        if not path.endswith(CALL_PATH):
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > MAX_BODY:
                await _reply(send, 413, InputError("body", f"more than {MAX_BODY:,} bytes",
                                                   f"at most {MAX_BODY:,} bytes").message)
                return
            if not message.get("more_body", False):
                break
        problem = check_call(body, self.functions)
        if problem is not None:
            await _reply(send, 400, problem)
            return
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _reply(send: Send, status: int, text: str) -> None:
    data = text.encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})

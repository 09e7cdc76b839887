"""Turn pydantic validation errors into :class:`InputError` messages people can act on."""

from __future__ import annotations

import re
from typing import Any

import pydantic

from .errors import InputError, InputErrors


def key_path(loc: tuple[Any, ...]) -> str:
    """``('researchers', 0, 'hours')`` → ``'researchers[0].hours'``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-", "tagged-union", "union[")):
            continue  # pydantic's internal validator names say nothing to a user
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _expected(err: dict[str, Any], model: type[pydantic.BaseModel] | None) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        return "no such key (check the spelling)"
    if kind == "missing":
        return "a value (this key is required)"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        sym = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=",
               "less_than": "<"}[kind]
        return f"a number {sym} {ctx.get(next(iter(ctx)), '')}"
    if kind == "literal_error":
        return f"one of {ctx.get('expected', '')}"
    if kind in ("decimal_parsing", "decimal_type", "int_parsing", "int_type", "float_parsing",
                "int_from_float", "decimal_max_places", "float_type"):
        return "a number" if "int" not in kind else "a whole number"
    if kind in ("date_type", "date_parsing", "date_from_datetime_parsing"):
        return "a date such as 2027-04-01"
    if kind in ("bool_type", "bool_parsing"):
        return "true or false"
    if kind in ("string_type",):
        return "text"
    if kind in ("list_type",):
        return "a list [ ... ]"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "a table { ... }"
    if kind == "value_error":
        msg = str(err.get("msg", ""))
        return msg.removeprefix("Value error, ")
    return str(err.get("msg", kind)).lower()


_PATH = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _lookup(data: Any, path: str) -> Any:
    for name, index in _PATH.findall(path):
        try:
            data = data[int(index)] if index else data[name]
        except (KeyError, IndexError, TypeError, ValueError):
            return InputError.MISSING
    return data


def from_pydantic(exc: pydantic.ValidationError, source: str | None,
                  model: type[pydantic.BaseModel] | None = None) -> InputErrors:
    """Convert every error of a pydantic ``ValidationError`` to one :class:`InputErrors`."""
    errors: list[InputError] = []
    for err in exc.errors():
        value = err.get("input", InputError.MISSING)
        if err["type"] == "missing":
            value = InputError.MISSING
        field = key_path(tuple(err["loc"]))
        expected = _expected(err, model)
        if err["type"] == "value_error" and expected.startswith("@"):
            # A cross-field check names the key it is about: "@end: on or after start".
            sub, _, expected = expected[1:].partition(": ")
            value = _lookup(value, sub)
            field = sub if field == "(top level)" else f"{field}.{sub}"
        errors.append(InputError(field, value, expected, source))
    return InputErrors(errors)

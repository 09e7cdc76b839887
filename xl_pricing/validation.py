"""Turn pydantic validation errors into :class:`InputError` messages people can act on."""

from __future__ import annotations

import difflib
import re
import typing
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


# Patterns used in the models, said in words.
PATTERNS = {r"^[a-z0-9][a-z0-9_-]*$": "an id of lowercase letters, digits, '-' and '_' "
                                       "(such as 'my-university')",
            r"^[A-Z]{3}$": "a three-letter currency code such as 'GBP'"}


def _models_in(hint: Any) -> list[type[pydantic.BaseModel]]:
    """The pydantic models a field's type may hold (through Optional, list, dict...)."""
    if isinstance(hint, type) and issubclass(hint, pydantic.BaseModel):
        return [hint]
    out: list[type[pydantic.BaseModel]] = []
    if typing.get_origin(hint) is not None:
        for arg in typing.get_args(hint):
            out += _models_in(arg)
    return out


def known_keys(model: type[pydantic.BaseModel] | None, loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed at ``loc`` (a key path without its last part) under ``model``."""
    if model is None:
        return []
    current: list[type[pydantic.BaseModel]] = [model]
    for part in loc:
        if isinstance(part, int):
            continue
        nxt: list[type[pydantic.BaseModel]] = []
        for m in current:
            field = m.model_fields.get(str(part))
            if field is not None:
                nxt += _models_in(field.annotation)
        # a dict key (a rank or option name) leaves the models where they are
        current = nxt or current
    keys: list[str] = []
    for m in current:
        keys += [k for k in m.model_fields if k not in keys]
    return keys


def _expected(err: dict[str, Any], model: type[pydantic.BaseModel] | None) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        loc = tuple(err["loc"])
        keys = known_keys(model, loc[:-1])
        near = difflib.get_close_matches(str(loc[-1]), keys, n=1, cutoff=0.6)
        hint = f"; did you mean {near[0]!r}?" if near else (
            f"; known keys here: {', '.join(keys)}" if keys else "")
        return "no such key (check the spelling)" + hint
    if kind == "missing":
        return "a value (this key is required)"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        sym = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=",
               "less_than": "<"}[kind]
        return f"a number {sym} {ctx.get(next(iter(ctx)), '')}"
    if kind == "literal_error":
        return f"one of {ctx.get('expected', '')}"
    if kind == "string_pattern_mismatch":
        return PATTERNS.get(str(ctx.get("pattern")), "text in the expected format")
    if kind == "string_too_short":
        n = ctx.get("min_length", 1)
        return "non-empty text (at least 1 character)" if n == 1 else f"at least {n} characters"
    if kind == "string_too_long":
        return f"text of at most {ctx.get('max_length')} characters"
    if kind in ("decimal_parsing", "decimal_type", "int_parsing", "int_type", "float_parsing",
                "int_from_float", "decimal_max_places", "float_type", "finite_number"):
        return "a number" if "int" not in kind else "a whole number"
    if kind in ("date_type", "date_parsing", "date_from_datetime_parsing",
                "date_from_datetime_inexact"):
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
        return str(err.get("msg", "")).removeprefix("Value error, ")
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
    """Convert every error of a pydantic ``ValidationError`` to one :class:`InputErrors`.

    ``model`` (the root model validated) lets an unknown key be answered with the closest
    known one.  A cross-field check may name the key it is about by starting its message
    with ``@key: `` (for example ``@end: a date on or after start``).
    """
    errors: list[InputError] = []
    for err in exc.errors():
        value = err.get("input", InputError.MISSING)
        if err["type"] == "missing":
            value = InputError.MISSING
        field = key_path(tuple(err["loc"]))
        expected = _expected(err, model)
        if err["type"] == "value_error" and expected.startswith("@"):
            sub, _, expected = expected[1:].partition(": ")
            value = _lookup(value, sub)
            field = sub if field == "(top level)" else f"{field}.{sub}"
        errors.append(InputError(field, value, expected, source))
    return InputErrors(errors)


def check_against_card(project: Any, card: Any, source: str | None = None) -> Any:
    """Everything about ``project`` that only ``card`` can judge, checked in one place.

    A project file can be well formed and still name what the card does not have: a rank,
    an option, a day-rate reference, a tax partner, an F&A rate for its activity and
    location; or terms the card's rules refuse (an agreed total below direct costs, a
    package allocated beyond its total).  ``quote``, ``compare``, ``backsolve``,
    ``build --project``, ``project check`` and batch all call this function (``XLP_QUOTE``
    reaches the same engine call), so they accept and refuse the same projects with the
    same message.

    The checks are the engine's own: the project is priced by its approach (the split of
    proceeds and, when the project asks for it, the R&D tax credit included) and the result
    returned, so a caller that prices does not price twice.

    Args:
        project: a validated :class:`~xl_pricing.project.Project`.
        card: the :class:`~xl_pricing.rates.RateCard` it is priced with.
        source: the project's file, named in the message (kept when the error has one).

    Returns:
        The :class:`~xl_pricing.pricing.Quote`.

    Raises:
        InputError: ``field = value: expected ...`` naming the key path in the project,
            e.g. ``p.toml: researchers[0].rank = 'dean': expected a rank of card
            'jp-default': professor, ...``.
    """
    # Imported here: the engine imports the project model, which imports this module.
    from .pricing import allocate, quote, tax_credit

    try:
        q = quote(project, card)
        allocate(q, card)
        if project.tax.use_credit:
            tax_credit(q.pre_tax_total(), card, project.tax.partner, project.tax.corporate_tax)
    except InputError as exc:
        if source is None or exc.field.startswith("--"):
            raise
        raise exc.in_source(source) from None
    return q

"""The ``xl-pricing`` command.

Exit codes: 0 success, 2 bad input (one message naming file, field, value and what was
expected; never a traceback), 1 an internal error (set ``XL_PRICING_DEBUG=1`` for details).

Words people read follow ``--lang`` (or ``XLP_LANG``): ``ja`` (the default) prints Japanese
with English beside it, ``en`` English only; JSON keeps codes and English either way.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from decimal import Decimal, InvalidOperation
from functools import wraps
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import __version__
from .errors import InputError
from .files import refuse_inputs
from .money import fmt_rate, fmt_yen
from .pricing import allocate, quote_to_dict, tax_credit
from .pricing.backsolve import backsolve_rate, backsolve_time_charge
from .pricing.compare import compare
from .pricing.quote import LABELS, Quote
from .project import APPROACH_NAMES, Project, load_project
from .rates import RateCard, RateCardModel, load_card, shipped_cards
from .validation import check_against_card
from .vocabulary import (APPROACHES, CONTRACTS, LANGS, PARTIES, UNIT_COUNTS, UNITS,
                         get_lang, lang_from_env, researcher_words, say, set_lang, words_of)

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Price university–industry research collaborations from a rate card "
                       "(MEXT/METI handbook approaches X, A, B and C).")
rates_app = typer.Typer(no_args_is_help=True, help="Check, show and describe rate cards.")
project_app = typer.Typer(no_args_is_help=True, help="Check and describe project files.")
app.add_typer(rates_app, name="rates")
app.add_typer(project_app, name="project")


def _console() -> Console:
    # Wide enough for the table when output goes to a file or a pipe.
    return Console(width=None if sys.stdout.isatty() else 140, highlight=False)


def _fail(message: str, code: int, kind: tuple[str, str] = ("入力エラー", "input error")
          ) -> None:
    """Print one error line, ``入力エラー / input error: p.toml: field = value: expected
    ...`` (``--lang en``: ``input error: ...``), and exit with ``code``."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]{escape(say(*kind))}:[/bold red] {message}", markup=True)
    raise typer.Exit(code)


INTERNAL = ("内部エラー", "internal error")


def _internal_error(exc: BaseException) -> None:
    if os.environ.get("XL_PRICING_DEBUG"):
        raise exc
    _fail(escape(f"{type(exc).__name__}: {exc} ")
          + f"({say('詳細は XL_PRICING_DEBUG=1 で表示', 'set XL_PRICING_DEBUG=1 for details')})",
          1, INTERNAL)


def handles_input_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn bad input into one message and exit code 2; anything else into exit code 1.

    Bad input is an :class:`InputError`, or an ``OSError`` about a file the user named
    (unreadable, a folder, a full disk).  Everything else -- a ``RecursionError``, a
    ``UnicodeDecodeError`` or an ``OSError`` without a file name included -- is a bug of
    ours and stays exit code 1 with "internal error": the readers of input files turn their
    own such failures into InputError where they happen.
    """

    @wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except InputError as exc:
            _fail(escape(exc.message), 2)
        except OSError as exc:
            if exc.filename is None:
                _internal_error(exc)
            _fail(escape(InputError("file", str(exc.filename), "a file that can be read or "
                                    f"written ({exc.strerror or exc})").message), 2)
        except Exception as exc:  # noqa: BLE001 - last line of defence for a user
            _internal_error(exc)

    return run


RatesOpt = typer.Option(None, "--rates", "-r", help="Rate card: a .toml path or a card id "
                        "(shipped, or in the XL_PRICING_RATES folder). Default: jp-default.")
JsonOpt = typer.Option(False, "--json", help="Print one JSON object instead of a table.")


def _card(rates: Optional[str]) -> RateCard:
    """The card ``--rates`` names (default: jp-default)."""
    try:
        return load_card(rates)
    except InputError as exc:
        # An unknown card id names the option it came from.
        raise (InputError("--rates", exc.value, exc.expected) if exc.field == "card"
               and not exc.source else exc) from None


def _load(project_path: Path, rates: Optional[str]) -> tuple[Project, RateCard]:
    return load_project(project_path), _card(rates)


def _checked(project_file: Path, rates: Optional[str]) -> tuple[Project, RateCard, Quote]:
    """Load a project and its card and run the one check every command shares
    (:func:`~xl_pricing.validation.check_against_card`); the quote it priced."""
    project, card = _load(project_file, rates)
    return project, card, check_against_card(project, card, str(project_file))


MAX_TARGET = Decimal(10) ** 15  # as for every amount a cell may hold (cells.MAX_MAGNITUDE)


def target_yen(text: str) -> Decimal:
    """``--target`` as whole yen: ``12000000``, ``12,000,000`` or ``12_000_000``.

    >>> target_yen("12,000,000")
    Decimal('12000000')
    """
    try:
        goal = Decimal(text.replace(",", "").replace("_", "").strip())
    except InvalidOperation:
        raise InputError("--target", text, "a total in yen, such as 12000000") from None
    if not goal.is_finite() or goal < 0 or goal >= MAX_TARGET \
            or goal != goal.to_integral_value():
        raise InputError("--target", text, "a whole number of yen >= 0 and below 10^15")
    return goal


def _priced(project_file: Path, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """Run an engine call; an error it finds in the project names the project file."""
    try:
        return fn(*args, **kw)
    except InputError as exc:
        if exc.field.startswith("--"):  # about a command-line option, not the file
            raise
        raise exc.in_source(str(project_file)) from None


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def _unit(component: str, unit: str | None) -> str | None:
    """A line's unit ("h", "day", "month", "researcher_year" …); time charges without one
    are hourly."""
    return unit or ("h" if component == "time_charge" else None)


# Lines whose rate is yen, never a fraction (研究料, unit fees): shown as yen even without
# a unit (a quote JSON written before lines carried one).
_YEN_RATED = frozenset({"time_charge", "research_fee", "unit_fee"})


def _rate_text(component: str, rate: Decimal | None, unit: str | None = None) -> str:
    """``¥30,000/h``, ``¥96,000/日`` (``--lang en``: ``¥96,000/day``), a 研究料's
    ``¥440,000/年`` (``/year``), a unit fee's ``¥800,000/月``; other rates as %."""
    if rate is None:
        return ""
    u = _unit(component, unit)
    if u is not None or component in _YEN_RATED:
        amount = rate.quantize(Decimal(1)) if rate != rate.to_integral_value() else int(rate)
        if u is None or u not in UNITS and u != "h":
            return f"¥{amount:,}"
        per = "h" if u == "h" else (UNITS[u][0] if get_lang() == "ja" else UNITS[u][1])
        return f"¥{amount:,}/{per}"
    return fmt_rate(rate)


def _base_text(component: str, base: Decimal | None, unit: str | None = None,
               fte: Decimal | None = None) -> str:
    """``200 h``, ``10 日 / days`` (``--lang en``: ``10 days``), with the FTE (4 decimals)
    under a time charge's; a 研究料's ``1 名 / researchers``; other bases in yen."""
    if base is None:
        return ""
    u = _unit(component, unit)
    if u is not None and (u == "h" or u in UNIT_COUNTS):
        count = f"{base.normalize():f}"
        text = f"{count} h" if u == "h" else f"{count} {say(*UNIT_COUNTS[u])}"
        return text + (f"\n{fte:.4f} FTE" if fte is not None else "")
    if component in _YEN_RATED:
        return f"{base.normalize():f}"  # a count, never yen
    return fmt_yen(base)


def _quote_table(q: Quote, title: str) -> Table:
    t = Table(title=title, title_justify="left", show_lines=False)
    for name, just in ((say("項目", "Component"), "left"), (say("基礎", "Base"), "right"),
                       (say("単価・率", "Rate"), "right"),
                       (say("金額（円）", "Amount (JPY)"), "right"),
                       (say("根拠", "Source"), "left")):
        t.add_column(name, justify=just)  # type: ignore[arg-type]
    for ln in q.lines:
        label = ln.label_en if get_lang() == "en" else f"{ln.label_ja}\n{ln.label_en}"
        t.add_row(escape(label), _base_text(ln.component, ln.base, ln.unit, ln.fte),
                  _rate_text(ln.component, ln.rate, ln.unit), fmt_yen(ln.amount),
                  escape(ln.source))
    t.add_section()
    t.add_row(say("合計", "Total"), "", "", f"[bold]{fmt_yen(q.total)}[/bold]", "")
    return t


def _approach_words(code: str) -> str:
    """``A 欧米型積み上げ方式 / A Western-standard stacking`` (en: ``approach A
    (Western-standard stacking)``)."""
    return say(APPROACHES[code][0], APPROACHES[code][1]) if get_lang() == "ja" \
        else f"approach {code} ({APPROACH_NAMES[code]})"


def _warn(con: Console, text: str) -> None:
    con.print(f"[yellow]{escape(say('警告', 'warning'))}:[/yellow] {escape(words_of(text))}",
              soft_wrap=True)


@app.command("quote")
@handles_input_errors
def quote_cmd(project_file: Path = typer.Argument(..., metavar="PROJECT",
                                                  help="Project file (.toml or .json)."),
              rates: Optional[str] = RatesOpt, as_json: bool = JsonOpt) -> None:
    """Price a project by its approach and print the quote."""
    project, card, q = _checked(project_file, rates)
    if as_json:
        # The inputs travel with the quote, so `rates diff --scan` can re-price it later.
        _print_json({**quote_to_dict(q, project, card),
                     "inputs": project.model_dump(mode="json", exclude_none=True)})
        return
    con = _console()
    info = project.project
    con.print(_quote_table(q, escape(f"{info.id} — {info.title}") + "\n" + escape(
        f"{_approach_words(q.approach)}, {say(*CONTRACTS[info.contract])}, "
        f"{info.start} – {info.end}")))
    years = q.by_year()
    if len(years) > 1:
        con.print(say("年度別", "by fiscal year") + ": "
                  + ", ".join(f"FY{y} {fmt_yen(a)}" for y, a in years.items()), soft_wrap=True)
    extras = q.extras
    if "consumption_tax_included" in extras:  # prices quoted including tax (the card says)
        con.print(f"{say('うち消費税', 'of which consumption tax')} "
                  f"{fmt_rate(card.model.consumption_tax.rate)}: "
                  f"{fmt_yen(Decimal(extras['consumption_tax_included']))}", soft_wrap=True)
    if "implied_indirect_ratio_text" in extras and extras["implied_indirect_ratio_text"]:
        con.print(f"{say('間接経費の実質比率', 'implied indirect ratio')}: "
                  f"{extras['implied_indirect_ratio_text']}", soft_wrap=True)
    if "package" in extras and extras["package"]["allocations"]:  # type: ignore[index]
        pkg = extras["package"]
        con.print(f"{say('パッケージ', 'package')}: "
                  f"{say('配分済', 'allocated')} {fmt_yen(Decimal(pkg['allocated']))}, "  # type: ignore[index]
                  f"{say('残額', 'remaining')} {fmt_yen(Decimal(pkg['remaining']))}",  # type: ignore[index]
                  soft_wrap=True)
    if "scenarios" in extras:
        sc = extras["scenarios"]
        scen = {"low": ("低位", "low"), "base": ("基準", "base"), "high": ("高位", "high")}
        con.print(say("シナリオ", "scenarios") + ": " + ", ".join(
            f"{say(*scen.get(s, (s, s)))} {fmt_yen(Decimal(v['total']))}"  # type: ignore[index]
            for s, v in sc.items()), soft_wrap=True)  # type: ignore[union-attr]
    alloc = allocate(q, card)
    con.print(say("収入の配分", "split of proceeds") + ": " + ", ".join(
        f"{say(*PARTIES.get(p, (p, p)))} {fmt_yen(a)}" for p, a in alloc.by_party.items()
        if a), soft_wrap=True)
    fa_int = q.extras.get("internal", {}).get("fa")  # costing rules: internal figures only
    if fa_int:
        con.print(f"内部 / internal: {fa_int['label_ja']} / {fa_int['label_en']} "
                  f"{fmt_yen(Decimal(fa_int['under_recovery']))} (institute "
                  f"{fmt_yen(Decimal(fa_int['institute_fa']))} − applied "
                  f"{fmt_yen(Decimal(fa_int['applied_fa']))})", markup=False)
    if alloc.unrecovered:
        con.print(f"内部 / internal: 未回収の費用 / unrecovered costs "
                  f"{fmt_yen(alloc.unrecovered)}", markup=False)
    if project.tax.use_credit:
        tc = tax_credit(q.pre_tax_total(), card, project.tax.partner, project.tax.corporate_tax)
        con.print(f"{say('企業の研究開発税制控除額', 'R&D tax credit for the company')}: "
                  f"{fmt_yen(tc.credit)} ({tc.reason})", soft_wrap=True)
    for w in q.warnings:
        _warn(con, w)
    rc = q.rate_card
    con.print(f"{say('単価表', 'rate card')} {rc['id']} v{rc['version']} "
              f"sha256 {rc['sha256'][:16]}… ({card.rounding.describe()})", soft_wrap=True)


@app.command("compare")
@handles_input_errors
def compare_cmd(project_file: Path = typer.Argument(..., metavar="PROJECT"),
                rates: Optional[str] = RatesOpt, as_json: bool = JsonOpt) -> None:
    """Show every applicable approach for a project side by side."""
    project, card, _ = _checked(project_file, rates)
    cmp = _priced(project_file, compare, project, card)
    if as_json:
        _print_json({**cmp.to_dict(), "project": project.project.id,
                     "rate_card": card.provenance()})
        return
    comps: list[str] = []
    for q in cmp.quotes:
        for ln in q.lines:
            if ln.component not in comps:
                comps.append(ln.component)
    t = Table(title=escape(f"{project.project.id}: "
                           + say("方式の比較", "approaches side by side")),
              title_justify="left")
    t.add_column(say("項目", "Component"))
    for q in cmp.quotes:
        mark = " ◀" if q.approach == cmp.chosen else ""
        name = say(APPROACHES[q.approach][0].split(" ", 1)[-1], APPROACH_NAMES[q.approach],
                   sep="\n")
        t.add_column(f"{q.approach}{mark}\n{escape(name)}", justify="right")
    for c in comps:
        ja, en = LABELS[c]
        t.add_row(escape(say(ja, en)), *[fmt_yen(q.amount_of(c)) if any(
            ln.component == c for ln in q.lines) else "—" for q in cmp.quotes])
    t.add_section()
    t.add_row(say("合計", "Total"), *[f"[bold]{fmt_yen(q.total)}[/bold]" for q in cmp.quotes])
    con = _console()
    con.print(t)
    for ap, reason in cmp.skipped:
        con.print(say(f"方式 {ap} は表示しません", f"approach {ap} not shown") + f": {reason}",
                  markup=False, soft_wrap=True)


@app.command("backsolve")
@handles_input_errors
def backsolve_cmd(project_file: Path = typer.Argument(..., metavar="PROJECT"),
                  target: str = typer.Option(..., "--target", help="Target total in yen."),
                  researcher: Optional[int] = typer.Option(
                      None, "--researcher", help="Solve only this researcher's rate: its "
                      "number, counted from 1 as in the project file's order (1 = the "
                      "first); default: one rate for all researchers."),
                  solve: str = typer.Option("rate", "--solve", help="'rate': the hourly "
                                            "rate; 'time-charge': the time-charge total."),
                  rates: Optional[str] = RatesOpt, as_json: bool = JsonOpt) -> None:
    """Find the hourly rate (or time-charge total) that prices a project at a target."""
    goal = target_yen(target)
    if solve not in ("rate", "time-charge"):
        raise InputError("--solve", solve, "'rate' or 'time-charge'")
    project, card, _ = _checked(project_file, rates)
    if researcher is not None and not 1 <= researcher <= len(project.researchers):
        from .pricing.backsolve import researchers_expected

        if not project.researchers:
            raise InputError("researchers", [], "at least one researcher whose rate can be "
                             "solved", str(project_file))
        raise InputError("--researcher", researcher,
                         researchers_expected(project, say("研究者", "researchers")))
    if solve == "rate":
        res = _priced(project_file, backsolve_rate, project, card, goal, researcher)
    else:
        res = _priced(project_file, backsolve_time_charge, project, card, goal)
    if as_json:
        _print_json({**res.to_dict(), "solve": solve, "project": project.project.id,
                     "rate_card": card.provenance()})
        return
    con = _console()
    total = f"{say('合計', 'total')} {fmt_yen(res.total)}"
    if solve == "rate":
        if researcher is None:
            who = say("全研究者", "every researcher")
        else:
            who = say(*researcher_words(researcher, project.researchers[researcher - 1].name))
        con.print(f"{say('単価', 'rate for')} {escape(who)}: ¥{res.rate:,}/h → {total}",
                  soft_wrap=True)
    else:
        con.print(f"{say('タイムチャージ総額', 'time-charge total')}: {fmt_yen(res.rate)} → "
                  f"{total}", soft_wrap=True)
    con.print(say("一致: 目標額に1円単位で一致", "exact: the target is met to the yen")
              if res.exact else
              say(f"残差: 目標額まで {fmt_yen(res.residual)}（端数処理の刻み。単価を1円上げると超過）",
                  f"residual: {fmt_yen(res.residual)} below the target (rounding steps; the "
                  "next yen per hour overshoots)"), soft_wrap=True)
    for w in res.warnings:
        _warn(con, w)


@rates_app.command("check")
@handles_input_errors
def rates_check(cards: list[str] = typer.Argument(..., metavar="CARD...",
                                                  help="Rate card paths or ids.")) -> None:
    """Validate rate cards; print each card's id, version and sha256."""
    for ref in cards:
        card = load_card(ref)
        typer.echo(f"ok  {card.id} v{card.version}  sha256 {card.sha256}  ({card.path})")


@rates_app.command("show")
@handles_input_errors
def rates_show(card_ref: str = typer.Argument("jp-default", metavar="CARD"),
               as_json: bool = JsonOpt) -> None:
    """Show a rate card as a readable table."""
    card = load_card(card_ref)
    if as_json:
        _print_json({"rate_card": card.provenance(),
                     "content": json.loads(card.model.model_dump_json())})
        return
    t = Table(title=f"Rate card {card.id}", title_justify="left")
    t.add_column("Setting")
    t.add_column("Value")
    for k, v in card.summary_rows():
        t.add_row(k, v)
    _console().print(t)


@rates_app.command("list")
def rates_list() -> None:
    """List the shipped rate cards."""
    for cid, path in shipped_cards().items():
        typer.echo(f"{cid}\t{path}")


@rates_app.command("diff")
@handles_input_errors
def rates_diff(old_ref: str = typer.Argument(..., metavar="OLD", help="The card as it was "
                                             "(a path or an id)."),
               new_ref: str = typer.Argument(..., metavar="NEW", help="The card as it is "
                                             "now (a path or an id)."),
               scan_dir: Optional[Path] = typer.Option(
                   None, "--scan", help="Folder of quotes (JSON from `quote --json`) and "
                   "workbooks (from `build`): those made with OLD are re-priced with NEW."),
               as_json: bool = JsonOpt) -> None:
    """What changed between two versions of a rate card, and what it moves (--scan)."""
    from .rates.diff import change_rows, diff_cards, scan

    old, new = load_card(old_ref), load_card(new_ref)
    changes = diff_cards(old, new)
    found = scan(scan_dir, old, new) if scan_dir is not None else None
    if as_json:
        out: dict[str, Any] = {"old": old.provenance(), "new": new.provenance(),
                               "changes": [c.to_dict() for c in changes]}
        if found is not None:
            out["scan"] = found.to_dict()
        _print_json(out)
        return
    con = _console()
    t = Table(title=escape(f"料金表の変更 / Rate-card changes: {old.id} v{old.version} → "
                           f"{new.id} v{new.version}"), title_justify="left")
    for name in ("項目 / Setting", "旧 / Old", "新 / New", "種類 / Change"):
        t.add_column(name, overflow="fold")
    for row in change_rows(changes):
        t.add_row(*(escape(x) for x in row))
    con.print(t)
    if not changes:
        con.print("変更なし / no changes", markup=False)
    con.print(f"sha256 {old.sha256[:16]}… → {new.sha256[:16]}…", markup=False)
    if found is None:
        return
    s = Table(title=escape(f"旧料金表で作成したファイル / Files made with {old.id} "
                           f"v{old.version} in {scan_dir}"), title_justify="left")
    for name, just in (("ファイル / File", "left"), ("種類 / Kind", "left"),
                       ("案件 / Project", "left"), ("旧合計 / Old total", "right"),
                       ("新合計 / New total", "right"), ("差 / Change", "right"),
                       ("備考 / Note", "left")):
        s.add_column(name, justify=just)  # type: ignore[arg-type]
    kinds = {"quote": "見積 / quote", "workbook": "ブック / workbook"}
    for a in found.affected:
        d = a.difference
        s.add_row(escape(a.file), kinds[a.kind], escape(a.project or ""),
                  "" if a.old_total is None else fmt_yen(a.old_total),
                  "" if a.new_total is None else fmt_yen(a.new_total),
                  "" if d is None else ("+" if d > 0 else "") + fmt_yen(d), escape(a.note))
    con.print(s)
    con.print(f"{len(found.affected)} 件が旧料金表で作成 / made with the old card; "
              f"{found.other_files} 件はその他 / other files left alone", markup=False)


@rates_app.command("schema")
def rates_schema() -> None:
    """Print the JSON Schema of a rate card."""
    _print_json(RateCardModel.model_json_schema())


@project_app.command("check")
@handles_input_errors
def project_check(files: list[Path] = typer.Argument(..., metavar="PROJECT..."),
                  rates: Optional[str] = RatesOpt) -> None:
    """Validate project files against a rate card: what passes here, quote and build
    accept."""
    card = _card(rates)
    for f in files:
        p = load_project(f)
        check_against_card(p, card, str(f))
        typer.echo(f"ok  {p.project.id}  approach {p.project.approach}  ({f})")


@project_app.command("schema")
def project_schema() -> None:
    """Print the JSON Schema of a project file."""
    _print_json(Project.model_json_schema())


@app.command("build")
@handles_input_errors
def build_cmd(out: Path = typer.Option(..., "--out", help="Folder to write into."),
              rates: Optional[str] = RatesOpt,
              project_file: Optional[Path] = typer.Option(
                  None, "--project", help="Pre-fill the workbook for this project."),
              target: str = typer.Option("native", "--target",
                                         help="native (the default: built-in Excel "
                                              "functions only, opens anywhere), udf (XLP_ "
                                              "functions, needs the xlwings add-in) or "
                                              "officejs."),
              standard: bool = typer.Option(False, "--standard", help="Write the standard "
                                            "workbooks of every shipped card, every target."),
              force: bool = typer.Option(False, "--force",
                                         help="Replace existing files (atomically).")) -> None:
    """Write the standard workbook(s): quote, forms, comparison and split of proceeds."""
    from .workbook import TARGETS, build

    if target not in TARGETS:
        raise InputError("--target", target, "udf, native or officejs")
    if out.exists() and not out.is_dir():
        raise InputError("--out", str(out), "a folder to write the workbook into (this is a "
                         "file; the workbook's name comes from the card and project id)")
    if standard:
        if project_file is not None or rates is not None:
            raise InputError("--standard", True, "no --project or --rates with --standard")
        for cid in shipped_cards():
            for t in TARGETS:
                typer.echo(str(build(load_card(cid), None, t, out, force, field="--out")))
        return
    project = load_project(project_file) if project_file is not None else None
    card = load_card(rates)
    if project is not None:
        from .pricing import with_card_names

        project = with_card_names(project, card)  # 教授 → professor, as the quote reads it
    path = _priced(project_file or Path("--project"), build, card, project, target, out, force,
                   field="--out")
    typer.echo(str(path))


@app.command("batch")
@handles_input_errors
def batch_cmd(table: Path = typer.Argument(..., metavar="PROJECTS.csv|.xlsx"),
              out: Path = typer.Option(..., "--out", help="Folder for the workbooks and "
                                       "summary.xlsx."),
              rates: Optional[str] = RatesOpt,
              target: str = typer.Option("native", "--target",
                                        help="native (default, as build), udf or officejs."),
              on_error: str = typer.Option("skip", "--on-error",
                                           help="skip a bad row (default) or stop the run."),
              workers: Optional[int] = typer.Option(None, "--workers",
                                                    help="Processes (default: all cores)."),
              force: bool = typer.Option(False, "--force", help="Replace existing files.")
              ) -> None:
    """Price a table of projects: one workbook per row and a summary workbook."""
    from .batch import run_batch, sanitize

    try:
        result = run_batch(table, out, card=rates, target=target, workers=workers,
                           on_error=on_error, force=force, progress=sys.stderr.isatty())
    except InputError as exc:  # the Python API's argument names as this command's options
        flag = {"out_dir": "--out", "target": "--target"}.get(exc.field)
        raise (InputError(flag, exc.value, exc.expected, exc.source) if flag else exc) \
            from None
    con = _console()
    present = f", {result.present} already present" if result.present else ""
    present_ja = f"、既存 {result.present} 件" if result.present else ""
    con.print(say(f"ワークブック {result.written} 件を作成{present_ja}、失敗 {result.failed} 行、"
                  f"合計 {fmt_yen(Decimal(result.total))}、集計: {result.summary}",
                  f"{result.written} workbooks written{present}, {result.failed} rows failed; "
                  f"total {fmt_yen(Decimal(result.total))}; summary: {result.summary}"),
              markup=False, soft_wrap=True)
    for err in result.errors:
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"{say('入力エラー', 'input error')}: {sanitize(err.message)}", markup=False)
    if result.failed:
        raise typer.Exit(2)


def _json(value: Any) -> Any:
    """A recalculated value as JSON: whole numbers as int, tables as lists, dates as ISO."""
    from .recalc import plain  # recalc loads the engines: only for this command

    if isinstance(value, list):
        return [_json(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return plain(value)


def _recalc_cells(workbook: Path, inputs: dict[str, Any], engine: str, override: bool,
                  refs: list[str], all_formulas: bool) -> dict[str, Any]:
    """``recalc --cells`` / ``--all-formulas``: computed cells by 'Sheet'!A1 (office)."""
    from .recalc import Recalculator

    book = Recalculator(workbook, engine=engine)
    book.calculate(inputs, override=override, names=())
    out: dict[str, Any] = {}
    for ref in refs:
        try:
            out.update(book.cell_values(ref, dates=True))
        except InputError as exc:
            raise InputError("--cells", ref, exc.expected) from None
    if all_formulas:
        for ref in book.formula_cells():
            out.update(book.cell_values(ref, dates=True, empty=True))
    return {k: _json(v) for k, v in out.items()}


@app.command("recalc")
@handles_input_errors
def recalc_cmd(workbook: Path = typer.Argument(..., metavar="WORKBOOK"),
               set_: list[str] = typer.Option([], "--set", metavar="NAME=VALUE",
                                              help="Change an input (a defined name or "
                                                   "Sheet!Cell) before recalculating; "
                                                   "checked against the cell's data "
                                                   "validation."),
               override: bool = typer.Option(False, "--override",
                                             help="Let --set replace a formula cell."),
               engine: str = typer.Option("auto", "--engine",
                                          help="auto, formulon, formulas or libreoffice."),
               as_json: bool = JsonOpt,
               cells_: list[str] = typer.Option([], "--cells", metavar="SHEET!A1:D40",
                                                help="Report these computed cells "
                                                     "(repeatable) instead of the defined "
                                                     "names; empty cells are left out."),
               all_formulas: bool = typer.Option(False, "--all-formulas",
                                                 help="Report every formula cell's "
                                                      "computed value.")) -> None:
    """Recalculate a workbook headlessly (XLP_ functions included) and print every defined
    name with its value (or, with --cells / --all-formulas, computed cells)."""
    from .recalc import parse_inputs, recalculate

    if cells_ or all_formulas:
        values = _recalc_cells(workbook, parse_inputs(set_), engine, override, cells_,
                               all_formulas)
    else:
        values = {k: _json(v) for k, v in recalculate(workbook, parse_inputs(set_),
                                                       engine=engine, override=override,
                                                       dates=True).items()}
    if as_json:
        _print_json(values)
        return
    t = Table(title=escape(str(workbook)), title_justify="left")
    t.add_column("セル / Cell" if cells_ or all_formulas else "Name")
    t.add_column("Value", justify="right")
    for k, v in values.items():
        t.add_row(escape(k), escape(f"{v:,}" if isinstance(v, int) and not isinstance(v, bool)
                            else str(v)))
    _console().print(t)


@app.command("pdf")
@handles_input_errors
def pdf_cmd(workbook: Path = typer.Argument(..., metavar="WORKBOOK"),
            out: Path = typer.Option(..., "--out", help="The PDF to write."),
            sheet: Optional[str] = typer.Option(None, "--sheet",
                                                help="Only this sheet (e.g. 'Form (new)')."),
            force: bool = typer.Option(False, "--force", help="Replace an existing PDF "
                                       "(never the workbook itself)."),
            timeout: float = typer.Option(120.0, "--timeout", help="Seconds the whole "
                                          "command may take: checking the workbook, "
                                          "preparing one sheet, LibreOffice.")) -> None:
    """Export the quotation or an application form to PDF through LibreOffice (A4)."""
    from . import libreoffice

    deadline = libreoffice.Deadline(timeout, "--timeout")  # starts now: the whole command
    refuse_inputs([out], [workbook], "--out")
    try:
        libreoffice.require_native(workbook, deadline, field="WORKBOOK")
        path = libreoffice.export_pdf(workbook, out, sheet=sheet, force=force,
                                      deadline=deadline, field="WORKBOOK", out_field="--out",
                                      sheet_field="--sheet")
    except libreoffice.LibreOfficeTimeout:
        raise InputError("--timeout", timeout, f"more seconds to print {workbook} (it was not "
                         "done in time; LibreOffice and its helpers were stopped)") from None
    except libreoffice.LibreOfficeNotFound as exc:
        _fail(escape(str(exc)), 1)  # the machine's set-up, not the user's input
    except libreoffice.LibreOfficeError as exc:
        # Our checks passed it, LibreOffice could not print it: say so in one line, with
        # LibreOffice's own last word.
        said = (exc.stderr.strip().splitlines() or [""])[-1] or str(exc).splitlines()[0]
        raise InputError("WORKBOOK", str(workbook), "a workbook LibreOffice can open and "
                         f"print (LibreOffice: {said.strip()})") from None
    typer.echo(str(path))


# -- lint: the office's own workbook (xl_pricing.office.lint) ------------------------------

@app.command("lint")
@handles_input_errors
def lint_cmd(workbook: Path = typer.Argument(..., metavar="WORKBOOK"),
             rates: Optional[str] = RatesOpt,
             as_json: bool = JsonOpt) -> None:
    """Lint an office's own workbook: formulas that break their neighbours' pattern, typed
    numbers, rates that differ from the card (or are typed instead of referenced, with
    --rates), unused inputs, references to empty cells, error values, old fiscal-year labels,
    totals that do not add up.  Exit 0: no findings, 1: findings, 2: bad input."""
    from .office.lint import KINDS, lint_workbook

    card = _card(rates)
    findings = lint_workbook(workbook, card, typed_rates=rates is not None)
    if as_json:
        _print_json({"findings": [f.to_dict() for f in findings], "count": len(findings)})
    elif not findings:
        typer.echo(f"{workbook}: 指摘なし / no findings (料率表 / card {card.id} "
                   f"v{card.version})")
    else:
        t = Table(title=escape(f"{workbook} — 料率表 / card {card.id} v{card.version}"),
                  title_justify="left", show_lines=True)
        for head in ("セル / Cell", "種類 / Kind", "内容 / What", "理由 / Why"):
            t.add_column(head, overflow="fold")
        for f in findings:
            ja, en = KINDS[f.kind]
            t.add_row(escape(f.where), escape(f"{ja}\n{en} ({f.kind})"),
                      escape(f"{f.what_ja}\n{f.what_en}"), escape(f.why))
        console = _console()
        console.print(t)
        console.print(f"指摘 {len(findings)} 件 / {len(findings)} finding"
                      f"{'' if len(findings) == 1 else 's'}")
    if findings:
        raise typer.Exit(1)


excel_app = typer.Typer(no_args_is_help=True, help="Set up the XLP_ Excel functions.")
app.add_typer(excel_app, name="excel")


def xlwings_conf_lines(interpreter: str, platform: str, rates_dir: str | None) -> list[str]:
    """Lines of xlwings.conf that let desktop Excel call the XLP_ functions."""
    key = "INTERPRETER_MAC" if platform == "mac" else "INTERPRETER_WIN"
    lines = [f'"{key}","{interpreter}"', '"UDF MODULES","xl_pricing.udfs"']
    if rates_dir:
        lines.append(f'"XL_PRICING_RATES","{rates_dir}"')
    return lines


def _merge_conf(path: Path, lines: list[str]) -> None:
    """Merge ``lines`` into an xlwings.conf file: same keys replaced, others kept; the old
    file is kept as ``.bak`` and the new one replaces it atomically."""
    from .files import write_file

    keys = {ln.split(",", 1)[0].strip('"').upper() for ln in lines}
    before = path.read_bytes() if path.is_file() else None
    old = before.decode("utf-8-sig", errors="replace").splitlines() if before else []
    kept = [ln for ln in old if ln.split(",", 1)[0].strip().strip('"').upper() not in keys]
    if before is not None:
        write_file(path.with_suffix(path.suffix + ".bak"), before, replace=True,
                   field="--config-file")
    write_file(path, ("\n".join([*kept, *lines]) + "\n").encode("utf-8"), replace=True,
               field="--config-file")


@excel_app.command("setup")
@handles_input_errors
def excel_setup(write: bool = typer.Option(False, "--write", help="Merge the settings into "
                                           "the xlwings.conf file (a .bak copy is kept)."),
                config_file: Optional[Path] = typer.Option(
                    None, "--config-file", help="xlwings.conf to write; default: the "
                    "user's ~/.xlwings/xlwings.conf."),
                rates_dir: Optional[Path] = typer.Option(
                    None, "--rates-dir", help="Folder of the institution's rate cards "
                    "(XL_PRICING_RATES)."),
                platform: str = typer.Option(
                    "mac" if sys.platform == "darwin" else "win", "--platform",
                    help="win or mac: which interpreter key to write.")) -> None:
    """Print (or write) the xlwings.conf settings for desktop Excel."""
    if platform not in ("win", "mac"):
        raise InputError("--platform", platform, "win or mac")
    if rates_dir is not None and not rates_dir.is_dir():
        raise InputError("--rates-dir", str(rates_dir), "an existing folder of rate cards")
    lines = xlwings_conf_lines(sys.executable, platform,
                               str(rates_dir.resolve()) if rates_dir else None)
    if not write:
        typer.echo("# xlwings.conf (the xlwings add-in's settings; or set them in the "
                   "add-in's ribbon)")
        typer.echo("\n".join(lines))
        return
    if config_file is None:
        import xlwings

        config_file = Path(xlwings.USER_CONFIG_FILE)
    _merge_conf(config_file, lines)
    typer.echo(f"wrote {len(lines)} settings to {config_file}")


@excel_app.command("serve")
@handles_input_errors
def excel_serve(host: str = typer.Option("127.0.0.1", "--host",
                                         help="Address to listen on; 127.0.0.1 (default): "
                                         "this machine only."),
                port: int = typer.Option(8000, "--port"),
                certfile: Optional[Path] = typer.Option(None, "--ssl-certfile"),
                keyfile: Optional[Path] = typer.Option(None, "--ssl-keyfile"),
                auth: str = typer.Option(
                    "none", "--auth", help="Who may call: entraid (Microsoft Entra ID "
                    "tokens), custom (tokens listed as sha256 digests in "
                    "XL_PRICING_AUTH_TOKENS) or none (anyone who can connect; loopback "
                    "only unless --allow-anonymous)."),
                entraid_client_id: Optional[str] = typer.Option(
                    None, "--entraid-client-id", help="Entra ID app registration's "
                    "application (client) id (XLWINGS_AUTH_ENTRAID_CLIENT_ID)."),
                entraid_tenant_id: Optional[str] = typer.Option(
                    None, "--entraid-tenant-id", help="The university's directory (tenant) "
                    "id (XLWINGS_AUTH_ENTRAID_TENANT_ID)."),
                required_role: list[str] = typer.Option(
                    [], "--required-role", help="A role every caller must have (repeat for "
                    "several; XLWINGS_AUTH_REQUIRED_ROLES)."),
                allow_anonymous: bool = typer.Option(
                    False, "--allow-anonymous", help="Serve without authentication on an "
                    "address other machines can reach.")) -> None:
    """Serve the functions to Excel on the web / Office.js with xlwings Server (extra).

    Authentication is xlwings Server's own: --auth sets its XLWINGS_AUTH_* settings (see
    README "Server: security and authentication").
    """
    from .server import auth_environment, server_environment

    key = os.environ.get("XLWINGS_LICENSE_KEY")
    if not key:
        raise InputError("XLWINGS_LICENSE_KEY", InputError.MISSING,
                         "'noncommercial' for noncommercial use (universities and public "
                         "research organisations: PolyForm Noncommercial 1.0.0), or a paid "
                         "xlwings licence key")
    if (certfile is None) != (keyfile is None):
        raise InputError("--ssl-keyfile" if keyfile is None else "--ssl-certfile",
                         InputError.MISSING, "both --ssl-certfile and --ssl-keyfile")
    env = auth_environment(auth, host, client_id=entraid_client_id,
                           tenant_id=entraid_tenant_id, roles=required_role,
                           allow_anonymous=allow_anonymous)
    os.environ.update(server_environment(key))
    os.environ.update(env)
    os.environ.setdefault("XLWINGS_ENVIRONMENT", "prod")  # the namespace is then exactly XLP
    try:
        import uvicorn
        import xlwings_server  # noqa: F401
    except ImportError:
        raise InputError("xlwings-server", "not installed",
                         "pip install 'xl-pricing[server]'") from None
    ssl = {"ssl_certfile": str(certfile), "ssl_keyfile": str(keyfile)} if certfile else {}
    uvicorn.run("xl_pricing.server.app:app", host=host, port=port, **ssl)


# -- attach (issue 15): the card (and the pricing, with a map) in the office's own workbook --

@app.command("attach")
@handles_input_errors
def attach_cmd(workbook: Path = typer.Argument(..., metavar="WORKBOOK",
                                               help="The office's own .xlsx/.xlsm (only read)."),
               rates: Optional[str] = RatesOpt,
               out: Path = typer.Option(..., "--out", help="The new workbook to write "
                                        "(.xlsx, or .xlsm for a workbook with macros)."),
               map_file: Optional[Path] = typer.Option(None, "--map", metavar="MAP",
                                                       help="Office map (.toml): formulas in "
                                                       "its output cells, checks on its "
                                                       "input cells."),
               target: str = typer.Option("native", "--target", help="native (built-in "
                                          "Excel functions) or udf (XLP_ calls)."),
               force: bool = typer.Option(False, "--force", help="Replace an existing "
                                          "--out (never the workbook itself).")) -> None:
    """Write a copy of an office's workbook with the rate card attached: a Rates sheet,
    names for its rates, provenance and, with --map, formulas that price the mapped cells."""
    from .files import write_file
    from .office.attach import TARGETS, attach_report
    from .office.map import load_map
    from .xlsx import check_workbook

    if target not in TARGETS:
        raise InputError("--target", target, "native or udf")
    inputs = [workbook, *([map_file] if map_file else [])]
    refuse_inputs([out], inputs, "--out")
    check_workbook(workbook, "WORKBOOK")
    card = _card(rates)
    refuse_inputs([out], [card.path], "--out")
    office_map = load_map(map_file, workbook) if map_file else None
    data, done = attach_report(workbook, card, office_map, target)  # type: ignore[arg-type]
    want = ".xlsm" if done.vba else ".xlsx"
    if out.suffix.lower() != want:
        raise InputError("--out", str(out), f"a file name ending in {want} (" + (
            "the workbook has macros: Excel opens them only from .xlsm" if done.vba
            else "the workbook has no macros") + ")")
    path = write_file(out, data, replace=force, field="--out")
    con = _console()
    con.print(escape(f"{path}: シート / sheet {done.sheet!r}, 名前 / names "
                     f"{len(done.names)}, 数式 / formulas {len(done.outputs)}, "
                     f"入力規則 / checks {len(done.validations)}"))
    for cell, why in done.skipped.items():
        con.print(escape(f"  入力規則なし / no check on {cell}: {why}"))


# -- the office's own workbook: map init, check (issue 15, office) --------------------------
map_app = typer.Typer(no_args_is_help=True, help="Office maps: which cells of an office's "
                      "own workbook hold the project's inputs and the engine's figures.")
app.add_typer(map_app, name="map")


@map_app.command("init")
@handles_input_errors
def map_init_cmd(workbook: Path = typer.Argument(..., metavar="WORKBOOK"),
                 out: Optional[Path] = typer.Option(None, "--out", metavar="MAP.toml",
                                                    help="Map to write; default: "
                                                    "WORKBOOK's name + .map.toml beside it."),
                 force: bool = typer.Option(False, "--force",
                                            help="Replace an existing map.")) -> None:
    """Write a starting office map by finding labelled cells (直接経費, 間接経費, 合計,
    開始日, Direct costs, F&A, MTDC, Total ...) and say what could not be placed."""
    from .files import write_file
    from .office.finder import find_labels, map_text
    from .xlsx import check_workbook

    check_workbook(workbook, "WORKBOOK")
    target = out if out is not None else workbook.with_name(workbook.stem + ".map.toml")
    refuse_inputs([target], [workbook], "--out")
    if target.suffix.lower() != ".toml":  # the map is TOML, as --map reads it
        raise InputError("--out", str(target), "a map file name ending in .toml "
                         "(対応表は TOML です)")
    found = find_labels(workbook)
    write_file(target, map_text(found, workbook).encode("utf-8"), replace=force,
               field="--out")
    con = _console()
    con.print(escape(f"対応表を書きました / wrote {target}"))
    t = Table(title="配置 / placed", title_justify="left")
    for col in ("キー / key", "セル / cell", "ラベル / label"):
        t.add_column(col)
    for p in (*found.inputs, *found.outputs):
        t.add_row(escape(p.key), escape(p.cell), escape(f"{p.label_cell} {p.label}"))
    for key, rng, cols in found.tables:
        t.add_row(escape(key), escape(rng), escape("表 / table: " + ", ".join(
            c or "-" for c in cols)))
    con.print(t)
    for k, v in found.values.items():
        con.print(escape(f"推定 / guessed: {k} = {v} (確認してください / confirm)"))
    for at, label, why in found.unplaced:
        con.print(escape(f"配置できません / not placed: {at} {label}: {why}"))
    if not any(p.key in ("start", "project.start") for p in found.inputs):
        con.print("配置できません / not placed: 開始日 / start (ラベルが見つかりません / "
                  "no label found)")


@app.command("check")
@handles_input_errors
def check_cmd(workbook: Path = typer.Argument(..., metavar="WORKBOOK"),
              map_file: Path = typer.Option(..., "--map", metavar="MAP",
                                            help="The office map (map init writes one)."),
              rates: Optional[str] = RatesOpt,
              engine: str = typer.Option("auto", "--engine",
                                         help="Recalculation: auto, formulon, formulas or "
                                              "libreoffice."),
              as_json: bool = JsonOpt) -> None:
    """Check an office's own workbook against the engine: every mapped output's workbook
    value, the engine's and the difference. Exit 0 all agree, 1 any differ, 2 bad input."""
    from .office.check import check_against_engine
    from .office.figures import output_label
    from .office.map import load_map

    m = load_map(map_file, workbook)
    card = _card(rates)
    result = check_against_engine(workbook, m, card, engine=engine)
    if as_json:
        _print_json(result.to_dict())
    else:
        t = Table(title=escape(f"{workbook} ⇔ {card.id} {card.version}"),
                  title_justify="left")
        for col, just in (("項目 / figure", "left"), ("セル / cell", "left"),
                          ("様式 / workbook", "right"), ("エンジン / engine", "right"),
                          ("差 / difference", "right"), ("", "left")):
            t.add_column(col, justify=just)  # type: ignore[arg-type]
        for o in result.outputs:
            ja, en = output_label(o.key)
            shown = (fmt_yen(Decimal(str(o.workbook))) if isinstance(o.workbook, (int, float))
                     and not isinstance(o.workbook, bool) else str(o.workbook))
            diff = "" if o.difference is None else (
                "0" if o.agrees else f"{o.difference.normalize():+,f}")
            t.add_row(escape(f"{ja} / {en}"), escape(o.cell), escape(shown),
                      fmt_yen(o.engine), diff, "✓" if o.agrees else "[red]✗[/red]")
        con = _console()
        con.print(t)
        n = len(result.differing)
        con.print("すべて一致 / all agree" if result.agrees else
                  f"[red]{n} 件不一致 / {n} differ[/red]: "
                  + escape(", ".join(o.cell for o in result.differing)))
    if not result.agrees:
        raise typer.Exit(1)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"xl-pricing {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version,
                                      is_eager=True, help="Print the version."),
         lang: Optional[str] = typer.Option(
             None, "--lang", help="Words people read: ja (default: Japanese with English "
             "beside it) or en (English only); or set XLP_LANG. JSON is the same in both.")
         ) -> None:
    """xl-pricing: pricing university–industry research collaborations."""
    chosen = lang_from_env(lang)
    set_lang(chosen)
    if chosen not in LANGS:
        set_lang("ja")
        where = "--lang" if lang is not None else "XLP_LANG"
        _fail(escape(InputError(where, lang if lang is not None else os.environ.get(
            "XLP_LANG"), "ja or en").message), 2)


def run() -> None:  # console-script entry point
    app()


if __name__ == "__main__":
    run()

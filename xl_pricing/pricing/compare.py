"""Every applicable approach for one project, side by side.

X and A apply to every project (A with no researchers is direct + F&A + strategic); B needs
an agreed total and C outcome terms.  The project's own approach is marked.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError
from ..project import Project
from ..rates import RateCard
from .quote import Quote


@dataclass(frozen=True)
class Comparison:
    chosen: str
    quotes: tuple[Quote, ...]
    skipped: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict[str, object]:
        return {"chosen": self.chosen,
                "approaches": [{"approach": q.approach, "total": int(q.total),
                                "components": _by_component(q)} for q in self.quotes],
                "skipped": [{"approach": a, "reason": r} for a, r in self.skipped]}


def _by_component(q: Quote) -> dict[str, int]:
    out: dict[str, int] = {}
    for ln in q.lines:
        out[ln.component] = out.get(ln.component, 0) + int(ln.amount)
    return out


def applicable(project: Project) -> list[tuple[str, str | None]]:
    """(approach, reason it does not apply or None) for X, A, B, C."""
    return [("X", None), ("A", None),
            ("B", None if project.total is not None else "no agreed total ([total] table)"),
            ("C", None if project.outcome is not None else "no outcome terms ([outcome])")]


def compare(project: Project, card: RateCard) -> Comparison:
    """Quote the project by each applicable approach with the same card."""
    from . import quote  # the dispatcher lives in the package

    quotes, skipped = [], []
    for ap, reason in applicable(project):
        if reason is not None:
            skipped.append((ap, reason))
            continue
        variant = project.model_copy(update={
            "project": project.project.model_copy(update={"approach": ap})})
        try:
            quotes.append(quote(variant, card))
        except InputError as exc:
            if ap == project.project.approach:
                raise
            skipped.append((ap, exc.message))
    return Comparison(project.project.approach, tuple(quotes), tuple(skipped))

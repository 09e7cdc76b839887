"""Generated projects and the native workbooks built from them, for the recalculation
benchmarks: many different workbooks of the kind offices make, not one file copied.

``generate(n, seed)`` gives ``n`` project dicts (what a project TOML file holds), cycling
through the four approaches (X, A, B, C) with seeded random sizes: 1-3 fiscal years, 1-4
researchers of the default card's ranks, 1-3 direct cost lines. The same ``(n, seed)``
always gives the same projects. ``build_native(projects, folder)`` writes one native
workbook per project with the workbook builder.
"""

from __future__ import annotations

import io
import random
from datetime import date
from pathlib import Path
from typing import Any

RANKS = ("professor", "associate_professor", "lecturer", "assistant_professor", "postdoc",
         "doctoral_student")
CONTRACTS = ("joint", "sponsored")
APPROACHES = ("X", "A", "B", "C")
CATEGORIES = ("consumables", "travel", "equipment", "outsourcing")


def _researchers(rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for k in range(rng.randint(1, 4)):
        r: dict[str, Any] = {"name": f"Researcher {k + 1}", "rank": rng.choice(RANKS),
                             "rate_source": "rank"}
        if rng.random() < 0.3:  # effort months: hours = 1,860 × effort × months ÷ 12
            r["months"] = rng.randint(3, 12)
            r["effort"] = rng.choice((0.05, 0.1, 0.2, 0.25))
        else:
            r["hours"] = rng.randrange(10, 400, 5)
        out.append(r)
    return out


def _direct(rng: random.Random) -> list[dict[str, Any]]:
    cats = rng.sample(CATEGORIES, rng.randint(1, 3))
    return [{"category": c, "amount": rng.randrange(100_000, 8_000_000, 10_000)} for c in cats]


def project(i: int, rng: random.Random) -> dict[str, Any]:
    """The ``i``-th generated project (approach ``APPROACHES[i % 4]``) as a project dict.

    >>> p = project(2, random.Random(1))
    >>> p["project"]["approach"], "total" in p
    ('B', True)
    """
    approach = APPROACHES[i % len(APPROACHES)]
    fy = 2027
    years = rng.randint(1, 3)
    data: dict[str, Any] = {
        "project": {"id": f"BENCH-{i:04d}", "title": f"Generated project {i}",
                    "contract": rng.choice(CONTRACTS), "approach": approach,
                    "start": date(fy, 4, 1), "end": date(fy + years, 3, 31),
                    "department": "Engineering", "company": "Example K.K."},
        "direct": _direct(rng),
        "researchers": _researchers(rng),
    }
    if approach == "B":
        # agreed at or above the direct costs, as the engine requires
        direct = sum(d["amount"] for d in data["direct"])
        data["total"] = {"agreed": direct + rng.randrange(0, 40_000_000, 100_000)}
    if approach == "C":
        base = rng.randrange(10_000_000, 200_000_000, 1_000_000)
        data["outcome"] = {
            "royalty_rate": rng.choice((0.01, 0.02, 0.03)), "contribution": 0.5,
            "lump_sum": rng.randrange(0, 3_000_000, 100_000),
            "sales": [{"fiscal_year": fy + 1 + k, "low": base // 2 * (k + 1),
                       "base": base * (k + 1), "high": base * 2 * (k + 1)}
                      for k in range(rng.randint(1, 3))]}
    return data


def generate(n: int, seed: int = 2027) -> list[dict[str, Any]]:
    """``n`` project dicts, the same for the same ``(n, seed)``.

    >>> [p["project"]["approach"] for p in generate(5)]
    ['X', 'A', 'B', 'C', 'X']
    """
    rng = random.Random(seed)
    return [project(i, rng) for i in range(n)]


def build_native(projects: list[dict[str, Any]], folder: Path) -> list[Path]:
    """One native workbook per project dict in ``folder`` (default card); their paths.

    Each goes through ``parse_project`` (so a generated project is a valid one) and the
    workbook builder, and is written with ``xl_pricing.files.write_file``.
    """
    from xl_pricing.files import write_file
    from xl_pricing.project import parse_project
    from xl_pricing.rates import load_card
    from xl_pricing.workbook import build_workbook

    card = load_card(None)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for data in projects:
        p = parse_project(data, f"generated project {data['project']['id']}")
        buf = io.BytesIO()
        build_workbook(card, p, "native").save(buf)
        path = folder / f"{data['project']['id']}-native.xlsx"
        write_file(path, buf.getvalue(), replace=True)
        paths.append(path)
    return paths

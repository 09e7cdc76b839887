"""The words people read and type: Japanese and English names for the codes of a project,
a card and a quote.

Codes (``joint``, ``on``, ``X``) stay the machine names in files and JSON; people read
``共同研究 / joint research`` and may type either the code or a Japanese or English name
(:func:`code_for`).  Price-component labels live with the quote (``pricing.quote.LABELS``)
and form boxes with the forms (``pricing.forms.BOX_LABELS``); this module holds the rest.
"""

from __future__ import annotations

from typing import Mapping

Words = tuple[str, str]  # (Japanese, English)

CONTRACTS: dict[str, Words] = {
    "joint": ("共同研究", "joint research"),
    "sponsored": ("受託研究", "sponsored research"),
    "consulting": ("学術指導", "academic consulting"),
}
ACTIVITIES: dict[str, Words] = {
    "research": ("研究", "research"),
    "instruction": ("教育", "instruction"),
    "other": ("その他の活動", "other sponsored activity"),
}
LOCATIONS: dict[str, Words] = {
    "on": ("学内", "on campus"),
    "off": ("学外", "off campus"),
}
APPROACHES: dict[str, Words] = {
    "X": ("X 積み上げ方式（現行）", "X input-cost accumulation"),
    "A": ("A 欧米型積み上げ方式", "A Western-standard stacking"),
    "B": ("B 総額方式", "B total amount agreed"),
    "C": ("C 成果連動方式", "C outcome-linked"),
}
PARTIES: dict[str, Words] = {
    "researcher": ("研究者", "researcher"),
    "lab": ("研究室", "lab"),
    "department": ("部局", "department"),
    "university": ("大学本部", "university"),
    "reserve": ("積立金", "reserve"),
}
RATE_SOURCES: dict[str, Words] = {
    "rank": ("職位別単価", "rank rate"),
    "salary": ("平均基準単価（給与÷年間時間）", "salary ÷ annual hours"),
    "achievement": ("実績別単価", "achievement rate"),
    "laureate": ("受賞者単価", "laureate rate"),
    "consulting": ("学術指導単価", "academic-consulting rate"),
    "day_rate": ("日額単価", "day rate"),
    "custom": ("個別単価", "custom rate"),
}
# The unit a time charge is counted in, as printed beside a quantity and a rate.
UNITS: dict[str, Words] = {
    "h": ("時間", "h"),
    "day": ("日", "day"),
    "month": ("月", "month"),
}
# Figures of a quote that are neither a component nor a form box (office map outputs).
FIGURES: dict[str, Words] = {
    "total": ("合計", "Total"),
    "pre_tax_total": ("合計（税抜）", "Total before consumption tax"),
    "mtdc": ("MTDC（修正直接経費総額）", "Modified total direct costs"),
}

def both(words: Words, sep: str = " / ") -> str:
    """``"受託研究 / sponsored research"``: Japanese first, English beside it.

    Example:
        >>> both(CONTRACTS["sponsored"])
        '受託研究 / sponsored research'
    """
    return f"{words[0]}{sep}{words[1]}"


def code_for(text: str, table: Mapping[str, Words]) -> str | None:
    """The code whose code, Japanese or English name is ``text`` (English case-insensitive,
    surrounding blanks ignored); ``None`` when nothing matches.

    Example:
        >>> code_for("受託研究", CONTRACTS), code_for("Sponsored research", CONTRACTS)
        ('sponsored', 'sponsored')
        >>> code_for("受託研究 / sponsored research", CONTRACTS)
        'sponsored'
    """
    t = text.strip()
    for code, (ja, en) in table.items():
        if t in (code, ja, both((ja, en))) or t.casefold() == en.casefold():
            return code
    return None

"""The words people read and type: Japanese and English names for the codes of a project,
a card and a quote.

Codes (``joint``, ``on``, ``X``) stay the machine names in files and JSON; people read
``共同研究 / joint research`` and may type either the code or a Japanese or English name
(:func:`code_for`).  Price-component labels live with the quote (``pricing.quote.LABELS``)
and form boxes with the forms (``pricing.forms.BOX_LABELS``); this module holds the rest.
"""

from __future__ import annotations

import os
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
    "monthly": ("月額単価", "monthly rate"),
    "negotiated": ("交渉単価", "negotiated rate"),
}
# What an achievement-based rate counts (time_charge.achievement tiers' ``basis``).
ACHIEVEMENT_BASES: dict[str, Words] = {
    "publications": ("論文数", "publications"),
    "citations": ("被引用数", "citations"),
    "years": ("研究年数", "years in the field"),
}
# Which end of a day-rate reference's range a researcher is priced at.
DAY_RATE_BOUNDS: dict[str, Words] = {
    "min": ("下限", "minimum"),
    "max": ("上限", "maximum"),
}
# The R&D tax credit's partner kinds (``tax.partner``; a card's ``tax_credit.partner_rates``
# keys): the open-innovation type's rate depends on whom the company works with.
TAX_PARTNERS: dict[str, Words] = {
    "university": ("大学等", "university"),
    "national_institute": ("国立研究開発法人等", "national research institute"),
    "startup": ("研究開発型ベンチャー", "R&D startup"),
    "company": ("他の企業", "other company"),
}
# The unit a time charge is counted in, as printed beside a quantity and a rate.
UNITS: dict[str, Words] = {
    "h": ("時間", "h"),
    "day": ("日", "day"),
    "month": ("月", "month"),
    # 研究料 lines: yen per (company researcher and) year or period of N months
    "researcher_year": ("年", "year"),
    "researcher_period": ("期間", "period"),
    "project_year": ("年", "year"),
    "project_period": ("期間", "period"),
    "quantity_year": ("年", "year"),
    "quantity_period": ("期間", "period"),
}
# Figures of a quote that are neither a component nor a form box (office map outputs).
FIGURES: dict[str, Words] = {
    "total": ("合計", "Total"),
    "pre_tax_total": ("合計（税抜）", "Total before consumption tax"),
    "mtdc": ("MTDC（修正直接経費総額）", "Modified total direct costs"),
}
# Direct-cost categories 2 CFR 200.1 leaves out of modified total direct costs (MTDC), by
# the code a card's ``fa.mtdc_excluded`` lists (costing rules).
MTDC_CATEGORIES: dict[str, Words] = {
    "equipment": ("設備備品費", "equipment"),
    "capital_expenditures": ("資本的支出", "capital expenditures"),
    "patient_care": ("患者診療費", "patient care"),
    "rental_costs": ("賃借料", "rental costs"),
    "tuition_remission": ("授業料免除", "tuition remission"),
    "scholarships_fellowships": ("奨学金・フェローシップ", "scholarships and fellowships"),
    "participant_support": ("参加者支援費", "participant support costs"),
    "subaward": ("再委託費", "subaward"),
}
# Direct-cost categories by their codes (a template's own lines, MTDC's exclusions), for
# the words a quote shows beside them: "消耗品費 / consumables".  A project's own category
# text is shown as typed.
DIRECT_CATEGORIES: dict[str, Words] = {
    "consumables": ("消耗品費", "consumables"),
    "travel": ("旅費", "travel"),
    "part_time_staff": ("謝金・人件費", "part-time staff"),
    "other": ("その他", "other"),
    **MTDC_CATEGORIES,
}
OTHER_CATEGORIES: Words = ("その他の区分", "other categories")


def category_words(category: str) -> str:
    """How a quote names a direct-cost category: its Japanese and English words for a known
    code, else the category as typed.

    >>> category_words("consumables"), category_words("試薬")
    ('消耗品費 / consumables', '試薬')
    """
    words = DIRECT_CATEGORIES.get(category)
    return both(words) if words else category


# IP terms a price floor is chosen by (costing rules; Cambridge's three levels).
IP_TERMS: dict[str, Words] = {
    "keeps_ip": ("大学が知財を保有（オプション権のみ）", "university keeps the IP (option)"),
    "non_exclusive": ("通常実施権の自動許諾", "automatic non-exclusive licence"),
    "exclusive": ("独占的実施権・譲渡", "exclusive licence or assignment"),
}

# Plural (English) and the counter word (Japanese) beside a quantity: "10 日 / days".
UNIT_COUNTS: dict[str, Words] = {
    "h": ("時間", "h"),
    "day": ("日", "days"),
    "month": ("か月", "months"),
    # what a 研究料 line's base counts: company researchers, the project, another quantity
    "researcher_year": ("名", "researchers"),
    "researcher_period": ("名", "researchers"),
    "project_year": ("件", "project"),
    "project_period": ("件", "project"),
    "quantity_year": ("単位", "units"),
    "quantity_period": ("単位", "units"),
}

# Rank names people type (DOMAIN.md "Japanese names users type") → the rank codes cards
# use.  A card's own ``label_ja`` / ``label_en`` are matched first (RateCard.rank_code);
# an alias resolves only to a rank the card has.
RANK_ALIASES: dict[str, str] = {
    "教授": "professor", "prof": "professor", "prof.": "professor",
    "准教授": "associate_professor", "助教授": "associate_professor",
    "assoc. prof.": "associate_professor", "associate prof.": "associate_professor",
    "講師": "lecturer",
    "助教": "assistant_professor", "assistant prof.": "assistant_professor",
    "助手": "assistant",
    "特任教授": "project_professor", "特任准教授": "project_associate_professor",
    "ポスドク": "postdoc", "博士研究員": "postdoc", "postdoctoral researcher": "postdoc",
    "post-doc": "postdoc",
    "博士課程": "doctoral_student", "博士課程学生": "doctoral_student",
    "博士後期課程": "doctoral_student", "phd student": "doctoral_student",
    "修士課程": "masters_student", "修士課程学生": "masters_student",
    "master's student": "masters_student",
    "技術職員": "research_engineer",
}

# -- which words a person reads: "ja" Japanese first with English beside it, "en" English --

LANGS = ("ja", "en")
_lang = "ja"


def lang_from_env(value: str | None = None) -> str:
    """The display language: ``value`` (``--lang``), else ``XLP_LANG``, else ``"ja"``.

    ``"ja"`` shows Japanese with English beside it; ``"en"`` English only.  Codes in files
    and JSON never change.

    >>> lang_from_env("en")
    'en'
    """
    chosen = (value or os.environ.get("XLP_LANG") or "ja").strip().lower()
    return chosen.split("_")[0].split("-")[0]  # "ja_JP.UTF-8" → "ja"


def set_lang(lang: str) -> None:
    """Set the display language for :func:`say` (the CLI does, from ``--lang``)."""
    global _lang
    _lang = lang if lang in LANGS else "ja"


def get_lang() -> str:
    return _lang


def say(ja: str, en: str, sep: str = " / ") -> str:
    """Words for a person in the display language: ``"合計 / Total"`` or ``"Total"``.

    >>> set_lang("ja"); say("合計", "Total")
    '合計 / Total'
    >>> set_lang("en"); say("合計", "Total")
    'Total'
    >>> set_lang("ja")
    """
    return en if _lang == "en" else f"{ja}{sep}{en}"


class Said(str):
    """An English message that also carries its Japanese (``.ja``): it *is* the English
    text (JSON, tests and logs see English), and :meth:`words` gives what a person reads in
    the display language.

    >>> w = Said("researcher 1: below the standard", "研究者 1: 標準を下回る")
    >>> w == "researcher 1: below the standard", w.ja
    (True, '研究者 1: 標準を下回る')
    """

    ja: str

    def __new__(cls, en: str, ja: str = "") -> "Said":
        obj = super().__new__(cls, en)
        obj.ja = ja
        return obj

    def __reduce__(self) -> tuple[object, ...]:  # survives pickling (batch workers)
        return (Said, (str(self), self.ja))

    def words(self) -> str:
        return say(self.ja, str(self)) if self.ja else str(self)


def words_of(text: str) -> str:
    """A message in the display language: a :class:`Said` in both, other text as it is."""
    return text.words() if isinstance(text, Said) else text


def researcher_words(number: int, name: str = "") -> Words:
    """How a message names a researcher: numbered from 1, with the name when there is one.

    >>> both(researcher_words(1, "Prof. Sato"))
    '研究者 1 (Prof. Sato) / researcher 1 (Prof. Sato)'
    """
    tail = f" ({name})" if name else ""
    return (f"研究者 {number}{tail}", f"researcher {number}{tail}")


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

"""Rate cards: an institution's pricing policy as validated, hashed data.

* :mod:`.schema` — the pydantic models a card file must satisfy and its value types;
* :mod:`.card` — :class:`RateCard`, a validated card with its provenance and lookups;
* :mod:`.loading` — finding cards by path or id, reading them (size-limited) and the one
  cache (resolved path, modification time, size; checked on every lookup).

Rates are stored as fractions (``0.30`` means 30%) and displayed as percentages.
"""

from __future__ import annotations

from .card import RateCard
from .loading import (CARD_ID, DEFAULT_CARD, deep_merge, load_card, load_card_id, parse_card,
                      read_card_document, resolve_card, shipped_cards, templates_dir)
from .schema import (FA, MAX_YEN, PARTIES, AchievementTier, Activity, Allocation, Base,
                     CardInfo, ConsumptionTax, Contract, Contributions, DayRate, FARate,
                     Fraction, Hours, Hours2, Indirect, Laureate, Location, Money,
                     Option, OutcomeDefaults, Party, PositiveMoney, PositiveYen, Rank,
                     RateCardModel, RoundingSpec, Share, Strategic, StrategicBase,
                     TaxCredit, TimeCharge, Yen, _Model, places, validate_value)
from .schema import (IP_TERMS, CostRecovery, IPTerms, Multiple, PriceFloor, SponsorCap,
                     SubawardThreshold, Tier)

__all__ = ["CARD_ID", "DEFAULT_CARD", "FA", "MAX_YEN", "PARTIES", "AchievementTier",
           "Activity", "Allocation", "Base", "CardInfo", "ConsumptionTax", "Contract",
           "Contributions", "DayRate", "FARate", "Fraction", "Hours", "Hours2", "Indirect",
           "Laureate", "Location", "Money", "Option", "OutcomeDefaults", "Party",
           "PositiveMoney", "PositiveYen", "Rank", "RateCard", "RateCardModel",
           "RoundingSpec", "Share", "Strategic", "StrategicBase", "TaxCredit", "TimeCharge",
           "Yen", "_Model", "deep_merge", "load_card", "load_card_id", "parse_card", "places",
           "read_card_document", "resolve_card", "shipped_cards", "templates_dir",
           "validate_value",
           "IP_TERMS", "CostRecovery", "IPTerms", "Multiple", "PriceFloor", "SponsorCap",
           "SubawardThreshold", "Tier"]

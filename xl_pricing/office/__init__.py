"""The office's own workbook: a map from its cells to project keys and engine figures, and
the check of its formulas against the engine.

- :mod:`.map`: the office map (TOML) — which cells hold which project inputs and which hold
  which outputs; :func:`load_map`, :func:`read_inputs`.
- :mod:`.figures`: output keys (``total``, ``lines.fa``, ``form.indirect`` ...) → the
  engine's figures, in one function.
- :mod:`.check`: every mapped output of the workbook against the engine.
- :mod:`.finder`: a starting map from the workbook's labels (``map init``).
"""

from __future__ import annotations

from .check import CheckResult, Output, check_against_engine
from .figures import OUTPUT_KEYS, engine_figures, is_output_key, output_label
from .finder import find_labels, map_text
from .map import OfficeMap, Table, canonical_ref, load_map, parse_map, read_inputs

__all__ = ["OUTPUT_KEYS", "CheckResult", "OfficeMap", "Output", "Table", "canonical_ref",
           "check_against_engine", "engine_figures", "find_labels", "is_output_key",
           "load_map", "map_text", "output_label", "parse_map", "read_inputs"]

"""The office's own workbook: a map from its cells to project keys and engine figures, and
the check of its formulas against the engine.

- :mod:`.map`: the office map (TOML) — which cells hold which project inputs and which hold
  which outputs; :func:`load_map`, :func:`read_inputs`.
- :mod:`.figures`: output keys (``total``, ``lines.fa``, ``form.indirect`` ...) → the
  engine's figures, in one function.
"""

from __future__ import annotations

from .figures import OUTPUT_KEYS, engine_figures, is_output_key
from .map import OfficeMap, Table, load_map, parse_map, read_inputs

__all__ = ["OUTPUT_KEYS", "OfficeMap", "Table", "engine_figures", "is_output_key",
           "load_map", "parse_map", "read_inputs"]

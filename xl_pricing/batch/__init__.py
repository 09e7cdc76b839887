"""Batch quoting: one workbook per row of a table of projects, and a summary workbook.

A table (``.csv`` or ``.xlsx``) holds one project per row; its header names are the key
paths :func:`~xl_pricing.cells.project_from_pairs` takes (``id``, ``contract``,
``approach``, ``start``, ``end``, ``direct.consumables``, ``researchers.1.rank``,
``researchers.1.hours``, ``total.agreed``, ``outcome.sales.1.base`` ...).  See
``templates/projects/batch-example.csv``.

* :mod:`.table` reads a table into rows (encodings, column names, cell values);
* :mod:`.run` prices the rows in processes and writes their workbooks;
* :mod:`.summary` writes ``summary.xlsx``: what was written, what was there, what failed.
"""

from .run import OnError, clean_old_temporaries, run_batch
from .summary import (LARGE_CONTRACT, PRESENT, SUMMARY_NAME, WRITTEN, BatchResult,
                      QuoteRecord, RowError, sanitize)
from .table import (TEXT_KEYS, Refused, cell_value, column_kind, column_of, count_rows,
                    detect_encoding, read_table)

__all__ = ["run_batch", "read_table", "count_rows", "BatchResult", "RowError", "QuoteRecord",
           "SUMMARY_NAME", "LARGE_CONTRACT", "WRITTEN", "PRESENT", "column_of", "cell_value",
           "column_kind", "detect_encoding", "Refused", "TEXT_KEYS", "sanitize", "OnError",
           "clean_old_temporaries"]

"""The XLP functions as xlwings Server custom functions (see xl_pricing.udfs)."""

from xl_pricing.udfs import *  # noqa: F401,F403 - xlwings Server lists this module's functions

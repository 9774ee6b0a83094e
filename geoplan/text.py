"""Turning results into text people read: HTML escaping, JSON-safe values, plain counts.

One of each, so a map, a report, the app and ``--json`` output escape, round and pluralise alike.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


def esc(value: object) -> str:
    """HTML-escape any value for display (``None`` and NaN show as empty)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON: numpy scalars unwrapped, whole floats as ints, NaN/inf as ``None``.

    JSON has no NaN or Infinity, so a figure that cannot be computed is ``null``, never an
    invalid token; a count that happens to be held as a float (15035.0) is written 15035.
    """
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(item) for item in value]
    if isinstance(value, np.ndarray):
        return [json_safe(item) for item in value.tolist()]
    if isinstance(value, pd.DataFrame):
        return [json_safe(row) for row in value.to_dict(orient="records")]
    if isinstance(value, pd.Series):
        return json_safe(value.to_dict())
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def plural_word(count: float, singular: str, plural_form: str | None = None) -> str:
    """``centre`` or ``centres``, ``library`` or ``libraries``, by ``count``."""
    regular = f"{singular[:-1]}ies" if singular.endswith("y") and singular[-2:-1] not in "aeiou" else f"{singular}s"
    return singular if count == 1 else (plural_form or regular)


def plural(count: float, singular: str, plural_form: str | None = None) -> str:
    """``1 centre``, ``2 centres``, ``3 libraries``, ``1,204 children`` (give ``plural_form`` when not regular)."""
    shown = f"{count:,.0f}" if float(count).is_integer() else f"{count:,}"
    return f"{shown} {plural_word(count, singular, plural_form)}"

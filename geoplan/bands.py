"""Walking bands: the minutes planners think in, validated once for every command and file."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from geoplan.errors import InputError

#: The usual walking bands of early-years planning (minutes).
DEFAULT_BANDS: tuple[float, ...] = (10.0, 15.0, 20.0)

#: The band headline figures quote ("within a 15-minute walk").
HEADLINE_MINUTES = 15.0

#: Longest band accepted: beyond an hour nobody walks to a stay-and-play session.
MAX_BAND_MINUTES = 120.0

#: Most bands in one request.
MAX_BANDS = 12


def check_bands(minutes: str | float | Iterable[float], *, field: str = "minutes") -> tuple[float, ...]:
    """Parse and validate walking bands: ``"10,15,20"``, a number or numbers, each in (0, 120].

    Returns the bands sorted, each once (a band given twice is the same band).

    Raises
    ------
    InputError
        A band is not a number, not in (0, 120] minutes, or there are none or more than 12.
    """
    if isinstance(minutes, str):
        parts: list[object] = [part.strip() for part in minutes.split(",") if part.strip()]
    else:
        parts = list(np.atleast_1d(np.asarray(minutes, dtype=object)))
    try:
        values = sorted({float(part) for part in parts})
    except (TypeError, ValueError):
        msg = f"walking bands must be minutes such as 10,15,20, got {minutes!r}"
        raise InputError(msg, field=field) from None
    if not values:
        msg = "no walking band given; use minutes such as 10,15,20"
        raise InputError(msg, field=field)
    for band in values:
        if not math.isfinite(band) or not 0 < band <= MAX_BAND_MINUTES:
            msg = f"walking band {band:g} is out of range: give a positive number of minutes, at most {MAX_BAND_MINUTES:g}"
            raise InputError(msg, field=field)
    if len(values) > MAX_BANDS:
        msg = f"{len(values)} walking bands given; at most {MAX_BANDS}"
        raise InputError(msg, field=field)
    return tuple(values)

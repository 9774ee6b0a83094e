"""Straight-line travel-time estimates, for an area without a walking network.

Minutes are the straight-line distance × a circuity factor (the study area's calibrated
``network.crowfly_circuity``) at the profile's pace: an estimate, always marked
``method="crow-fly"`` so no figure made from it passes for a walk on the network.
"""

from __future__ import annotations

import numpy as np

from geoplan.errors import InputError
from geoplan.network import WalkProfile, get_profile
from geoplan.points import as_points
from geoplan.traveltime import CROW_FLY, TravelTimeMatrix, check_cutoff

#: Most origin × destination pairs of one crow-fly matrix: it is dense, 25 million pairs peak at about 1.2 GB.
MAX_CROWFLY_PAIRS = 20_000_000


def crowfly_matrix(
    origins: np.ndarray,
    destinations: np.ndarray,
    *,
    circuity: float,
    origin_ids: list[str] | None = None,
    destination_ids: list[str] | None = None,
    profile: str | float | WalkProfile = "walk",
    cutoff_minutes: float | None = None,
) -> TravelTimeMatrix:
    """Straight-line distance × ``circuity`` at the profile's pace: an estimate, marked ``crow-fly``."""
    pace = get_profile(profile)
    cutoff = check_cutoff(cutoff_minutes)
    if not np.isfinite(circuity) or circuity < 1:
        msg = f"circuity factor must be at least 1, got {circuity!r}"
        raise InputError(msg, field="crowfly_circuity")
    origins, origin_ids = as_points(origins, origin_ids)
    destinations, destination_ids = as_points(destinations, destination_ids)
    pairs = len(origins) * len(destinations)
    if pairs > MAX_CROWFLY_PAIRS:
        msg = (
            f"{len(origins):,} origins × {len(destinations):,} destinations is {pairs:,} pairs; crow-fly estimates "
            f"are made for at most {MAX_CROWFLY_PAIRS:,} at once (about 1 GB of memory)"
        )
        raise InputError(msg, field="origins")
    distance = np.hypot(origins[:, None, 0] - destinations[None, :, 0], origins[:, None, 1] - destinations[None, :, 1])
    minutes = distance * circuity / pace.metres_per_minute
    if cutoff is not None:
        minutes[minutes > cutoff] = np.inf
    return TravelTimeMatrix(
        origin_ids=origin_ids,
        destination_ids=destination_ids,
        table=minutes,
        method=CROW_FLY,
        profile=pace.name,
        speed_kmh=pace.speed_kmh,
        cutoff_minutes=cutoff,
        circuity=float(circuity),
        provenance={"circuity": float(circuity)},
    )

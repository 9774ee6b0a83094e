"""Venues and the sessions they host: project-owned facts files, geocoded by postcode.

A venue file is a CSV with ``venue_id, name, kind, status_2021, address, postcode, source, notes``.
A venue with no postcode is kept but marked ``located=False`` (its place is unknown and it
cannot reach anyone on a map); a postcode that is not a live postcode is an error.
A session file is a CSV with ``session_id, venue_id, title, session_type, day, frequency,
sessions_per_week, age_group, capacity, provider, source``.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geoplan import settings
from geoplan.errors import InputError
from geoplan.fileio import csv_line, read_csv

VENUE_KINDS = (
    "childrens_centre",
    "send_hub",
    "early_years_site",
    "library",
    "community_centre",
    "school",
    "health_clinic",
    "faith_hall",
    "foodbank",
    "leisure_centre",
)
#: Kinds that count as a children's centre when coverage is measured "to a centre".
CENTRE_KINDS = ("childrens_centre", "send_hub")
STATUSES_2021 = ("retained_centre", "early_years", "early_years_plus", "closed_before_2021", "n/a")
VENUE_COLUMNS = ("venue_id", "name", "kind", "status_2021", "address", "postcode", "source", "notes")
SESSION_COLUMNS = (
    "session_id",
    "venue_id",
    "title",
    "session_type",
    "day",
    "frequency",
    "sessions_per_week",
    "age_group",
    "capacity",
    "provider",
    "source",
)
#: UK postcode shape (outward code, space optional, inward code).
POSTCODE_PATTERN = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")
#: Largest sessions a week one session line can stand for (a daily session, morning and afternoon, is 14).
MAX_SESSIONS_PER_WEEK = 100
#: Largest capacity of one session (children); a big hall holds a few hundred.
MAX_CAPACITY = 10_000


def normalise_postcode(value: str) -> str:
    """Upper-case a postcode and put one space before the inward code (``da81lw`` → ``DA8 1LW``)."""
    compact = re.sub(r"\s+", "", str(value)).upper()
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact


def read_facts_csv(path: Path, required: tuple[str, ...], *, what: str) -> pd.DataFrame:
    """Read a project facts CSV as strings, checking it exists, is not empty, has ``required`` columns and unique ids.

    The first required column is the id of each ``what`` (``venue``, ``session``).
    """
    frame = read_csv(path)
    missing = [column for column in required if column not in frame.columns]
    if missing:
        msg = f"missing column(s) {', '.join(missing)}"
        raise InputError(msg, path=path, field=missing[0])
    if frame.empty:
        msg = "file has a header but no rows"
        raise InputError(msg, path=path)
    id_column = required[0]
    duplicated = frame[id_column][frame[id_column].duplicated()]
    if not duplicated.empty:
        msg = f"duplicate {what} id {duplicated.iloc[0]!r}"
        raise InputError(msg, path=path, line=csv_line(path, int(duplicated.index[0])), field=id_column)
    return frame


def load_venues(path: str | Path, postcodes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Read a venue facts file and place each venue at its postcode's centroid.

    Parameters
    ----------
    path
        The venue CSV.
    postcodes
        Postcode points (``postcode`` column, EPSG:27700) used as the gazetteer.

    Returns
    -------
    geopandas.GeoDataFrame
        The venues with ``located`` and a point geometry (empty where the venue has no postcode).

    Raises
    ------
    InputError
        Naming the row and field for a duplicate id, an unknown kind or status, a malformed
        postcode, or a postcode that is not in the postcode layer.
    """
    path = Path(path)
    venues = read_facts_csv(path, VENUE_COLUMNS, what="venue")
    lookup = postcodes.set_index("postcode").geometry
    points = []
    for index, venue in venues.iterrows():
        if not venue["venue_id"].strip():
            msg = "empty venue id"
            raise InputError(msg, path=path, line=csv_line(path, index), field="venue_id")
        if venue["kind"] not in VENUE_KINDS:
            msg = f"unknown kind {venue['kind']!r}; expected one of {', '.join(VENUE_KINDS)}"
            raise InputError(msg, path=path, line=csv_line(path, index), field="kind")
        if venue["status_2021"] not in STATUSES_2021:
            msg = f"unknown status {venue['status_2021']!r}; expected one of {', '.join(STATUSES_2021)}"
            raise InputError(msg, path=path, line=csv_line(path, index), field="status_2021")
        if not venue["postcode"].strip():
            points.append(None)
            continue
        postcode = normalise_postcode(venue["postcode"])
        if not POSTCODE_PATTERN.match(postcode):
            msg = f"malformed postcode {venue['postcode']!r}"
            raise InputError(msg, path=path, line=csv_line(path, index), field="postcode")
        if postcode not in lookup.index:
            msg = f"postcode {postcode} is not a live postcode in OS Code-Point Open within the study area"
            raise InputError(msg, path=path, line=csv_line(path, index), field="postcode")
        venues.loc[index, "postcode"] = postcode
        points.append(lookup.loc[postcode])
    venues["located"] = [point is not None for point in points]
    return gpd.GeoDataFrame(venues, geometry=gpd.GeoSeries(points, crs=settings.measure_crs))


def load_sessions(path: str | Path, venue_ids: pd.Series) -> pd.DataFrame:
    """Read a session facts file, checking every session points at a known venue.

    ``sessions_per_week`` and ``capacity`` become floats (``capacity`` NaN where unknown).
    """
    path = Path(path)
    sessions = read_facts_csv(path, SESSION_COLUMNS, what="session")
    known = set(venue_ids)
    for index, session in sessions.iterrows():
        if session["venue_id"] not in known:
            msg = f"unknown venue id {session['venue_id']!r}"
            raise InputError(msg, path=path, line=csv_line(path, index), field="venue_id")
    for column, largest in (("sessions_per_week", MAX_SESSIONS_PER_WEEK), ("capacity", MAX_CAPACITY)):
        numbers = pd.to_numeric(sessions[column].mask(sessions[column].eq("")), errors="coerce")
        bad = numbers.isna() & sessions[column].ne("") | ~(numbers.isna() | numbers.between(0, largest))
        if bad.any():
            index = int(bad[bad].index[0])
            msg = f"{sessions.loc[index, column][:40]!r} is not a number from 0 to {largest:,}"
            raise InputError(msg, path=path, line=csv_line(path, index), field=column)
        sessions[column] = numbers.astype(float)
    return sessions

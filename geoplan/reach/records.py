"""Registration and attendance records: how many children living in an area are registered, and attend.

:func:`analyse_reach` reads a CSV with one row per attendance (or per registration with no
attendance, the date left blank) and the columns ``child_id`` (pseudonymous), ``postcode``,
``date_of_birth`` or ``age_band``, ``venue`` and ``attendance_date``. Each child is placed at their
home postcode (OS Code-Point Open) and so in an LSOA, a ward and a national IMD decile; counts are
made by LSOA, ward, decile, for the 30% and 50% most deprived areas, and by month. A postcode
outside the study area counts as "outside the area"; one that is malformed or not found counts as
"unknown area" with a warning, never dropped.

These records are personal data. Nothing row-level (child id, postcode, date of birth, dates) is
written to any output, warning or error: a bad row is named by its row number and field only, and
every published count goes through :mod:`geoplan.reach.disclosure`.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan import settings
from geoplan.coverage import MOST_DEPRIVED_30_DECILES, MOST_DEPRIVED_50_DECILES
from geoplan.errors import InputError
from geoplan.fileio import atomic_directory, csv_line, read_csv, write_csv
from geoplan.reach.disclosure import (
    RATIO_DECIMALS,
    SUPPRESSED,
    LinkedCounts,
    apply_suppression,
    check_threshold,
    disclosure_rule,
)
from geoplan.studyarea import StudyArea
from geoplan.text import json_safe
from geoplan.venues import POSTCODE_PATTERN, normalise_postcode

#: Canonical record columns and the header spellings accepted for each (compared lower-case, ``_`` for spaces).
RECORD_ALIASES: dict[str, tuple[str, ...]] = {
    "child_id": ("child_id", "pseudonymous_id", "child_ref", "child_reference", "id"),
    "postcode": ("postcode", "post_code", "home_postcode"),
    "date_of_birth": ("date_of_birth", "dob", "birth_date"),
    "age_band": ("age_band", "age_group"),
    "venue": ("venue", "venue_id", "venue_name", "centre", "centre_name", "childrens_centre"),
    "attendance_date": ("attendance_date", "attended_on", "session_date", "date"),
}
REQUIRED_RECORD_COLUMNS = ("child_id", "postcode", "venue", "attendance_date")
AGE_COLUMNS = ("date_of_birth", "age_band")
#: Date spellings accepted in records: ISO and the UK day-first form.
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")

COUNT_MEASURES = ("registered", "attended_once_or_more", "attended_more_than_once", "attendances")
MONTHLY_MEASURES = ("children_attending", "attendances")
OUTSIDE_AREA = "outside_area"
UNKNOWN_AREA = "unknown_area"
TOTAL = "total"
ROW_LABELS = {OUTSIDE_AREA: "Outside the area", UNKNOWN_AREA: "Unknown area", TOTAL: "Total"}
DEPRIVED_GROUPS = {
    "imd_1_3": ("IMD deciles 1-3 (30% most deprived nationally)", MOST_DEPRIVED_30_DECILES),
    "imd_1_5": ("IMD deciles 1-5 (50% most deprived nationally)", MOST_DEPRIVED_50_DECILES),
}
DECILES = tuple(range(1, 11))


class ReachWarning(UserWarning):
    """A counted problem in the records that does not stop the analysis (never names a row's values)."""


def _canonical_columns(columns: Iterable[str], path: Path) -> dict[str, str]:
    spelled = {re.sub(r"[\s\-]+", "_", str(column).strip().lower()).replace("'", ""): column for column in columns}
    renames = {}
    for canonical, aliases in RECORD_ALIASES.items():
        found = [spelled[alias] for alias in aliases if alias in spelled]
        if found:
            renames[found[0]] = canonical
    present = set(renames.values())
    missing = [column for column in REQUIRED_RECORD_COLUMNS if column not in present]
    if not present.intersection(AGE_COLUMNS):
        missing.append("date_of_birth or age_band")
    if missing:
        msg = f"missing column(s) {', '.join(missing)}"
        raise InputError(msg, path=path, field=missing[0])
    return renames


def _parse_dates(values: pd.Series, path: Path, column: str, today: date) -> pd.Series:
    """Parse ISO or UK dates; blank stays NaT. A bad or future date names the row and field, never the value."""
    text = values.str.strip()
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for date_format in DATE_FORMATS:
        todo = parsed.isna() & text.ne("")
        parsed[todo] = pd.to_datetime(text[todo], format=date_format, errors="coerce")
    bad = parsed.isna() & text.ne("")
    if bad.any():
        msg = "not a date (expected YYYY-MM-DD or DD/MM/YYYY)"
        raise InputError(msg, path=path, line=csv_line(path, int(bad.idxmax())), field=column)
    future = parsed > pd.Timestamp(today)
    if future.any():
        msg = f"date is in the future (after {today.isoformat()})"
        raise InputError(msg, path=path, line=csv_line(path, int(future.idxmax())), field=column)
    return parsed


def read_records(path: str | os.PathLike[str], *, today: date | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """Read and check a registration/attendance records file.

    Parameters
    ----------
    path
        The records CSV.
    today
        Dates after this are errors (default: today).

    Returns
    -------
    tuple[pandas.DataFrame, dict[str, int]]
        The records with canonical columns (``attendance_date`` NaT for a registration with no
        attendance; exact duplicate rows removed) and counts of the problems found
        (``duplicate_rows``).

    Raises
    ------
    InputError
        The file is missing, empty or lacks a column; a child id is blank; a date is malformed or
        in the future. The message names the row and field, never the value.
    """
    path = Path(path)
    today = today or date.today()
    # utf-8-sig: spreadsheets often save a byte-order mark before the first header
    frame = read_csv(path, skipinitialspace=True, encoding="utf-8-sig")
    renames = _canonical_columns(frame.columns, path)
    if frame.empty:
        msg = "file has a header but no rows"
        raise InputError(msg, path=path)
    records = frame[list(renames)].rename(columns=renames)
    for column in AGE_COLUMNS:
        if column not in records.columns:
            records[column] = ""
    records = records.apply(lambda values: values.str.strip())
    blank_id = records["child_id"].eq("")
    if blank_id.any():
        msg = "child id is blank"
        raise InputError(msg, path=path, line=csv_line(path, int(blank_id.idxmax())), field="child_id")
    records["date_of_birth"] = _parse_dates(records["date_of_birth"], path, "date_of_birth", today)
    records["attendance_date"] = _parse_dates(records["attendance_date"], path, "attendance_date", today)
    duplicated = records.duplicated()
    records = records[~duplicated].reset_index(drop=True)
    return records, {"duplicate_rows": int(duplicated.sum())}


@dataclass
class ReachResult:
    """Reach aggregates, kept unsuppressed in memory and published only through disclosure control.

    Attributes
    ----------
    unprotected
        Table name → counts before suppression (for checks; never write these).
    masks
        Table name → boolean frame of the suppressed cells.
    threshold, suppress_zero
        The suppression rule applied.
    problems
        Counted problems in the records (duplicate rows, unknown or malformed postcodes...), as
        warned; ``problems_suppressed`` says which are shown as ``"X"`` in written outputs.
    months
        First and last month with an attendance (``YYYY-MM``), or ``None``.
    """

    area: StudyArea = field(repr=False)
    # kept out of repr so unsuppressed counts never reach a log or traceback
    unprotected: dict[str, pd.DataFrame] = field(repr=False)
    masks: dict[str, pd.DataFrame] = field(repr=False)
    threshold: int
    suppress_zero: bool
    problems: dict[str, int] = field(default_factory=dict, repr=False)
    problems_suppressed: dict[str, bool] = field(default_factory=dict)
    months: tuple[str, str] | None = None

    def published(self) -> dict[str, pd.DataFrame]:
        """Every table as published: suppressed counts as ``"X"``, ratios hidden where their count is."""
        out = {}
        for name, counts in self.unprotected.items():
            table = apply_suppression(_with_ratios(counts), self.masks[name])
            for ratio, numerator in (("reach", "registered"), ("share_of_attenders", "attended_once_or_more")):
                if ratio in table.columns:
                    hidden = self.masks[name][numerator]
                    table[ratio] = table[ratio].astype(object).where(~hidden, SUPPRESSED)
            out[name] = self._labelled(name, table)
        return out

    def _labelled(self, name: str, table: pd.DataFrame) -> pd.DataFrame:
        table = table.copy()
        if name == "lsoa":
            names = self.area.lsoas.set_index("lsoa_code")
            table.insert(0, "lsoa_name", names["lsoa_name"].reindex(table.index).to_numpy())
            table.insert(1, "ward_code", names["ward_code"].reindex(table.index).to_numpy())
            table.insert(2, "imd_decile", names["imd_decile"].reindex(table.index).to_numpy())
            table.index.name = "lsoa_code"
        elif name == "ward":
            names = self.area.wards.set_index("ward_code")["ward_name"].to_dict() | ROW_LABELS
            table.insert(0, "ward_name", [names[code] for code in table.index])
            table.index.name = "ward_code"
        elif name == "decile":
            table.insert(0, "group", [ROW_LABELS.get(row, f"IMD decile {row}") for row in table.index])
            table.index.name = "imd_decile"
        elif name == "deprived":
            table.insert(0, "group_name", [DEPRIVED_GROUPS[row][0] for row in table.index])
            table.index.name = "group"
        elif name == "monthly":
            table.index.name = "month"
        return table

    def to_dict(self) -> dict[str, object]:
        """JSON-safe summary: the rule, the problems counted, the totals and deprived shares as published."""
        tables = self.published()
        total = tables["ward"].loc[TOTAL]
        return {
            "area": self.area.la_code,
            "disclosure": {
                "threshold": self.threshold,
                "suppress_zero": self.suppress_zero,
                "rule": disclosure_rule(self.threshold, suppress_zero=self.suppress_zero),
            },
            "months": list(self.months) if self.months else None,
            "problems": {
                key: SUPPRESSED if self.problems_suppressed.get(key) else count for key, count in self.problems.items()
            },
            "total": {column: json_safe(total[column]) for column in ("children_living", *COUNT_MEASURES, "reach")},
            "deprived": {
                group: {
                    column: json_safe(row[column])
                    for column in ("group_name", "attended_once_or_more", "share_of_attenders")
                }
                for group, row in tables["deprived"].iterrows()
            },
        }

    def ward_layer(self) -> gpd.GeoDataFrame:
        """Wards (EPSG:27700) with children living, counts (``NA`` where suppressed, plus flags) and reach."""
        return _geo_layer(self.area.wards, "ward_code", self.unprotected["ward"], self.masks["ward"])

    def lsoa_layer(self) -> gpd.GeoDataFrame:
        """LSOAs (EPSG:27700) with the same columns as :meth:`ward_layer`."""
        lsoas = self.area.lsoas[["lsoa_code", "lsoa_name", "ward_code", "imd_decile", "geometry"]]
        return _geo_layer(lsoas, "lsoa_code", self.unprotected["lsoa"], self.masks["lsoa"])

    def write(self, out_dir: str | os.PathLike[str]) -> list[Path]:
        """Write the published tables (CSV), ``reach.gpkg``, ``reach_wards.geojson`` and ``reach_summary.json``."""
        out_dir = Path(out_dir)
        names = []
        with atomic_directory(out_dir) as staging:
            for name, table in self.published().items():
                names.append(f"reach_by_{name}.csv")
                write_csv(staging / names[-1], table)
            wards = self.ward_layer()
            wards.to_file(staging / "reach.gpkg", layer="reach_wards", driver="GPKG")
            self.lsoa_layer().to_file(staging / "reach.gpkg", layer="reach_lsoas", driver="GPKG")
            wards.to_crs(settings.display_crs).to_file(staging / "reach_wards.geojson", driver="GeoJSON")
            (staging / "reach_summary.json").write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")
            names += ["reach.gpkg", "reach_wards.geojson", "reach_summary.json"]
        return [out_dir / name for name in names]


def _with_ratios(counts: pd.DataFrame) -> pd.DataFrame:
    table = counts.copy()
    if "children_living" in table.columns:
        living = table["children_living"].astype("Float64")
        table["reach"] = (table["registered"] / living.where(living > 0)).round(RATIO_DECIMALS)
    return table


def _geo_layer(geometry: gpd.GeoDataFrame, key: str, counts: pd.DataFrame, mask: pd.DataFrame) -> gpd.GeoDataFrame:
    table = _with_ratios(counts)
    layer = geometry.merge(table, left_on=key, right_index=True, how="left")
    for column in COUNT_MEASURES:
        hidden = layer[key].map(mask[column]).fillna(False).astype(bool)
        layer[column] = layer[column].astype("Int64").mask(hidden)
        layer[f"{column}_suppressed"] = hidden
    layer["reach"] = layer["reach"].astype("Float64").mask(layer["registered_suppressed"])
    return gpd.GeoDataFrame(layer, geometry="geometry", crs=geometry.crs)


def _locate(records: pd.DataFrame, area: StudyArea) -> tuple[pd.DataFrame, dict[str, int]]:
    """One row per child: where they live (LSOA, or outside/unknown) and how often they attended."""
    attended = records["attendance_date"].notna()
    # a child's home is the postcode on their most recent row (registration-only rows count as oldest)
    order = records.assign(_when=records["attendance_date"].fillna(pd.Timestamp.min)).sort_values(
        ["child_id", "_when"], kind="stable"
    )
    latest = order.groupby("child_id", sort=True).tail(1).set_index("child_id")
    postcodes_per_child = records["postcode"].map(normalise_postcode).groupby(records["child_id"]).nunique()
    children = pd.DataFrame(index=latest.index)
    children["attendances"] = records[attended].groupby("child_id").size().reindex(children.index, fill_value=0)
    normalised = latest["postcode"].map(normalise_postcode)
    well_formed = normalised.map(lambda value: bool(POSTCODE_PATTERN.match(value)))
    gazetteer = area.postcodes.drop_duplicates("postcode").set_index("postcode")
    found = normalised.isin(gazetteer.index) & well_formed
    inside = found & normalised.map(gazetteer["in_area"].astype(bool).to_dict()).eq(True)
    children["lsoa_code"] = normalised.map(gazetteer["lsoa_code"]).where(inside)
    children["place"] = np.where(inside, "lsoa", np.where(found, OUTSIDE_AREA, UNKNOWN_AREA))
    problems = {
        "children_with_more_than_one_postcode": int((postcodes_per_child > 1).sum()),
        "children_with_malformed_postcode": int((~well_formed).sum()),
        "children_with_postcode_not_found": int((well_formed & ~found).sum()),
    }
    return children.reset_index(drop=True), problems


def _measures(children: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "registered": 1,
            "attended_once_or_more": (children["attendances"] >= 1).astype(int),
            "attended_more_than_once": (children["attendances"] >= 2).astype(int),
            "attendances": children["attendances"],
        },
        index=children.index,
    )


def aggregate(
    records: pd.DataFrame, area: StudyArea
) -> tuple[dict[str, pd.DataFrame], dict[str, int], tuple[str, str] | None]:
    """Count children and attendances by LSOA, ward, IMD decile, deprived group and month (unsuppressed)."""
    children, problems = _locate(records, area)
    lsoas = area.lsoas.set_index("lsoa_code")
    children["ward_code"] = children["lsoa_code"].map(lsoas["ward_code"])
    children["imd_decile"] = children["lsoa_code"].map(lsoas["imd_decile"])
    measures = pd.concat([children.drop(columns="attendances"), _measures(children)], axis=1)
    columns = list(COUNT_MEASURES)

    by_lsoa = measures.groupby("lsoa_code")[columns].sum().reindex(lsoas.index, fill_value=0)
    by_lsoa.insert(0, "children_living", lsoas["children_0_4"])

    places = measures.groupby("place")[columns].sum()
    extra = places.reindex([OUTSIDE_AREA, UNKNOWN_AREA], fill_value=0)
    ward_codes = list(area.wards["ward_code"])
    by_ward = measures.groupby("ward_code")[columns].sum().reindex(ward_codes, fill_value=0)
    by_ward = pd.concat([by_ward, extra])
    by_ward.loc[TOTAL] = measures[columns].sum()
    living_by_ward = lsoas.groupby("ward_code")["children_0_4"].sum()
    by_ward.insert(0, "children_living", living_by_ward.reindex(by_ward.index).astype("Int64"))
    by_ward.loc[TOTAL, "children_living"] = int(lsoas["children_0_4"].sum())

    by_decile = measures.groupby("imd_decile")[columns].sum()
    by_decile.index = by_decile.index.astype(int)
    by_decile = pd.concat([by_decile.reindex(DECILES, fill_value=0), extra])
    by_decile.loc[TOTAL] = by_ward.loc[TOTAL, columns]
    living_by_decile = lsoas.groupby("imd_decile")["children_0_4"].sum().reindex(DECILES, fill_value=0)
    by_decile.insert(0, "children_living", living_by_decile.reindex(by_decile.index).astype("Int64"))
    by_decile.loc[TOTAL, "children_living"] = int(lsoas["children_0_4"].sum())
    by_decile = by_decile.astype({column: "int64" for column in columns})

    in_area_attenders = int(by_ward.loc[ward_codes, "attended_once_or_more"].sum())
    deprived = pd.DataFrame(
        [by_decile.loc[list(deciles), ["children_living", *columns]].sum() for _, deciles in DEPRIVED_GROUPS.values()],
        index=list(DEPRIVED_GROUPS),
    ).astype({column: "int64" for column in columns})
    deprived["share_of_attenders"] = (
        (deprived["attended_once_or_more"] / in_area_attenders).round(RATIO_DECIMALS) if in_area_attenders else np.nan
    )

    attended = records[records["attendance_date"].notna()]
    month = attended["attendance_date"].dt.strftime("%Y-%m")
    monthly = pd.DataFrame(
        {"children_attending": attended.groupby(month)["child_id"].nunique(), "attendances": month.value_counts()}
    ).sort_index()
    if not monthly.empty:
        span = pd.period_range(monthly.index.min(), monthly.index.max(), freq="M").strftime("%Y-%m")
        monthly = monthly.reindex(span, fill_value=0)
    monthly = monthly.astype("int64")
    months = (str(monthly.index[0]), str(monthly.index[-1])) if len(monthly) else None
    tables = {"lsoa": by_lsoa, "ward": by_ward, "decile": by_decile, "deprived": deprived, "monthly": monthly}
    return tables, problems, months


def _link(tables: dict[str, pd.DataFrame], area: StudyArea) -> LinkedCounts:
    """Every published equation between the count cells of the reach tables."""
    linked = LinkedCounts()
    count_columns = list(COUNT_MEASURES)
    for name in ("lsoa", "ward", "decile", "deprived"):
        linked.add(name, tables[name][count_columns])
    linked.add("monthly", tables["monthly"][list(MONTHLY_MEASURES)])
    linked.add_margins("ward", total_row=TOTAL)
    ward_of = area.lsoas.set_index("lsoa_code")["ward_code"]
    linked.add_nesting("lsoa", "ward", ward_of.to_dict(), count_columns)
    decile_of = area.lsoas.set_index("lsoa_code")["imd_decile"].astype(int)
    linked.add_nesting("lsoa", "decile", decile_of.to_dict(), count_columns)
    # the decile table repeats the ward table's outside/unknown/total rows: the same cells, so equal
    for row in (OUTSIDE_AREA, UNKNOWN_AREA, TOTAL):
        for column in count_columns:
            linked.add_sum(("ward", row, column), [("decile", row, column)])
    for column in count_columns:
        parts = [("decile", row, column) for row in (*DECILES, OUTSIDE_AREA, UNKNOWN_AREA)]
        linked.add_sum(("decile", TOTAL, column), parts)
    for group, (_, deciles) in DEPRIVED_GROUPS.items():
        for column in count_columns:
            linked.add_sum(("deprived", group, column), [("decile", decile, column) for decile in deciles])
    if len(tables["monthly"]):
        linked.add_sum(
            ("ward", TOTAL, "attendances"), [("monthly", month, "attendances") for month in tables["monthly"].index]
        )
    return linked


def analyse_reach(
    path: str | os.PathLike[str],
    area: StudyArea,
    *,
    threshold: int | None = None,
    suppress_zero: bool = False,
    today: date | None = None,
) -> ReachResult:
    """Aggregate a records file into reach tables with disclosure control.

    Parameters
    ----------
    path
        Registration/attendance records (see the module docstring for the columns).
    area
        The study area whose LSOAs, wards, deprivation and postcodes place the children.
    threshold
        Counts from 1 to ``threshold - 1`` are suppressed (default ``settings.disclosure_threshold``).
    suppress_zero
        Whether zero counts are suppressed too.
    today
        Dates after this are errors (default: today).

    Returns
    -------
    ReachResult
        Problems that do not stop the analysis are counted in ``problems`` and raised as
        :class:`ReachWarning` (counts only).
    """
    threshold = check_threshold(settings.disclosure_threshold if threshold is None else threshold)
    records, problems = read_records(path, today=today)
    tables, located, months = aggregate(records, area)
    problems |= located
    linked = _link(tables, area)
    # counts of children with a problem are counts of children, and the postcode ones add up to the
    # "unknown area" row, so they are protected with the tables (duplicate rows are not children)
    child_counts = {key: count for key, count in problems.items() if key.startswith("children_")}
    linked.add(PROBLEMS, pd.DataFrame({"count": child_counts}))
    linked.add_sum(("ward", UNKNOWN_AREA, "registered"), [(PROBLEMS, key, "count") for key in UNKNOWN_PROBLEMS])
    masks = linked.protect(threshold=threshold, suppress_zero=suppress_zero)
    problem_mask = masks.pop(PROBLEMS)["count"]
    for name, table in tables.items():
        for column in table.columns:
            if column not in masks[name].columns:
                masks[name][column] = False
        masks[name] = masks[name][list(table.columns)]
    _warn(problems, path)
    return ReachResult(area, tables, masks, threshold, suppress_zero, problems, problem_mask.to_dict(), months)


PROBLEMS = "problems"
#: Problems whose children make up the "unknown area" row.
UNKNOWN_PROBLEMS = ("children_with_malformed_postcode", "children_with_postcode_not_found")
PROBLEM_TEXT = {
    "duplicate_rows": "exact duplicate row(s) ignored",
    "children_with_more_than_one_postcode": "child(ren) with more than one postcode: the most recent one is used",
    "children_with_malformed_postcode": "child(ren) with a malformed or blank postcode: counted as 'unknown area'",
    "children_with_postcode_not_found": "child(ren) whose postcode is not a live postcode of the study area or its "
    "margin: counted as 'unknown area'",
}


def problem_lines(problems: dict[str, int]) -> list[str]:
    """One line per counted problem (counts only)."""
    return [f"{count} {PROBLEM_TEXT[key]}" for key, count in problems.items() if count]


def _warn(problems: dict[str, int], path: str | os.PathLike[str]) -> None:
    for line in problem_lines(problems):
        warnings.warn(f"{path}: {line}", ReachWarning, stacklevel=3)

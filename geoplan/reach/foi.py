"""Ward tables the council publishes (FOI replies), with their ``"X"`` cells kept as suppressed.

A reply is a CSV or workbook with one or more blocks under a "Ward Name" header row: one row per
ward, counts of children registered or attending (by age group), an "Outside ... Borough" row and
a total. Suppressed cells (``"X"``) stay suppressed (``pd.NA`` plus a ``<measure>_suppressed``
flag); counts below the threshold are suppressed as well when mapped.
"""

from __future__ import annotations

import os
import re
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan import settings
from geoplan.errors import InputError
from geoplan.fileio import atomic_directory, read_csv, write_csv
from geoplan.population import UNDER_3_SHARE
from geoplan.reach.disclosure import RATIO_DECIMALS, SUPPRESSED, check_threshold, primary_mask
from geoplan.studyarea import StudyArea
from geoplan.wardnames import WardNames

#: Header phrases (lower-case) that name each ward-table measure, most specific first.
WARD_TABLE_MEASURES: tuple[tuple[str, str], ...] = (
    ("children_living_ons", "living in the ward"),
    ("registered", "registered"),
    ("attended_more_than_once", "more than once"),
    ("attended_once_or_more", "at least once"),
    ("attendances", "attendances"),
)
WARD_NAME_HEADER = "ward name"
TOTAL_ROW_NAMES = ("total", "grand total")
OUTSIDE_ROW_PATTERN = re.compile(r"^outside\b", re.IGNORECASE)
AGE_GROUP_PATTERN = re.compile(r"(\d+)\s*-\s*(\d+)\s*(?:years?)?", re.IGNORECASE)
WARD_TABLE_MEASURE_NAMES = tuple(measure for measure, _ in WARD_TABLE_MEASURES)


@dataclass
class WardTable:
    """One ward table as published, with its suppressed cells kept as such.

    Attributes
    ----------
    source
        File (and sheet) it came from.
    age_group
        ``"0-2"``, ``"3-4"``... or ``"all"``.
    wards
        One row per ward as named in the file: ``ward_name``, each measure (``Int64``, ``NA`` where
        suppressed or absent) and ``<measure>_suppressed`` flags.
    outside
        The "Outside ... Borough" row in the same form (empty when the file has none).
    """

    source: str
    age_group: str
    wards: pd.DataFrame
    outside: pd.DataFrame

    @property
    def measures(self) -> list[str]:
        """Measures present in the table."""
        return [measure for measure in WARD_TABLE_MEASURE_NAMES if measure in self.wards.columns]

    @property
    def key(self) -> str:
        """A layer name for the table: the file name (its parts once each) and the age group unless already in it."""
        parts = dict.fromkeys(Path(self.source.split("#")[0]).stem.lower().split("__"))
        stem = re.sub(r"[^a-z0-9]+", "_", "_".join(parts)).strip("_")
        age = self.age_group.replace("-", "_")
        return stem if re.search(rf"(^|_){age}(_|$)", stem) else f"{stem}_{age}"


def _parse_cell(value: object) -> tuple[object, bool]:
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value).strip()
    if text.upper() == SUPPRESSED:
        return pd.NA, True
    if not text:
        # the replies leave a cell blank where no child is counted; their totals treat it as zero
        return 0, False
    number = pd.to_numeric(text.replace(",", ""), errors="coerce")
    if pd.isna(number) or number < 0 or number % 1:
        return None, False
    return int(number), False


def _sheets(path: Path) -> list[tuple[str, pd.DataFrame]]:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # openpyxl's notes on unsupported formatting extensions
                book = pd.read_excel(path, sheet_name=None, header=None, dtype=object)
        except (ValueError, OSError, zipfile.BadZipFile, KeyError) as exc:
            msg = f"not a readable workbook ({(str(exc).splitlines() or [type(exc).__name__])[0]})"
            raise InputError(msg, path=path) from None
        return [(f"{path.name}#{sheet}", frame) for sheet, frame in book.items()]
    return [(path.name, read_csv(path, header=None))]


def _blocks(raw: pd.DataFrame) -> list[tuple[int, str, dict[int, str]]]:
    """(header row, age group, column → measure) for each block of measures under a "Ward Name" header."""
    first = raw.iloc[:, 0].map(lambda value: str(value).strip().lower() if pd.notna(value) else "")
    headers = list(first[first == WARD_NAME_HEADER].index)
    blocks = []
    for header in headers:
        title = " ".join(str(value) for value in raw.iloc[:header, 0] if pd.notna(value) and str(value).strip())
        title_age = AGE_GROUP_PATTERN.search(title)
        by_age: dict[str, dict[int, str]] = {}
        for column in range(1, raw.shape[1]):
            label = str(raw.iat[header, column]).lower() if pd.notna(raw.iat[header, column]) else ""
            measure = next((name for name, phrase in WARD_TABLE_MEASURES if phrase in label), None)
            if measure is None:
                continue
            column_age = re.search(r"aged\s+(\d+\s*-\s*\d+)", label)
            if column_age:
                age = re.sub(r"\s+", "", column_age.group(1))
            elif title_age:
                age = f"{title_age.group(1)}-{title_age.group(2)}"
            else:
                age = "all"
            by_age.setdefault(age, {})[column] = measure
        blocks += [(header, age, columns) for age, columns in by_age.items()]
    return blocks


def read_ward_tables(path: str | os.PathLike[str]) -> list[WardTable]:
    """Read ward tables (CSV or workbook, or every such file in a folder) with ``"X"`` as suppressed.

    A table starts at a row whose first cell is "Ward Name"; a title row above it may give the
    age group ("0-2 Years Old"), as may a column header ("[Aged 3-4, ...]"). Ward rows run until
    a blank name or a "Total" row; an "Outside ... Borough" row is kept apart. Blank cells are
    zero (the replies' totals count them so). In a folder, CSV files are read (workbooks only
    when there is no CSV); a table identical to one in a file holding fewer tables is skipped.

    Raises
    ------
    InputError
        No ward table in the file, or a cell that is neither a count, blank nor "X" (naming row and column).
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.csv")) or sorted([*path.glob("*.xlsx"), *path.glob("*.xlsm")])
        if not files:
            msg = "no CSV or workbook files in the folder"
            raise InputError(msg, path=path)
        per_file = [_read_ward_file(file, required=False) for file in files]
        tables: list[WardTable] = []
        # single-purpose replies first, so a combined workbook's copy of their tables is the one skipped
        for found in sorted(per_file, key=len):
            for table in found:
                if not any(_same(table, other) for other in tables):
                    tables.append(table)
        if not tables:
            msg = "no ward table (a 'Ward Name' header row) in any file of the folder"
            raise InputError(msg, path=path)
        return tables
    if not path.is_file():
        msg = "file not found"
        raise InputError(msg, path=path)
    return _read_ward_file(path, required=True)


def _same(table: WardTable, other: WardTable) -> bool:
    return table.age_group == other.age_group and table.wards.reset_index(drop=True).equals(
        other.wards.reset_index(drop=True)
    )


def _read_ward_file(path: Path, *, required: bool) -> list[WardTable]:
    tables = []
    for source, raw in _sheets(path):
        for header, age, columns in _blocks(raw):
            tables.append(_read_block(path, source, raw, header, age, columns))
    if required and not tables:
        msg = "no ward table: expected a header row starting 'Ward Name'"
        raise InputError(msg, path=path, field="Ward Name")
    return tables


def _read_block(
    path: Path, source: str, raw: pd.DataFrame, header: int, age: str, columns: dict[int, str]
) -> WardTable:
    wards, outside = [], []
    for index in range(header + 1, len(raw)):
        cell = raw.iat[index, 0]
        name = str(cell).strip() if pd.notna(cell) else ""
        if not name or name.lower() in TOTAL_ROW_NAMES:
            break
        row: dict[str, object] = {"ward_name": name}
        for column, measure in columns.items():
            value, hidden = _parse_cell(raw.iat[index, column])
            if value is None:
                msg = "not a count, blank or X"
                raise InputError(msg, path=path, row=index + 1, field=str(raw.iat[header, column]))
            row[measure], row[f"{measure}_suppressed"] = value, hidden
        (outside if OUTSIDE_ROW_PATTERN.match(name) else wards).append(row)
    frame_columns = ["ward_name"] + [
        name for measure in columns.values() for name in (measure, f"{measure}_suppressed")
    ]

    def frame(rows: list[dict[str, object]]) -> pd.DataFrame:
        table = pd.DataFrame(rows, columns=frame_columns)
        for measure in columns.values():
            table[measure] = table[measure].astype("Int64")
            table[f"{measure}_suppressed"] = table[f"{measure}_suppressed"].astype(bool)
        return table

    return WardTable(source=source, age_group=age, wards=frame(wards), outside=frame(outside))


#: Children living, by age group, from the study area's LSOAs (Census 2021 0-4s; 0-2 and 3-4 by even split).
def _children_living(area: StudyArea, age_group: str) -> pd.Series:
    lsoas = area.lsoas
    under_3 = lsoas["under_3"] if "under_3" in lsoas.columns else lsoas["children_0_4"] * UNDER_3_SHARE
    living = {
        "all": lsoas["children_0_4"],
        "0-4": lsoas["children_0_4"],
        "0-2": under_3,
        "3-4": lsoas["children_0_4"] - under_3,
    }
    if age_group not in living:
        msg = f"no Census figure of children living for age group {age_group}"
        raise InputError(msg, field="age_group")
    return living[age_group].groupby(lsoas["ward_code"]).sum()


def ward_table_layer(table: WardTable, area: StudyArea, *, threshold: int | None = None) -> gpd.GeoDataFrame:
    """The study area's wards (EPSG:27700) with a ward table's measures, children living and reach.

    Counts of children the table shows below ``threshold`` (default ``settings.disclosure_threshold``)
    are suppressed as well, so a lower threshold in the source does not pass through.

    ``children_living`` is the Census 2021 count for the table's age group (0-2 and 3-4 split
    evenly from 0-4); ``reach`` = registered ÷ children_living where registered is shown, and
    ``reach_ons`` the same over the table's own ONS figure where it has one.

    Raises
    ------
    InputError
        A ward name in the table matches no ward of the study area (or one ward twice).
    """
    ward_names = WardNames(area.wards)
    codes = []
    for position, name in enumerate(table.wards["ward_name"]):
        code = ward_names.code(name, path=table.source, field="Ward Name", row=position + 1)
        if code is None:
            msg = f"ward {name!r} matches no ward of {area.name} ({', '.join(sorted(area.wards['ward_name']))})"
            raise InputError(msg, path=table.source, row=position + 1, field="Ward Name")
        codes.append(code)
    if len(set(codes)) < len(codes):
        duplicate = table.wards["ward_name"][pd.Series(codes).duplicated().to_numpy()].iloc[0]
        msg = f"ward {duplicate!r} appears twice"
        raise InputError(msg, path=table.source, field="Ward Name")
    values = table.wards.drop(columns="ward_name").assign(ward_code=codes)
    threshold = check_threshold(settings.disclosure_threshold if threshold is None else threshold)
    for measure in table.measures:
        if measure != "children_living_ons":
            small = primary_mask(values[measure].fillna(0).to_numpy(), threshold=threshold)
            values[f"{measure}_suppressed"] = values[f"{measure}_suppressed"] | small
            values[measure] = values[measure].mask(small)
    layer = area.wards[["ward_code", "ward_name", "geometry"]].merge(values, on="ward_code", how="left")
    living = _children_living(area, table.age_group)
    layer.insert(2, "children_living", layer["ward_code"].map(living).round().astype("Int64"))
    if "registered" in layer.columns:
        registered = layer["registered"].astype("Float64")
        layer["reach"] = (registered / layer["children_living"].astype("Float64")).round(RATIO_DECIMALS)
        if "children_living_ons" in layer.columns:
            ons = layer["children_living_ons"].astype("Float64")
            layer["reach_ons"] = (registered / ons.where(ons > 0)).round(RATIO_DECIMALS)
    layer.insert(1, "source", table.source)
    layer.insert(2, "age_group", table.age_group)
    return gpd.GeoDataFrame(layer, geometry="geometry", crs=area.wards.crs)


def write_ward_tables(
    tables: list[WardTable], area: StudyArea, out_dir: str | os.PathLike[str], *, threshold: int | None = None
) -> list[Path]:
    """Write each table's ward layer to ``ward_tables.gpkg`` (EPSG:27700) and ``<key>.geojson`` (EPSG:4326), plus a CSV."""
    out_dir = Path(out_dir)
    layers = [(table.key, ward_table_layer(table, area, threshold=threshold)) for table in tables]
    names = ["ward_tables.gpkg"]
    with atomic_directory(out_dir) as staging:
        for key, layer in layers:
            layer.to_file(staging / "ward_tables.gpkg", layer=key, driver="GPKG")
            layer.to_crs(settings.display_crs).to_file(staging / f"{key}.geojson", driver="GeoJSON")
            write_csv(staging / f"{key}.csv", _published_ward_csv(layer), index=False)
            names += [f"{key}.geojson", f"{key}.csv"]
    return [out_dir / name for name in names]


def _published_ward_csv(layer: gpd.GeoDataFrame) -> pd.DataFrame:
    table = pd.DataFrame(layer.drop(columns="geometry"))
    for measure in WARD_TABLE_MEASURE_NAMES:
        if measure in table.columns:
            hidden = table.pop(f"{measure}_suppressed").astype(bool)
            table[measure] = table[measure].astype(object).where(~hidden, SUPPRESSED)
            if measure == "registered":
                for ratio in ("reach", "reach_ons"):
                    if ratio in table.columns:
                        table[ratio] = table[ratio].astype(object).where(~hidden, SUPPRESSED)
    return table

"""Embed a study area's open data in the package, so the main job runs with no network and no mirror.

:func:`embed_area` loads a study area from local source files, keeps only the rows and columns
:func:`geoplan.studyarea.load_study_area` reads (the area's LSOAs and wards, the postcodes within
its margin) and writes them, under the source files' own names and column spellings, into a
folder of ``geoplan/data/`` with a ``PROVENANCE.yaml`` giving each file's publisher, vintage,
licence and attribution. :func:`geoplan.sources.locate` finds them there when no mirror is set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd
import yaml

from geoplan.cache import file_sha256
from geoplan.errors import InputError
from geoplan.fileio import atomic_path, read_csv, write_text
from geoplan.sources import CODEPOINT_HEADER, EMBEDDED_PROVENANCE, find_local, get_source
from geoplan.studyarea import load_study_area

PROVENANCE_HEADER = """\
# Open data embedded in geoplan so that its default study area runs with no network and no mirror.
# Each file is a subset (rows of the area, the columns geoplan reads) of the published file named
# by its source; all are under the Open Government Licence v3.0 or the OS OpenData licence, which
# allow redistribution with the attribution given. Rebuilt with geoplan.fetch.embed.embed_area.
"""


def embed_area(
    catalogue: str | os.PathLike[str],
    folder: str | os.PathLike[str],
    *,
    data_dir: str | os.PathLike[str],
    origins: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write the subset of the source files a study area reads into ``folder``, with its provenance.

    Parameters
    ----------
    catalogue
        Layer catalogue of the study area (defined by a local authority code).
    folder
        Where to write the files and ``PROVENANCE.yaml`` (created; existing files are replaced).
    data_dir
        Folder of the full or mirrored source files to cut down.
    origins
        Source key -> where the local file was copied from, when it is not the publisher's URL
        (recorded in the provenance).

    Returns
    -------
    list[Path]
        The files written, provenance last.
    """
    area = load_study_area(catalogue, data_dir=data_dir)
    if area.catalogue.area.la_code is None:
        msg = "only an area named by its local authority code can be embedded"
        raise InputError(msg, path=catalogue, field="area.la_code")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    window = area.boundary.geometry.buffer(area.catalogue.area.margin_m).union_all()
    wanted = {
        "lsoa_code": set(area.lsoas["lsoa_code"]),
        "ward_code": set(area.wards["ward_code"]),
    }
    written: list[Path] = []
    entries: list[dict[str, object]] = []
    for layer in area.catalogue.layers.values():
        source = get_source(layer.source)
        path = find_local(source.key, data_dir=data_dir)
        if source.format == "gpkg":
            frame = gpd.read_file(path)
        else:
            frame = read_csv(path, limit_size=False)
            if source.key == "codepoint_open" and CODEPOINT_HEADER[0] not in frame.columns:
                frame = read_csv(path, limit_size=False, names=list(CODEPOINT_HEADER))  # published without a header row
        columns = [source.column(name, frame.columns, path=path) for name in source.columns]
        if "lsoa_code" in source.columns:
            keep = frame[source.column("lsoa_code", frame.columns, path=path)].isin(wanted["lsoa_code"])
            rows = f"the {keep.sum()} LSOAs of {area.la_code}"
        elif "ward_code" in source.columns and source.format == "gpkg":
            keep = frame[source.column("ward_code", frame.columns, path=path)].isin(wanted["ward_code"])
            rows = f"the {keep.sum()} wards of {area.la_code}"
        else:
            east = pd.to_numeric(frame[source.column("easting", frame.columns, path=path)])
            north = pd.to_numeric(frame[source.column("northing", frame.columns, path=path)])
            keep = pd.Series(gpd.points_from_xy(east, north).within(window), index=frame.index)
            rows = f"the {keep.sum()} postcodes within {area.catalogue.area.margin_m:g} m of {area.la_code}"
        subset = frame.loc[keep, columns + (["geometry"] if source.format == "gpkg" else [])]
        target = folder / path.name
        with atomic_path(target) as tmp:
            if source.format == "gpkg":
                gpd.GeoDataFrame(subset, geometry="geometry", crs=frame.crs).to_file(
                    tmp, layer=target.stem, driver="GPKG"
                )
            else:
                subset.to_csv(tmp, index=False)
        written.append(target)
        entries.append(
            {
                "file": target.name,
                "source": source.key,
                "title": source.title,
                "publisher": source.publisher,
                "vintage": source.vintage,
                "licence": source.licence,
                "attribution": source.attribution,
                "url": source.url,
                "copied_from": (origins or {}).get(source.key, source.url),
                "kept": f"{rows}; columns {', '.join(columns)}",
                "rows": int(keep.sum()),
                "sha256": file_sha256(target),
            }
        )
    record = {
        "la_code": area.la_code,
        "name": area.name,
        "margin_m": area.catalogue.area.margin_m,
        "files": entries,
    }
    provenance = folder / EMBEDDED_PROVENANCE
    write_text(provenance, PROVENANCE_HEADER + yaml.safe_dump(record, sort_keys=False, allow_unicode=True, width=100))
    return [*written, provenance]

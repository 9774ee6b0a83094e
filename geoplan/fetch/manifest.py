"""The source manifest as a table: ``geoplan data sources`` and ``data/boundaries/MANIFEST.md``."""

from __future__ import annotations

from geoplan.sources import get_source

#: Sources in the order they must be fetched: the lookup and LSOA boundaries define the area window.
FETCH_ORDER = (
    "lsoa_ward_lookup",
    "lsoa21_boundaries",
    "wards",
    "lsoa21_pwc",
    "iod2025",
    "census2021_age",
    "codepoint_open",
    "osm_overpass",
)


#: Where the manifest says the street network goes (it is cached as a built network, not as a file).
NETWORK_CACHE_NOTE = "networks/ (walking network built by geoplan.network)"


def manifest_rows() -> list[dict[str, str]]:
    """One row per manifest source: key, title, publisher, URL, licence, vintage, cache file."""
    return [
        {
            "key": source.key,
            "title": source.title,
            "publisher": source.publisher,
            "url": source.url,
            "licence": source.licence,
            "attribution": source.attribution,
            "vintage": source.vintage,
            "access": source.access,
            "file": f"sources/{source.filename}" if source.filename else NETWORK_CACHE_NOTE,
            "sha256": source.sha256 or "",
        }
        for source in (get_source(key) for key in FETCH_ORDER)
    ]


def manifest_markdown() -> str:
    """The text of ``data/boundaries/MANIFEST.md``."""
    lines = [
        "# Sources of the download cache",
        "",
        "`geoplan data fetch` writes each source below into `sources/` of the user's cache folder (see",
        "`geoplan cache info`; `GEOPLAN_CACHE` moves it), cut down to the local authority plus a margin, and",
        "records where every file came from in `sources/.provenance.json`. `geoplan data import DIR` copies",
        "the same files from a local folder instead. The street network is fetched from Overpass by",
        "`geoplan.network` and cached as a built network in `networks/`. The default study area (Bexley) also",
        "runs with none of them: the package embeds the subset of these files it reads, with their",
        "provenance, in `geoplan/data/bexley/` (used when neither `GEOPLAN_DATA` nor the cache has a file).",
        "",
        "| key | title | publisher | URL | licence | vintage | file written into the cache |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in manifest_rows():
        cells = [row["key"], row["title"], row["publisher"], row["url"], row["licence"], row["vintage"], row["file"]]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    lines += ["", "Attribution to print with any output:", ""]
    lines += [f"- **{row['key']}**: {row['attribution']}" for row in manifest_rows()]
    return "\n".join(lines) + "\n"

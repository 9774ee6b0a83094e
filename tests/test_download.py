"""Downloads against a local HTTP server serving the real files of the mirror.

The server on 127.0.0.1 plays each publisher: plain files (with HTTP Range), a Code-Point Open
style zip built from the mirror's postcodes, ArcGIS FeatureServer queries answered from the
mirror's GeoPackages and lookup, and Overpass answered with a real Overpass dump.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import socket
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box
from typer.testing import CliRunner

import geoplan.fetch.arcgis
from geoplan import fetch, resources, settings
from geoplan.cli import app
from geoplan.errors import DataSourceError, InputError, NetworkUnavailableError
from geoplan.fetch.provenance import PARTIAL_DIR
from geoplan.layers import load_catalogue
from geoplan.sources import CACHE, CODEPOINT_HEADER, EMBEDDED, SOURCES, find_local, origin_of
from geoplan.studyarea import load_study_area, summarise

REPO = Path(__file__).resolve().parent.parent
BEXLEY = REPO / "layers" / "bexley.yaml"
LA = "E09000004"
MARGIN_M = 2000.0


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test here may write into the user's cache, read a configured mirror or use the embedded default data."""
    monkeypatch.setattr(settings, "cache_dir", tmp_path / "cache")
    monkeypatch.setattr(settings, "data_dir", None)
    monkeypatch.setattr(settings, "use_embedded_data", False)


@dataclass
class Route:
    """What the server answers on one path: bytes (a file) or a function of the query (a service)."""

    data: bytes | None = None
    service: Callable[[dict[str, str]], tuple[bytes, str]] | None = None
    #: "ok"; "cut" (announces the whole length, closes half-way); "short" (serves a truncated body honestly).
    mode: str = "ok"
    etag: str = '"v1"'


@dataclass
class Server:
    base: str
    routes: dict[str, Route]
    log: list[dict[str, str]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path


def _handler(server: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep pytest output clean
            pass

        def _params(self) -> dict[str, str]:
            query = parse_qs(urlsplit(self.path).query)
            if self.command == "POST":
                length = int(self.headers.get("Content-Length") or 0)
                query.update(parse_qs(self.rfile.read(length).decode()))
            return {key: values[-1] for key, values in query.items()}

        def _answer(self) -> None:
            path = urlsplit(self.path).path
            params = self._params()
            server.log.append({"method": self.command, "path": path, "range": self.headers.get("Range", ""), **params})
            route = server.routes.get(path)
            if route is None:
                self.send_error(404)
                return
            if route.service is not None:
                body, content_type = route.service(params)
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            data = route.data or b""
            if route.mode == "short":
                data = data[: len(data) // 2]
            start = 0
            match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
            if match and self.headers.get("If-Range", route.etag) == route.etag:
                start = int(match.group(1))
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(data) - start))
            self.send_header("ETag", route.etag)
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if route.mode == "cut":
                self.wfile.write(data[start : start + (len(data) - start) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(data[start:])

        do_GET = _answer
        do_POST = _answer

    return Handler


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server(base="", routes={})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


# ---------------------------------------------------------------------------------------------
# The mirror's files, and services made from them


def raw(mirror: Path) -> Path:
    return mirror / "raw" if (mirror / "raw").is_dir() else mirror


def mirror_file(mirror: Path, folder: str, pattern: str) -> Path:
    """The mirror's file, its Bexley one where it also holds other areas' files under the same pattern."""
    return sorted((raw(mirror) / folder).glob(pattern), key=lambda path: "bexley" not in path.name.lower())[0]


def arcgis_service(frame: pd.DataFrame) -> Callable[[dict[str, str]], tuple[bytes, str]]:
    """A FeatureServer ``query`` endpoint over ``frame``: where (=, IN), envelope, paging, f=json/geojson."""

    def query(params: dict[str, str]) -> tuple[bytes, str]:
        rows = frame
        where = params.get("where", "1=1").strip()
        if match := re.fullmatch(r"(\w+) = '([^']*)'", where):
            rows = rows[rows[match.group(1)] == match.group(2)]
        elif match := re.fullmatch(r"(\w+) IN \((.*)\)", where):
            rows = rows[rows[match.group(1)].isin(re.findall(r"'([^']*)'", match.group(2)))]
        elif where != "1=1":
            return json.dumps({"error": {"code": 400, "message": f"bad where {where}"}}).encode(), "application/json"
        if "geometry" in params:
            assert params["inSR"] == "27700" and params["geometryType"] == "esriGeometryEnvelope"
            envelope = box(*(float(v) for v in params["geometry"].split(",")))
            rows = rows[rows.intersects(envelope)]
        offset, count = int(params.get("resultOffset", 0)), int(params.get("resultRecordCount", 2000))
        page = rows.iloc[offset : offset + count]
        exceeded = offset + count < len(rows)
        if params["f"] == "geojson":
            payload = json.loads(page.to_crs(int(params["outSR"])).to_json())
            payload["properties"] = {"exceededTransferLimit": exceeded}
        else:
            payload = {
                "features": [{"attributes": row} for row in page.to_dict("records")],
                "exceededTransferLimit": exceeded,
            }
        return json.dumps(payload).encode(), "application/json"

    return query


def codepoint_zip(mirror: Path) -> bytes:
    """A zip laid out like OS Code-Point Open: one header-less CSV per postcode area under Data/CSV/."""
    frame = pd.read_csv(mirror_file(mirror, "postcodes", "codepoint_open*.csv"), dtype=str, keep_default_na=False)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Doc/Code-Point_Open_Column_Headers.csv", ",".join(CODEPOINT_HEADER) + "\n")
        for area, rows in frame.groupby(frame["Postcode"].str.extract(r"^([A-Z]+)")[0].str.lower()):
            archive.writestr(f"Data/CSV/{area}.csv", rows.to_csv(index=False, header=False))
    return buffer.getvalue()


def census_zip(mirror: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        census = mirror_file(mirror, "population", "census2021-ts007a*.csv")
        archive.writestr("census2021-ts007a-lsoa.csv", census.read_bytes())
    return buffer.getvalue()


@pytest.fixture(scope="module")
def published(mirror: Path) -> dict[str, object]:
    """What each publisher serves, made once from the mirror."""
    lookup = pd.read_csv(mirror_file(mirror, "lookups", "lsoa21_to_ward*.csv"), dtype=str, keep_default_na=False)
    return {
        "lsoa_ward_lookup": lookup,
        "lsoa21_boundaries": gpd.read_file(mirror_file(mirror, "boundaries", "lsoa21_london_gen20*.gpkg")),
        "wards": gpd.read_file(mirror_file(mirror, "boundaries", "london_wards_2018*.gpkg")),
        "lsoa21_pwc": gpd.read_file(mirror_file(mirror, "boundaries", "lsoa21_population_weighted*.gpkg")),
        "iod2025": mirror_file(mirror, "deprivation", "File_7_IoD2025*.csv").read_bytes(),
        "census2021_age": census_zip(mirror),
        "codepoint_open": codepoint_zip(mirror),
    }


@pytest.fixture
def publishers(server: Server, published: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Server:
    """Point every manifest URL at the local server and the cache at an empty folder."""
    monkeypatch.setattr(settings, "data_dir", None)
    monkeypatch.setattr(settings, "cache_dir", tmp_path / "cache")
    monkeypatch.setattr(settings, "show_progress", False)
    monkeypatch.setattr(geoplan.fetch.arcgis, "ARCGIS_PAGE_SIZE", 100)  # the mirror's 267 LSOAs take three pages
    services = ("lsoa_ward_lookup", "lsoa21_boundaries", "wards", "lsoa21_pwc")
    for key in services:
        server.routes[f"/arcgis/{key}/FeatureServer/0/query"] = Route(service=arcgis_service(published[key]))
    server.routes["/media/iod.csv"] = Route(data=published["iod2025"])
    server.routes["/census/census2021-ts007a.zip"] = Route(data=published["census2021_age"])
    server.routes["/os/codepo_gb.zip"] = Route(data=published["codepoint_open"])
    urls = {
        **{key: server.url(f"/arcgis/{key}/FeatureServer/0/query") for key in services},
        "iod2025": server.url("/media/iod.csv"),
        "census2021_age": server.url("/census/census2021-ts007a.zip"),
        "codepoint_open": server.url("/os/codepo_gb.zip"),
    }
    for key, url in urls.items():
        monkeypatch.setitem(SOURCES, key, SOURCES[key].model_copy(update={"url": url}))
    return server


@dataclass
class Overpass:
    """Records what geoplan.network was asked to fetch; answers as it does when Overpass is unreachable.

    No OpenStreetMap extract of Bexley exists offline, so the network itself cannot be served here
    (geoplan.network's own tests build networks from the mirror's real extracts).
    """

    calls: list[tuple[object, float]] = field(default_factory=list)


@pytest.fixture
def overpass(monkeypatch: pytest.MonkeyPatch) -> Overpass:
    import geoplan.network

    state = Overpass()

    def unreachable(polygon, *, margin_m=None, cache=True, cache_dir=None):
        state.calls.append((polygon, margin_m))
        msg = f"Overpass unreachable at {settings.overpass_url}: ConnectionError"
        raise NetworkUnavailableError(msg)

    monkeypatch.setattr(geoplan.network, "network_from_polygon", unreachable)
    monkeypatch.setattr(geoplan.network, "cached_network_for_polygon", lambda polygon, **kwargs: None)
    monkeypatch.setattr(settings, "overpass_url", "https://overpass.example/api/interpreter")
    return state


def bexley_window(mirror: Path) -> gpd.GeoSeries:
    """Bexley + 2 km from the dissolved borough polygon: an outline independent of the LSOA union."""
    boroughs = gpd.read_file(mirror_file(mirror, "boundaries", "london_boroughs_lad22_gen20.gpkg"))
    return boroughs[boroughs["LAD22CD"] == LA].to_crs(27700).buffer(MARGIN_M)


def cache_state() -> dict[str, str]:
    folder = fetch.sources_dir()
    files = sorted(path for path in folder.glob("*") if path.is_file())
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in files}


def postcodes_near(mirror: Path, window: object) -> pd.DataFrame:
    """The mirror's postcodes inside ``window`` or in Bexley's district, computed without geoplan."""
    postcodes = pd.read_csv(mirror_file(mirror, "postcodes", "codepoint_open*.csv"), dtype=str)
    east, north = postcodes["Eastings"].astype(float), postcodes["Northings"].astype(float)
    inside = gpd.GeoSeries(gpd.points_from_xy(east, north)).within(window).to_numpy()
    return postcodes[inside | (postcodes["Admin_district_code"] == LA).to_numpy()]


# ---------------------------------------------------------------------------------------------
# End to end


def test_fetch_bexley_end_to_end_then_load_from_the_cache(publishers: Server, overpass: Overpass, mirror: Path) -> None:
    result = CliRunner().invoke(app, ["data", "fetch", "--la", LA, "--json"])
    # Every table is fetched and reported; the street network then fails as Overpass is out of reach.
    assert isinstance(result.exception, NetworkUnavailableError), result.output
    fetched = {row["key"]: row for row in json.loads(result.stdout)}
    assert list(fetched) == list(fetch.FETCH_ORDER[:-1])
    for key in fetch.FETCH_ORDER:
        source = SOURCES[key]
        url = settings.overpass_url if key == "osm_overpass" else source.url
        assert f"from {source.publisher}: {url}" in result.stderr

    lookup = pd.read_csv(mirror_file(mirror, "lookups", "lsoa21_to_ward*.csv"), dtype=str)
    bexley_lsoas = set(lookup.loc[lookup["LAD25CD"] == LA, "LSOA21CD"])
    assert fetched["lsoa_ward_lookup"]["rows"] == len(bexley_lsoas) == 148
    assert fetched["iod2025"]["rows"] == 148
    # Census: every LSOA touching Bexley + 2 km, counted independently from the mirror's polygons.
    lsoas = gpd.read_file(mirror_file(mirror, "boundaries", "lsoa21_london_gen20*.gpkg"))
    bexley_outline = lsoas[lsoas["LSOA21CD"].isin(bexley_lsoas)].union_all()
    near = set(lsoas.loc[lsoas.intersects(bexley_outline.buffer(MARGIN_M)), "LSOA21CD"])
    census = pd.read_csv(fetch.sources_dir() / SOURCES["census2021_age"].filename, dtype=str)
    assert set(census["geography code"]) == near
    # Postcodes: inside Bexley + 2 km (dissolved borough polygon) or in Bexley's district.
    expected = postcodes_near(mirror, bexley_window(mirror).iloc[0])
    written = pd.read_csv(fetch.sources_dir() / "codepoint_open.csv", dtype=str)
    assert list(written.columns) == list(CODEPOINT_HEADER)
    assert sorted(written["Postcode"]) == sorted(expected["Postcode"])
    assert (written["Admin_district_code"] == LA).sum() == 4405
    # ArcGIS layers came in pages of 100 and were cut to the window.
    pages = [entry for entry in publishers.log if entry["path"].endswith("/lsoa21_boundaries/FeatureServer/0/query")]
    assert {entry["resultOffset"] for entry in pages} >= {"0", "100", "200"}
    assert fetched["lsoa21_boundaries"]["rows"] == len(near)
    assert fetched["wards"]["rows"] >= 17 and fetched["lsoa21_pwc"]["rows"] >= 148
    # The street network was asked of geoplan.network for Bexley's outline, as catchment commands ask for it.
    [(polygon, margin)] = overpass.calls
    assert margin == max(settings.network_margin_m, MARGIN_M)
    # Boundaries travel as GeoJSON in EPSG:4326, which moves vertices by millimetres.
    assert polygon.symmetric_difference(bexley_outline).area < 1e-6 * bexley_outline.area

    record = fetch.read_provenance()
    assert record["iod2025"]["url"] == SOURCES["iod2025"].url and record["iod2025"]["la_code"] == LA
    assert record["iod2025"]["source_sha256"] == hashlib.sha256(publishers.routes["/media/iod.csv"].data).hexdigest()
    assert not any((fetch.sources_dir() / PARTIAL_DIR).glob("*.part"))

    area = load_study_area(BEXLEY)
    assert len(area.lsoas) == 148 and len(area.wards) == 17
    assert int(area.lsoas["children_0_4"].sum()) == 15_035
    assert all(Path(info.file).name in cache_state() for info in area.provenance.values())

    requests_before = len(publishers.log)
    again = CliRunner().invoke(app, ["data", "fetch", "--la", LA])
    assert again.stdout.count("already cached") == len(fetch.FETCH_ORDER) - 1
    assert len(publishers.log) == requests_before and len(overpass.calls) == 2


@pytest.mark.parametrize("margin_m", [0.0, 500.0])
def test_national_files_are_cut_to_the_la_plus_margin(publishers: Server, mirror: Path, margin_m: float) -> None:
    fetch.import_sources(mirror)  # the lookup and LSOA boundaries outline the LA
    keys = ["lsoa21_pwc", "census2021_age", "codepoint_open"]
    results = {r.key: r for r in fetch.fetch_sources(LA, margin_m=margin_m, keys=keys, force=True)}
    boroughs = gpd.read_file(mirror_file(mirror, "boundaries", "london_boroughs_lad22_gen20.gpkg"))
    window = boroughs.loc[boroughs["LAD22CD"] == LA].geometry.iloc[0].buffer(margin_m)

    expected = postcodes_near(mirror, window)
    written = pd.read_csv(results["codepoint_open"].path, dtype=str)
    assert sorted(written["Postcode"]) == sorted(expected["Postcode"])
    assert 4405 <= len(written) < 8216

    centroids = gpd.read_file(mirror_file(mirror, "boundaries", "lsoa21_population_weighted*.gpkg"))
    kept = gpd.read_file(results["lsoa21_pwc"].path)
    assert sorted(kept["LSOA21CD"]) == sorted(centroids.loc[centroids.intersects(window), "LSOA21CD"])

    lsoas = gpd.read_file(mirror_file(mirror, "boundaries", "lsoa21_london_gen20*.gpkg"))
    census = pd.read_csv(results["census2021_age"].path, dtype=str)
    assert sorted(census["geography code"]) == sorted(lsoas.loc[lsoas.intersects(window), "LSOA21CD"])
    bexley = census[census["geography code"].isin(lsoas.loc[lsoas["LAD22CD"] == LA, "LSOA21CD"])]
    assert len(bexley) == 148 and bexley["Age: Aged 4 years and under"].astype(int).sum() == 15_035


def test_fetch_for_a_catalogue_or_an_la_without_one(publishers: Server, overpass: Overpass, mirror: Path) -> None:
    fetch.import_sources(mirror)  # imported files cover any area; only the street network is left to fetch
    result = CliRunner().invoke(app, ["data", "fetch", "--area", str(BEXLEY), "--json"])
    assert isinstance(result.exception, NetworkUnavailableError)
    assert all(row["skipped"] for row in json.loads(result.stdout))
    assert f"from OpenStreetMap contributors: {settings.overpass_url} (Open Database Licence 1.0)" in result.stderr
    assert len(overpass.calls) == 1

    clash = CliRunner().invoke(app, ["data", "fetch", "--area", str(BEXLEY), "--la", "E09000011"])
    assert isinstance(clash.exception, InputError) and "differs from the catalogue" in str(clash.exception)
    # Greenwich (in the mirror's margin) has no shipped catalogue: no study area, so no network yet.
    greenwich = CliRunner().invoke(app, ["data", "fetch", "--la", "E09000011"])
    assert greenwich.exit_code == 0, greenwich.output
    assert "street network: no shipped layer catalogue for E09000011" in greenwich.stderr
    assert len(overpass.calls) == 1
    assert fetch.catalogue_for("E09000011") is None and fetch.catalogue_for(LA) == BEXLEY


def test_ensure_sources_fetches_only_what_is_missing(publishers: Server, mirror: Path) -> None:
    fetch.import_sources(mirror)
    census = fetch.sources_dir() / SOURCES["census2021_age"].filename
    census.unlink()
    found = fetch.ensure_sources(load_catalogue(BEXLEY))
    assert found["census2021_age"] == census and census.is_file()
    assert {origin_of(path) for path in found.values()} == {CACHE}
    assert {entry["path"] for entry in publishers.log} == {"/census/census2021-ts007a.zip"}
    assert int(load_study_area(BEXLEY).lsoas["children_0_4"].sum()) == 15_035


def test_the_default_area_runs_on_its_embedded_data_before_any_download(
    publishers: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "use_embedded_data", True)
    found = fetch.ensure_sources(load_catalogue(BEXLEY))
    assert publishers.log == []
    assert {origin_of(path) for path in found.values()} == {EMBEDDED}
    assert {path.parent for path in found.values()} == {resources.embedded_data_dir() / "bexley"}
    summary = summarise(load_study_area(BEXLEY))
    assert summary["data_from"] == [f"{EMBEDDED} ({resources.embedded_data_dir() / 'bexley'})"]
    assert (summary["children_0_4"]["total"], summary["children_0_4_in_imd_deciles_1_to_3"]["total"]) == (15_035, 3_172)
    # Another authority never reads Bexley's embedded files: its sources are fetched like any other's.
    with pytest.raises(DataSourceError, match=r"no file for source 'iod2025'.*set GEOPLAN_DATA"):
        find_local("iod2025", la_code="E09000011")
    assert find_local("iod2025", la_code=LA).parent == resources.embedded_data_dir() / "bexley"


def test_ensure_sources_never_downloads_when_a_mirror_is_configured(
    publishers: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mirror").mkdir()
    monkeypatch.setattr(settings, "data_dir", tmp_path / "mirror")
    with pytest.raises(DataSourceError, match="no file for source 'lsoa_ward_lookup'"):
        fetch.ensure_sources(load_catalogue(BEXLEY))
    assert publishers.log == []


# ---------------------------------------------------------------------------------------------
# Interrupted, truncated and corrupt downloads


def test_cut_download_is_rejected_then_resumed_with_a_range_request(publishers: Server, mirror: Path) -> None:
    fetch.import_sources(mirror)
    before, record_before = cache_state(), fetch.read_provenance()
    route = publishers.routes["/media/iod.csv"]
    route.mode = "cut"
    with pytest.raises(DataSourceError, match=re.escape(SOURCES["iod2025"].url) + ".*cut off.*resume"):
        fetch.fetch_sources(LA, keys=["iod2025"], force=True)
    assert cache_state() == before and fetch.read_provenance() == record_before
    part = fetch.sources_dir() / PARTIAL_DIR / f"{SOURCES['iod2025'].filename}.part"
    assert part.stat().st_size == len(route.data) // 2

    route.mode = "ok"
    [result] = fetch.fetch_sources(LA, keys=["iod2025"], force=True)
    assert result.resumed and result.downloaded_bytes == len(route.data) - len(route.data) // 2
    assert publishers.log[-1]["range"] == f"bytes={len(route.data) // 2}-"
    assert fetch.read_provenance()["iod2025"]["source_sha256"] == hashlib.sha256(route.data).hexdigest()
    assert len(pd.read_csv(result.path)) == 148 and not part.exists()


def test_resume_restarts_when_the_file_changed_on_the_server(publishers: Server, mirror: Path) -> None:
    fetch.import_sources(mirror)
    route = publishers.routes["/media/iod.csv"]
    route.mode = "cut"
    with pytest.raises(DataSourceError):
        fetch.fetch_sources(LA, keys=["iod2025"], force=True)
    route.mode, route.etag = "ok", '"v2"'
    [result] = fetch.fetch_sources(LA, keys=["iod2025"], force=True)
    assert not result.resumed and result.downloaded_bytes == len(route.data)
    assert fetch.read_provenance()["iod2025"]["source_sha256"] == hashlib.sha256(route.data).hexdigest()


def flip(data: bytes, at: int, mask: int = 0xFF) -> bytes:
    return data[:at] + bytes([data[at] ^ mask]) + data[at + 1 :]


@pytest.mark.parametrize(
    ("path", "key", "damage", "manifest", "message"),
    [
        ("/media/iod.csv", "iod2025", "short", {}, "last row has fewer fields"),
        ("/media/iod.csv", "iod2025", "short", {"size": True}, "the published file has"),
        ("/media/iod.csv", "iod2025", "flip-body", {"sha256": True}, "corrupt: SHA-256"),
        ("/media/iod.csv", "iod2025", "flip-header", {}, "missing column"),
        ("/media/iod.csv", "iod2025", "flip-body", {}, "not UTF-8 text"),
        ("/census/census2021-ts007a.zip", "census2021_age", "flip-body", {}, "not a valid file"),
        ("/os/codepo_gb.zip", "codepoint_open", "flip-body", {}, "not a valid file"),
    ],
)
def test_truncated_or_corrupt_download_is_rejected_and_the_cache_untouched(
    publishers: Server,
    mirror: Path,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    key: str,
    damage: str,
    manifest: dict[str, bool],
    message: str,
) -> None:
    route = publishers.routes[path]
    good = route.data
    update = {}
    if manifest.get("size"):
        update["size"] = len(good)
    if manifest.get("sha256"):
        update["sha256"] = hashlib.sha256(good).hexdigest()
    monkeypatch.setitem(SOURCES, key, SOURCES[key].model_copy(update=update))
    if damage == "short":
        route.mode = "short"
    elif damage == "flip-header":
        route.data = flip(good, 3, mask=0x20)  # "LSOA code" becomes "LSOa code": still text, wrong column
    else:
        route.data = flip(good, len(good) // 2)
    fetch.import_sources(mirror)
    cached = fetch.sources_dir() / SOURCES[key].filename
    before, record_before = cache_state(), fetch.read_provenance()
    with pytest.raises(DataSourceError, match=re.escape(SOURCES[key].url) + ".*" + message) as error:
        fetch.fetch_sources(LA, keys=[key], force=True)
    assert "\n" not in str(error.value)
    assert cache_state() == before and fetch.read_provenance() == record_before
    assert not any((fetch.sources_dir() / PARTIAL_DIR).glob("*.part"))
    # On a fresh cache the same failure leaves nothing for find_local to pick up.
    cached.unlink()
    with pytest.raises(DataSourceError):
        fetch.fetch_sources(LA, keys=[key], force=True)
    with pytest.raises(DataSourceError, match=f"no file for source '{key}'"):
        find_local(key)


def test_http_errors_and_unreachable_servers_are_one_line_errors(publishers: Server, mirror: Path, monkeypatch) -> None:
    fetch.import_sources(mirror)
    monkeypatch.setitem(SOURCES, "iod2025", SOURCES["iod2025"].model_copy(update={"url": publishers.url("/gone.csv")}))
    with pytest.raises(DataSourceError, match=r"/gone\.csv failed: HTTP 404"):
        fetch.fetch_sources(LA, keys=["iod2025"], force=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    dead = f"http://127.0.0.1:{closed_port}/iod.csv"
    monkeypatch.setitem(SOURCES, "iod2025", SOURCES["iod2025"].model_copy(update={"url": dead}))
    with pytest.raises(DataSourceError, match=re.escape(dead) + r".*ConnectionError.*data import"):
        fetch.fetch_sources(LA, keys=["iod2025"], force=True)


def test_a_malformed_la_code_is_refused_before_any_request(publishers: Server) -> None:
    with pytest.raises(InputError, match="field 'la_code': not a local authority code"):
        fetch.fetch_sources("E09000004' OR '1'='1")
    assert publishers.log == []


def test_arcgis_error_payload_is_reported(publishers: Server, mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fetch.import_sources(mirror)
    refusal = json.dumps({"error": {"code": 499, "message": "Token Required"}}).encode()
    refuse = Route(service=lambda params: (refusal, "application/json"))
    publishers.routes["/arcgis/wards/FeatureServer/0/query"] = refuse
    before = cache_state()
    with pytest.raises(DataSourceError, match="refused the query: 499 Token Required"):
        fetch.fetch_sources(LA, keys=["wards"], force=True)
    assert cache_state() == before


# ---------------------------------------------------------------------------------------------
# Import


def test_import_from_the_mirror_then_load_from_the_cache_alone(mirror: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(settings, "data_dir", None)
    monkeypatch.setattr(settings, "cache_dir", tmp_path)
    report = fetch.import_sources(mirror)
    assert [key for key, _, _ in report.imported] == list(fetch.FETCH_ORDER[:-1])
    assert report.missing == [] and report.skipped == ["osm_overpass"]
    for _, source_path, target in report.imported:
        assert target.parent == tmp_path / "sources" and target.read_bytes() == source_path.read_bytes()
    area = load_study_area(BEXLEY)
    assert len(area.lsoas) == 148 and int(area.lsoas["children_0_4"].sum()) == 15_035
    cached = {path.name for path in (tmp_path / "sources").iterdir()}
    assert {Path(info.file).name for info in area.provenance.values()} <= cached


def test_import_rejects_a_file_without_the_required_columns(mirror: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(settings, "cache_dir", tmp_path / "cache")
    folder = tmp_path / "incoming"
    folder.mkdir()
    iod = pd.read_csv(mirror_file(mirror, "deprivation", "File_7_IoD2025*.csv"), dtype=str)
    iod.drop(columns="Total population: mid 2022").to_csv(folder / "File_7_IoD2025_x.csv", index=False)
    with pytest.raises(InputError, match=r"File_7_IoD2025_x\.csv, field 'population': missing column"):
        fetch.import_sources(folder)
    assert not (tmp_path / "cache" / "sources").exists()


def test_import_of_an_incomplete_folder_lists_what_is_missing(mirror: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(settings, "cache_dir", tmp_path / "cache")
    folder = tmp_path / "incoming"
    folder.mkdir()
    census = mirror_file(mirror, "population", "census2021-ts007a*.csv")
    (folder / "census2021-ts007a-lsoa.csv").write_bytes(census.read_bytes())
    env = {"GEOPLAN_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    run = subprocess.run(
        [sys.executable, "-m", "geoplan.cli", "data", "import", str(folder)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert run.returncode == 2
    assert "imported census2021_age" in run.stdout
    error = run.stderr.strip()
    assert "\n" not in error and error.startswith("geoplan: error: ")
    for key in ("lsoa_ward_lookup", "lsoa21_boundaries", "wards", "lsoa21_pwc", "iod2025", "codepoint_open"):
        assert key in error
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataSourceError, match="holds none of the data sources"):
        fetch.import_sources(tmp_path / "empty")


def test_cache_info_and_clear_commands(tmp_path: Path) -> None:
    from geoplan.cache import entry_path, hash_key, save_arrays

    for kind, count in (("networks", 2), ("traveltimes", 3)):
        for index in range(count):
            save_arrays(entry_path(kind, hash_key(kind, index)), {"minutes": np.arange(4.0)})
    runner = CliRunner()
    info = json.loads(runner.invoke(app, ["cache", "info", "--json"]).stdout)
    assert Path(info["folder"]) == settings.cache_dir == tmp_path / "cache"
    assert {kind: entry["files"] for kind, entry in info["kinds"].items()} == {"networks": 2, "traveltimes": 3}

    unknown = runner.invoke(app, ["cache", "clear", "--kind", "matrices"])
    assert isinstance(unknown.exception, InputError) and "it holds: networks, traveltimes" in str(unknown.exception)
    cleared = runner.invoke(app, ["cache", "clear", "--kind", "traveltimes"])
    assert cleared.exit_code == 0 and "Removed 3 files from" in cleared.stdout
    assert list(json.loads(runner.invoke(app, ["cache", "info", "--json"]).stdout)["kinds"]) == ["networks"]
    assert "Removed 2 files" in runner.invoke(app, ["cache", "clear"]).stdout
    assert "(empty)" in runner.invoke(app, ["cache", "info"]).stdout

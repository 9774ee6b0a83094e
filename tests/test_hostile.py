"""Hostile and broken inputs, across every command and kind of input (issue 16).

Every case asserts the one-line promise: exit status 2, exactly one line on stderr
(``geoplan: error: ...``) naming the file, line or option at fault, no traceback, nothing written
at the output path, no hang. Cases that could exhaust memory or the stack (YAML bombs, absurd
sizes) run in a child process under a timeout and an address-space limit; the rest run in-process
through :func:`geoplan.cli.main` to keep the suite quick.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import resource
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from geoplan import cache, settings
from geoplan.cli import main
from geoplan.errors import CacheError, InputError, OutputError
from geoplan.fileio import atomic_directory, atomic_path, csv_line, read_csv, read_yaml, write_bytes, write_text

REPO = Path(__file__).resolve().parent.parent
BEXLEY = REPO / "layers" / "bexley.yaml"
#: Seconds any in-process case may take (loading Bexley and measuring crow-fly takes a few).
CASE_TIMEOUT_S = 60
#: Seconds a child process may take; a YAML bomb that expanded would take hours.
CHILD_TIMEOUT_S = 60
#: Address space of a child process (bytes): geoplan needs well under 1 GB, a bomb would need far more.
CHILD_MEMORY_BYTES = 1_500_000_000
#: A place in Newcastle upon Tyne (EPSG:27700), 400 km from Bexley: real, but not in the study area.
NEWCASTLE_XY = (425065, 564001)
#: A point inside Bexley (near Bexleyheath, EPSG:27700).
BEXLEY_XY = (549000, 175500)


# --------------------------------------------------------------------------- harness
@contextlib.contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    def _expired(signum: int, frame: object) -> None:
        msg = f"no answer within {seconds} s: a hang"
        raise TimeoutError(msg)

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def cli(mirror: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run ``geoplan ARGS`` in this process: ``(exit status, stdout, stderr)``."""
    monkeypatch.setattr(settings, "data_dir", mirror)

    def run(*args: object) -> tuple[int, str, str]:
        capsys.readouterr()
        with _deadline(CASE_TIMEOUT_S), pytest.raises(SystemExit) as exit_info:
            main([str(arg) for arg in args])
        captured = capsys.readouterr()
        code = exit_info.value.code
        return (0 if code is None else int(code)), captured.out, captured.err

    return run


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))


def child(*args: object, mirror: Path, cache_dir: Path) -> tuple[int, str, str]:
    """Run ``geoplan ARGS`` in a child process with a timeout and a memory limit."""
    env = {**os.environ, "GEOPLAN_DATA": str(mirror), "GEOPLAN_CACHE": str(cache_dir)}
    command = [sys.executable, "-c", "from geoplan.cli import main; main()", *map(str, args)]
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=CHILD_TIMEOUT_S, preexec_fn=_limit_memory, check=False
    )
    return done.returncode, done.stdout, done.stderr


def assert_one_line(result: tuple[int, str, str], *needles: str, absent: tuple[Path, ...] = ()) -> str:
    """Exit 2, one ``geoplan: error:`` line naming every needle, no traceback, nothing at ``absent``."""
    code, _, err = result
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("geoplan: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    for path in absent:
        assert not path.exists(), f"{path} was written"
    return lines[0]


def _file(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _catalogue(tmp_path: Path, *, venues: Path | None = None, sessions: Path | None = None) -> Path:
    """A copy of the Bexley catalogue reading ``venues``/``sessions`` instead of the shipped files."""
    text = BEXLEY.read_text(encoding="utf-8")
    text = text.replace("file: bexley/venues.csv", f"file: {venues or BEXLEY.parent / 'bexley' / 'venues.csv'}")
    text = text.replace("file: bexley/sessions.csv", f"file: {sessions or BEXLEY.parent / 'bexley' / 'sessions.csv'}")
    return _file(tmp_path, "area.yaml", text)


def _billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- 4. numbers and 6. option values
OPTION_CASES = [
    (["gaps", "--out", "{out}", "--top", "-1"], "--top"),
    (["gaps", "--out", "{out}", "--top", "abc"], "--top"),
    (["gaps", "--out", "{out}", "--minutes", "0"], "--minutes"),
    (["gaps", "--out", "{out}", "--minutes", "nan"], "--minutes"),
    (["gaps", "--out", "{out}", "--minutes", "1e308"], "--minutes"),
    (["traveltime", "--out", "{out}", "--cutoff", "inf"], "--cutoff"),
    (["traveltime", "--out", "{out}", "--profile", "1e308"], "walking speed"),
    (["traveltime", "--out", "{out}", "--profile", "-4"], "walking speed"),
    (["catchments", "--out", "{out}", "--resolution", "0.05"], "--resolution"),
    (["catchments", "--out", "{out}", "--minutes", "10,1e308"], "walking band"),
    (["optimise", "--k", "0"], "--k"),
    (["optimise", "--k", "1000000000"], "--k"),
    (["optimise", "--minutes", "-15"], "--minutes"),
    (["optimise", "--time-limit", "0"], "--time-limit"),
    (["optimise", "--deprivation-weight", "inf"], "--deprivation-weight"),
    (["outreach", "plan", "--out", "{out}", "--months", "1000000"], "--months"),
    (["outreach", "plan", "--out", "{out}", "--visits-per-month", "1000000000"], "--visits-per-month"),
    (["outreach", "plan", "--out", "{out}", "--near-centre-factor", "2"], "--near-centre-factor"),
    (["outreach", "plan", "--out", "{out}", "--repeat-value", "nan"], "--repeat-value"),
    (["reach", "--out", "{out}", "--threshold", "100000"], "--threshold"),
    (["serve", "--port", "70000"], "--port"),
    (["serve", "--port", "0"], "--port"),
    (["data", "fetch", "--margin", "1e9"], "--margin"),
    (["gaps", "--out", "{out}", "--no-such-option"], "--no-such-option"),
    (["gaps"], "--out"),
    (["scenario", "validate"], "files"),
    (["no-such-command"], "no-such-command"),
]


@pytest.mark.parametrize(
    ("args", "needle"), OPTION_CASES, ids=[" ".join(case[0][:3]) + f" {case[0][-1]}" for case in OPTION_CASES]
)
def test_bad_option_values_are_one_line(cli, tmp_path: Path, args: list[str], needle: str) -> None:
    out = tmp_path / "out.x"
    assert_one_line(cli(*[arg.replace("{out}", str(out)) for arg in args]), needle, absent=(out,))


def test_error_lines_carry_no_terminal_escapes(cli, tmp_path: Path) -> None:
    path = tmp_path / "\x1b[31mred\x07\nsecond line.yaml"
    line = assert_one_line(cli("coverage", "--area", path), "layer catalogue not found")
    assert "\x1b" not in line and "\x07" not in line and "\\x1b[31mred\\x07" in line


# --------------------------------------------------------------------------- 1. output paths
def test_out_is_a_folder(cli, tmp_path: Path) -> None:
    venues = _file(tmp_path, "v.csv", f"id,x,y\nv1,{BEXLEY_XY[0]},{BEXLEY_XY[1]}\n")
    folder = tmp_path / "existing"
    folder.mkdir()
    assert_one_line(cli("catchments", "--venues", venues, "--out", folder), str(folder), "is a folder")
    assert list(folder.iterdir()) == []


def test_out_under_a_file(cli, tmp_path: Path) -> None:
    venues = _file(tmp_path, "v.csv", f"id,x,y\nv1,{BEXLEY_XY[0]},{BEXLEY_XY[1]}\n")
    blocker = _file(tmp_path, "blocker", "a file, not a folder")
    out = blocker / "sub" / "catchments.gpkg"
    assert_one_line(cli("catchments", "--venues", venues, "--out", out), str(out), "folder")
    assert blocker.read_text() == "a file, not a folder"


def test_out_folder_is_a_file(cli, tmp_path: Path) -> None:
    """Commands writing a folder of results refuse a file where the folder should be."""
    blocker = _file(tmp_path, "plan", "a file")
    assert_one_line(cli("scenario", "run", "bexley-2021-adopted", "--out", blocker), str(blocker))
    assert blocker.read_text() == "a file"


@pytest.mark.parametrize(
    "args",
    [
        ["map", "--out", "{tmp}/m.html", "--png", "{tmp}/folder"],
        ["report", "--out", "{tmp}/r.html", "--png", "{tmp}/blocker/f.png"],
        ["report", "--out", "{tmp}/r.html", "--map", "{tmp}/folder"],
        ["gaps", "--out", "{tmp}/gaps.gpkg"],
    ],
    ids=["map-png", "report-png", "report-map", "gaps-csv"],
)
def test_several_outputs_all_or_nothing(cli, tmp_path: Path, args: list[str]) -> None:
    """A bad second output path is refused before the first file is written."""
    (tmp_path / "folder").mkdir()
    (tmp_path / "gaps.csv").mkdir()
    _file(tmp_path, "blocker", "x")
    before = sorted(tmp_path.iterdir())
    assert_one_line(cli(*[arg.replace("{tmp}", str(tmp_path)) for arg in args]), "cannot write")
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize("target", ["/proc/geoplan-test/out.csv", "/dev/null", "/proc/self/status"])
def test_atomic_write_to_virtual_paths(target: str) -> None:
    with pytest.raises(OutputError, match="cannot write") as info:
        write_text(target, "x")
    assert "\n" not in str(info.value) and target in str(info.value)


def test_atomic_writers_leave_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "new" / "deeper" / "out.csv"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError
    assert not (tmp_path / "new").exists()
    with pytest.raises(RuntimeError), atomic_directory(tmp_path / "folder") as staging:
        (staging / "a.csv").write_text("half")
        raise RuntimeError
    assert not (tmp_path / "folder").exists()
    with pytest.raises(OutputError, match="is a folder"):
        write_bytes(tmp_path, b"x")
    assert write_text(target, "whole").read_text() == "whole"
    assert sorted(path.name for path in target.parent.iterdir()) == ["out.csv"]


def test_unusable_cache_folder(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = _file(tmp_path, "cache-is-a-file", "x")
    monkeypatch.setattr(settings, "cache_dir", blocker)
    with pytest.raises(CacheError, match="GEOPLAN_CACHE"):
        cache.entry_path("traveltimes", "k")
    with pytest.raises(CacheError, match="GEOPLAN_CACHE"):
        cache.save_arrays(blocker / "traveltimes" / "k.npz", {"x": np.arange(3)})
    assert_one_line(cli("coverage", "--json"), str(blocker))


# --------------------------------------------------------------------------- 6. unreadable inputs, 7. lines
BROKEN_CSVS = {
    "empty": b"",
    "folder": None,
    "utf16": "id,lon,lat\nv1,0.15,51.45\n".encode("utf-16"),
    "latin1": "id,lon,lat\ncaf\xe9,0.15,51.45\n".encode("latin-1"),
    "binary": bytes(range(256)) * 8,
    "ragged": b"id,lon,lat\nv1,0.15,51.45,9,9,9\n",
    "nan": b"id,lon,lat\nv1,nan,51.45\n",
    "infinite": b"id,x,y\nv1,inf,175500\n",
    "huge": b"id,x,y\nv1,1e308,175500\n",
    "no-columns": b"just some text\n",
    "header-only": b"id,lon,lat\n",
}


@pytest.mark.parametrize("kind", sorted(BROKEN_CSVS))
def test_broken_points_file(cli, tmp_path: Path, kind: str) -> None:
    content = BROKEN_CSVS[kind]
    path = tmp_path / f"{kind}.csv"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    out = tmp_path / "out.csv"
    assert_one_line(cli("traveltime", "--destinations", path, "--out", out), str(path), absent=(out,))


@pytest.mark.parametrize("path", ["/proc/self/mem", "/dev/zero", "/nonexistent/origins.csv"])
def test_virtual_and_missing_inputs(cli, tmp_path: Path, path: str) -> None:
    out = tmp_path / "out.csv"
    assert_one_line(cli("traveltime", "--origins", path, "--out", out), path, absent=(out,))


def test_points_file_names_the_file_line(cli, tmp_path: Path) -> None:
    """A quoted field spanning two lines: the bad row starts on line 4 of the file, not data row 2."""
    path = _file(tmp_path, "d.csv", 'id,x,y\n"two\nlines",549000,175500\nbad,five,175500\n')
    line = assert_one_line(cli("traveltime", "--destinations", path, "--out", tmp_path / "o.csv"))
    assert line == f"geoplan: error: {path}, line 4, field 'x': not a number: 'five'"


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ("v8,Hall,library,n/a,,DA8 1LW,test,\n", "venue_id", "duplicate venue id"),
        ("v9,Hall,castle,n/a,,DA8 1LW,test,\n", "kind", "unknown kind 'castle'"),
        ("v9,Hall,library,n/a,,NOT A CODE,test,\n", "postcode", "malformed postcode"),
        ("v9,Hall,library,n/a,,EH1 1YZ,test,\n", "postcode", "not a live postcode"),
    ],
)
def test_venue_file_errors_name_path_line_field(cli, tmp_path: Path, row: str, field: str, message: str) -> None:
    header = "venue_id,name,kind,status_2021,address,postcode,source,notes\n"
    first = 'v8,"Hall with a\ntwo-line name",library,n/a,,DA8 1LW,test,\n'
    venues = _file(tmp_path, "venues.csv", header + first + row)
    area = _catalogue(tmp_path, venues=venues)
    assert_one_line(cli("area", "summary", "--area", area), f"{venues}, line 4, field '{field}'", message)


@pytest.mark.parametrize(
    ("value", "message"),
    [("1e308", "not a number from 0 to 100"), ("-1", "not a number from 0 to 100"), ("lots", "not a number")],
)
def test_session_numbers_have_a_range(cli, tmp_path: Path, value: str, message: str) -> None:
    shipped = (BEXLEY.parent / "bexley" / "sessions.csv").read_text(encoding="utf-8").splitlines()
    columns = shipped[0].split(",")
    fields = shipped[1].split(",")
    fields[columns.index("sessions_per_week")] = value
    sessions = _file(tmp_path, "sessions.csv", "\n".join([shipped[0], ",".join(fields), *shipped[2:]]) + "\n")
    area = _catalogue(tmp_path, sessions=sessions)
    assert_one_line(
        cli("coverage", "--area", area, "--json"), f"{sessions}, line 2, field 'sessions_per_week'", message
    )


def test_catalogue_that_is_not_yaml(cli, tmp_path: Path) -> None:
    for content in (b"\xff\xfe\x00garbage", b"version: [1\n", b"- a\n- b\n"):
        area = _file(tmp_path, "area.yaml", content)
        assert_one_line(cli("area", "summary", "--area", area), str(area))
    assert_one_line(cli("area", "summary", "--area", tmp_path), str(tmp_path))


AREA_COMMANDS = {
    "coverage": ["coverage"],
    "gaps": ["gaps", "--out", "{out}"],
    "traveltime": ["traveltime", "--out", "{out}"],
    "catchments": ["catchments", "--out", "{out}"],
    "optimise": ["optimise"],
    "map": ["map", "--out", "{out}"],
    "report": ["report", "--out", "{out}"],
    "outreach": ["outreach", "plan", "--out", "{out}"],
    "reach": ["reach", "--records", "{records}", "--out", "{out}"],
    "run": ["run", "--out", "{out}"],
    "area": ["area", "summary"],
}
BROKEN_CATALOGUES = {
    "not-utf8": b"\xff\xfe\x00version: 1\n",
    "bad-yaml": b"version: [1\n",
    "a-list": b"- version\n- 1\n",
    "aliases": b"version: &v 1\narea: *v\n",
    "unknown-version": b"version: 99\n",
}


@pytest.mark.parametrize("kind", sorted(BROKEN_CATALOGUES))
@pytest.mark.parametrize("command", sorted(AREA_COMMANDS))
def test_every_command_refuses_a_broken_catalogue(cli, tmp_path: Path, command: str, kind: str) -> None:
    area = _file(tmp_path, "area.yaml", BROKEN_CATALOGUES[kind])
    records = _file(tmp_path, "records.csv", "child_id,postcode,venue,attendance_date\nc1,DA8 1LW,x,2025-01-01\n")
    out = tmp_path / "out.x"
    args = [arg.replace("{out}", str(out)).replace("{records}", str(records)) for arg in AREA_COMMANDS[command]]
    assert_one_line(cli(*args, "--area", area), str(area), absent=(out,))


@pytest.mark.parametrize("kind", ["utf16", "binary", "folder", "ragged", "empty"])
def test_broken_records_file(cli, tmp_path: Path, kind: str) -> None:
    """Registration records: one line naming the file, and never a value from it."""
    content = BROKEN_CSVS[kind]
    path = tmp_path / "records.csv"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    out = tmp_path / "reach"
    line = assert_one_line(cli("reach", "--records", path, "--out", out), str(path), absent=(out,))
    assert "51.45" not in line and "v1" not in line


def _zip_of_text() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "not a workbook")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content"),
    [("torn.xlsx", b"PK\x03\x04 torn"), ("random.xlsx", bytes(range(256)) * 4), ("text.xlsx", _zip_of_text())],
)
def test_broken_foi_workbook(cli, tmp_path: Path, name: str, content: bytes) -> None:
    path = _file(tmp_path, name, content)
    out = tmp_path / "reach"
    assert_one_line(cli("reach", "--foi", path, "--out", out), str(path), "workbook", absent=(out,))


def test_folder_arguments(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``scenario list`` and ``data import`` take folders: a file, a bomb inside or a garbage source is one line."""
    monkeypatch.setattr(settings, "cache_dir", tmp_path / "cache")
    blocker = _file(tmp_path, "a-file", "x")
    assert_one_line(cli("scenario", "list", blocker), str(blocker))
    assert_one_line(cli("data", "import", blocker), str(blocker))
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    bomb = _file(scenarios, "bomb.yaml", _billion_laughs())
    assert_one_line(cli("scenario", "list", scenarios), str(bomb), "line 1")
    imports = tmp_path / "raw"
    imports.mkdir()
    garbage = _file(imports, "File_7_IoD2025_All_Ranks.csv", bytes(range(256)) * 8)
    assert_one_line(cli("data", "import", imports), str(garbage))
    assert not list((tmp_path / "cache").rglob("*.csv"))


def test_hostile_text_in_a_venue_name_is_escaped(cli, tmp_path: Path) -> None:
    shipped = (BEXLEY.parent / "bexley" / "venues.csv").read_text(encoding="utf-8").splitlines()
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    first = shipped[1].replace("West Street Children's Centre", hostile)
    assert first != shipped[1]
    venues = _file(tmp_path, "venues.csv", "\n".join([shipped[0], first, *shipped[2:]]) + "\n")
    out = tmp_path / "map.html"
    code, _, err = cli("map", "--area", _catalogue(tmp_path, venues=venues), "--out", out)
    assert code == 0, err
    page = out.read_text(encoding="utf-8")
    assert "alert(1)" in page, "the name should be shown, escaped"
    assert "<script>alert(1)" not in page and "<img src=x" not in page


# --------------------------------------------------------------------------- 5. places outside the study area
def test_far_away_points_are_refused_in_crowfly_mode(cli, tmp_path: Path) -> None:
    venues = _file(
        tmp_path, "v.csv", f"id,x,y\nnear,{BEXLEY_XY[0]},{BEXLEY_XY[1]}\nfar,{NEWCASTLE_XY[0]},{NEWCASTLE_XY[1]}\n"
    )
    out = tmp_path / "c.gpkg"
    assert_one_line(
        cli("catchments", "--venues", venues, "--out", out), f"{venues}, line 3", "'far'", "outside", absent=(out,)
    )
    out = tmp_path / "t.csv"
    assert_one_line(cli("traveltime", "--origins", venues, "--out", out), f"{venues}, line 3", "outside", absent=(out,))


def test_too_many_pairs_is_refused_before_allocating(cli, tmp_path: Path) -> None:
    """5,000 × 5,000 points inside Bexley: 25 million crow-fly pairs would take over 1 GB; refused in one line."""
    rng = np.random.default_rng(16)
    xy = rng.uniform(np.subtract(BEXLEY_XY, 1000), np.add(BEXLEY_XY, 1000), size=(5000, 2))
    points = _file(tmp_path, "many.csv", "id,x,y\n" + "".join(f"p{i},{x:.0f},{y:.0f}\n" for i, (x, y) in enumerate(xy)))
    out = tmp_path / "t.csv"
    result = cli("traveltime", "--origins", points, "--destinations", points, "--out", out)
    assert_one_line(result, "25,000,000 pairs", absent=(out,))


def test_far_away_scenario_opening(cli, tmp_path: Path) -> None:
    scenario = _file(
        tmp_path,
        "far.yaml",
        "version: 1\nname: far-away\ntitle: A library far away\nbase: bexley\nchanges:\n"
        f"  - open: {{id: far, name: Far library, kind: library, x: {NEWCASTLE_XY[0]}, y: {NEWCASTLE_XY[1]}}}\n",
    )
    assert_one_line(cli("scenario", "validate", scenario), str(scenario), "line 6", "outside")


# --------------------------------------------------------------------------- 3. YAML bombs (child processes)
YAML_BOMBS = {
    "billion-laughs": _billion_laughs(),
    "deep-nesting": "[" * 2_000 + "]" * 2_000,
    "deep-mapping": "".join(" " * depth + f"k{depth}:\n" for depth in range(200)),
    "huge-integer": "version: " + "9" * 100_000 + "\n",
}


@pytest.mark.parametrize("kind", sorted(YAML_BOMBS))
@pytest.mark.parametrize("reader", ["scenario", "catalogue", "rules"])
def test_yaml_bombs(mirror: Path, tmp_path: Path, kind: str, reader: str) -> None:
    path = _file(tmp_path, f"{kind}.yaml", YAML_BOMBS[kind])
    args = {
        "scenario": ["scenario", "validate", path],
        "catalogue": ["area", "summary", "--area", path],
        "rules": ["outreach", "plan", "--rules", path, "--out", tmp_path / "plan"],
    }[reader]
    assert_one_line(child(*args, mirror=mirror, cache_dir=tmp_path / "cache"), str(path), absent=(tmp_path / "plan",))


def test_serve_refuses_a_broken_catalogue_before_starting(mirror: Path, tmp_path: Path) -> None:
    path = _file(tmp_path, "area.yaml", _billion_laughs())
    assert_one_line(child("serve", "--port", "5998", "--area", path, mirror=mirror, cache_dir=tmp_path), str(path))


def test_billion_laughs_fails_in_milliseconds(tmp_path: Path) -> None:
    path = _file(tmp_path, "bomb.yaml", _billion_laughs())
    assert path.stat().st_size < 1024
    with _deadline(2), pytest.raises(InputError, match="line 1: YAML anchors and aliases"):
        read_yaml(path, what="rules file")


# --------------------------------------------------------------------------- 2. caches
def _corruptions(good: bytes, seed: int) -> dict[str, bytes]:
    rng = random.Random(seed)
    flipped = bytearray(good)
    for _ in range(4):
        position = rng.randrange(len(flipped))
        flipped[position] ^= 1 << rng.randrange(8)
    foreign = io.BytesIO()
    np.savez(foreign, minutes=np.zeros((2, 2)))
    pickled = io.BytesIO()
    np.savez(pickled, minutes=np.array([{"code": "run"}], dtype=object))
    forged = io.BytesIO()
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    with zipfile.ZipFile(forged, "w") as archive:
        archive.writestr("__meta__.npy", header.getvalue() + b"{}")
        archive.writestr("minutes.npy", header.getvalue() + b"\0" * 64)
    return {
        "random-bytes": rng.randbytes(len(good)),
        "truncated": good[: len(good) // 2],
        "bit-flips": bytes(flipped),
        "foreign-npz": foreign.getvalue(),
        "pickled-objects": pickled.getvalue(),
        "forged-header": forged.getvalue(),
        "empty": b"",
    }


@pytest.mark.parametrize("seed", range(20))
def test_cache_entries_are_verified(tmp_path: Path, seed: int) -> None:
    arrays = {"minutes": np.random.default_rng(seed).random((40, 7)), "ids": np.array(["a", "b", "c"])}
    path = cache.save_arrays(tmp_path / "entry.npz", arrays, {"seed": seed})
    good = path.read_bytes()
    for kind, data in _corruptions(good, seed).items():
        path.write_bytes(data)
        loaded = cache.load_arrays(path)
        if loaded is not None:  # a flip in a byte the archive never reads: the content must be unchanged
            assert kind == "bit-flips"
            assert np.array_equal(loaded[0]["minutes"], arrays["minutes"]) and loaded[1] == {"seed": seed}
        else:
            assert not path.exists(), f"{kind}: a bad entry must be removed so it is rebuilt"


def test_corrupted_travel_time_cache_is_rebuilt(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "cache_dir", tmp_path / "cache")
    code, first, err = cli("coverage", "--json")
    assert code == 0, err
    entries = sorted((tmp_path / "cache").rglob("*.npz"))
    assert entries, "coverage should cache its travel times"
    good = {entry: entry.read_bytes() for entry in entries}
    for seed, kind in enumerate(["random-bytes", "truncated", "bit-flips", "foreign-npz", "pickled-objects"]):
        for entry, data in good.items():
            entry.write_bytes(_corruptions(data, seed)[kind])
        code, again, err = cli("coverage", "--json")
        assert code == 0 and "Traceback" not in err, (kind, err)
        assert json.loads(again) == json.loads(first), kind


def test_corrupted_network_and_grid_caches_are_rebuilt(
    cli, osm_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Network and catchment-grid entries: any corruption is rebuilt, and the catchments come out the same."""
    import geopandas as gpd

    from geoplan.catchgrid import catchment_grid
    from geoplan.network import network_from_file

    monkeypatch.setattr(settings, "cache_dir", tmp_path / "cache")
    osm = osm_dir / "north-london-bounds-green_highways_overpass_2026-07-26.osm"
    network = network_from_file(osm)
    venues = _file(tmp_path, "v.csv", f"id,x,y\nlib,{np.median(network.x):.0f},{np.median(network.y):.0f}\n")
    args = ("catchments", "--osm", osm, "--venues", venues, "--minutes", "5,10", "--resolution", "20")
    code, _, err = cli(*args, "--out", tmp_path / "first.gpkg")
    assert code == 0, err
    first = gpd.read_file(tmp_path / "first.gpkg")
    grid = catchment_grid(network, margin_m=25.0, resolution_m=20.0)  # the whole network's grid is cached
    entries = sorted((tmp_path / "cache").rglob("*.npz"))
    assert {entry.parent.name for entry in entries} >= {"networks", "catchgrids"}
    good = {entry: entry.read_bytes() for entry in entries}
    for seed, kind in enumerate(["random-bytes", "truncated", "bit-flips", "foreign-npz", "forged-header"]):
        for entry, data in good.items():
            entry.write_bytes(_corruptions(data, seed)[kind])
        out = tmp_path / f"{kind}.gpkg"
        code, _, err = cli(*args, "--out", out)
        assert code == 0 and "Traceback" not in err, (kind, err)
        again = gpd.read_file(out)
        assert again.drop(columns="geometry").equals(first.drop(columns="geometry")), kind
        assert again.geometry.geom_equals_exact(first.geometry, tolerance=1e-6).all(), kind
        rebuilt = catchment_grid(network_from_file(osm), margin_m=25.0, resolution_m=20.0)
        assert rebuilt is not grid
        for name, value in vars(grid).items():
            assert np.array_equal(getattr(rebuilt, name), value), (kind, name)
        assert all(cache.load_arrays(entry) is not None for entry in entries), f"{kind}: entries not rebuilt"


@pytest.mark.parametrize("count", [1e300, -3, 2.5, float("nan")])
def test_population_counts_have_a_range(bexley, count: float) -> None:
    from geoplan.population import children_points

    lsoas = bexley.lsoas.copy()
    lsoas["children_0_4"] = lsoas["children_0_4"].astype(float)
    lsoas.loc[lsoas.index[3], "children_0_4"] = count
    with pytest.raises(
        InputError, match=rf"field 'children_0_4': LSOA {lsoas['lsoa_code'].iloc[3]}: .* from 0 to 10,000"
    ):
        children_points(lsoas, bexley.postcodes)


# --------------------------------------------------------------------------- 4. JSON is strict
def test_json_output_never_holds_nan(capsys: pytest.CaptureFixture[str]) -> None:
    from geoplan.cli.common import print_json

    print_json({"share": float("nan"), "most": np.float64("inf"), "rows": [np.int64(3), -float("inf")]})
    assert json.loads(capsys.readouterr().out, parse_constant=lambda token: pytest.fail(token)) == {
        "share": None,
        "most": None,
        "rows": [3, None],
    }


# --------------------------------------------------------------------------- readers directly
@pytest.mark.parametrize("kind", sorted(BROKEN_CSVS))
def test_read_csv_fails_in_one_line(tmp_path: Path, kind: str) -> None:
    content = BROKEN_CSVS[kind]
    path = tmp_path / "f.csv"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    try:
        read_csv(path)
    except InputError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)


def test_csv_line_counts_file_lines(tmp_path: Path) -> None:
    path = _file(tmp_path, "f.csv", 'a,b\n1,2\n\n"x\ny\nz",3\n4,5\n')
    assert [csv_line(path, position) for position in range(3)] == [2, 4, 7]
    assert read_csv(path)["a"].tolist() == ["1", "x\ny\nz", "4"]

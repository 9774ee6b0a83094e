"""Property-based tests of geoplan's CSV and YAML readers (Hypothesis).

Whatever bytes a file holds, a reader either returns data or raises one-line
:class:`~geoplan.errors.InputError` naming the file: never another exception, never a hang.
Well-formed files round-trip exactly, and a row is named by the line of the file it starts on.
"""

from __future__ import annotations

import csv
import io
import string
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geoplan.errors import InputError, ScenarioError
from geoplan.fileio import MAX_YAML_DEPTH, compose_yaml, construct_yaml, csv_line, read_csv, read_yaml
from geoplan.points import read_points_csv
from geoplan.scenarios import parse_scenario

PROPERTY_SETTINGS = settings(max_examples=100, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
#: Characters that make CSV hard: separators, quotes, line breaks, spaces, accents, a spreadsheet formula.
FIELD_TEXT = st.text(alphabet=string.ascii_letters + string.digits + ' ,"\n\t=+-é£ü', max_size=12)


def _write(content: bytes | str, name: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="geoplan-property-"))
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def _assert_one_line(exc: InputError, path: Path) -> None:
    assert "\n" not in str(exc) and str(path) in str(exc)


@PROPERTY_SETTINGS
@given(st.binary(max_size=600))
def test_read_csv_any_bytes(data: bytes) -> None:
    path = _write(data, "any.csv")
    try:
        frame = read_csv(path)
    except InputError as exc:
        _assert_one_line(exc, path)
    else:
        assert all(isinstance(value, str) for value in frame.to_numpy().ravel())


@PROPERTY_SETTINGS
@given(
    st.integers(min_value=2, max_value=4).flatmap(
        lambda width: st.lists(st.lists(FIELD_TEXT, min_size=width, max_size=width), min_size=1, max_size=12)
    )
)
def test_read_csv_round_trip_and_lines(rows: list[list[str]]) -> None:
    """What csv.writer writes, read_csv reads back exactly, and csv_line finds each row's first line."""
    width = len(rows[0])
    header = [f"c{index}" for index in range(width)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    starts = []
    for row in rows:
        starts.append(buffer.getvalue().count("\n") + 1)
        writer.writerow(row)
    path = _write(buffer.getvalue(), "rows.csv")
    frame = read_csv(path)
    assert frame.to_numpy().tolist() == rows
    assert [csv_line(path, position) for position in range(len(rows))] == starts


@PROPERTY_SETTINGS
@given(
    st.lists(
        st.tuples(FIELD_TEXT, st.one_of(st.floats(allow_nan=True, allow_infinity=True), FIELD_TEXT), st.floats()),
        max_size=8,
    )
)
def test_read_points_csv_never_crashes(rows: list[tuple[str, object, float]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "x", "y"])
    writer.writerows(rows)
    path = _write(buffer.getvalue(), "points.csv")
    try:
        ids, xy = read_points_csv(path)
    except InputError as exc:
        _assert_one_line(exc, path)
    else:
        assert len(ids) == len(rows) == len(set(ids)) and xy.shape == (len(rows), 2)
        assert (xy >= 0).all() and (xy <= 1_300_000).all()


YAML_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
YAML_DATA = st.recursive(
    YAML_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(string.ascii_letters, min_size=1, max_size=8), children, max_size=4),
    ),
    max_leaves=25,
)


@PROPERTY_SETTINGS
@given(YAML_DATA)
def test_read_yaml_round_trip(data: object) -> None:
    path = _write(yaml.safe_dump(data, allow_unicode=True), "data.yaml")
    assert read_yaml(path, what="file") == data


@PROPERTY_SETTINGS
@given(st.text(alphabet=string.printable + "&*!|>-[]{}:é\x00\x85\ufeff", max_size=300))
def test_read_yaml_any_text(text: str) -> None:
    path = _write(text, "any.yaml")
    try:
        read_yaml(path, what="file")
    except InputError as exc:
        _assert_one_line(exc, path)


@PROPERTY_SETTINGS
@given(st.binary(max_size=300))
def test_read_yaml_any_bytes(data: bytes) -> None:
    path = _write(data, "any.yaml")
    try:
        read_yaml(path, what="file")
    except InputError as exc:
        _assert_one_line(exc, path)


@PROPERTY_SETTINGS
@given(YAML_DATA, st.integers(min_value=1, max_value=20))
def test_aliases_are_always_refused(data: object, copies: int) -> None:
    """However small, a document using an anchor is refused, on the line of the anchor."""
    text = yaml.safe_dump({"shared": data}, allow_unicode=True).replace("shared:", "shared: &shared", 1)
    text += "uses: [" + ", ".join(["*shared"] * copies) + "]\n"
    with pytest.raises(InputError, match="line 1: YAML anchors and aliases"):
        compose_yaml(text, path="x.yaml")


@PROPERTY_SETTINGS
@given(st.integers(min_value=MAX_YAML_DEPTH + 1, max_value=5 * MAX_YAML_DEPTH), st.sampled_from(["[", "{a: "]))
def test_deep_nesting_is_refused(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    with pytest.raises(InputError, match="nested more than"):
        construct_yaml(compose_yaml(opener * depth + "1" + closer * depth, path="x.yaml"), path="x.yaml")


@PROPERTY_SETTINGS
@given(st.dictionaries(st.text(string.ascii_lowercase, min_size=1, max_size=8), YAML_DATA, min_size=1, max_size=6))
def test_composed_nodes_carry_their_lines(data: dict[str, object]) -> None:
    """The node tree of :func:`compose_yaml` names the line of each key, as a person counts lines."""
    text = yaml.safe_dump(data, allow_unicode=True, default_flow_style=False, width=1000)
    root = compose_yaml(text, path="x.yaml")
    lines = text.splitlines()
    for key_node, _ in root.value:
        key = key_node.value
        assert lines[key_node.start_mark.line].startswith((f"{key}:", f"'{key}':")), (key, text)


@PROPERTY_SETTINGS
@given(st.text(alphabet=string.printable + "&*é", max_size=400))
def test_scenario_parser_any_text(text: str) -> None:
    try:
        parse_scenario(text, path=Path("any.yaml"))
    except ScenarioError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("any.yaml")

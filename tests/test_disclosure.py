"""Small-number suppression: primary, secondary, and an independent check that no X can be recovered."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geoplan import settings
from geoplan.errors import InputError
from geoplan.reach.disclosure import (
    SUPPRESSED,
    LinkedCounts,
    apply_suppression,
    determined_cells,
    primary_mask,
    protect_frame,
)


def test_primary_suppression_hides_one_to_four_and_shows_zero():
    values = np.array([0, 1, 2, 3, 4, 5, 6, 40])
    assert primary_mask(values).tolist() == [False, True, True, True, True, False, False, False]
    assert primary_mask(values, suppress_zero=True)[0]
    assert primary_mask(values, threshold=7).tolist() == [False, True, True, True, True, True, True, False]
    assert settings.disclosure_threshold == 5
    for bad in (1, 0, -1, 2.5, True):
        with pytest.raises(InputError, match="threshold"):
            primary_mask(values, threshold=bad)


def test_a_recoverable_x_gets_a_second_suppressed_cell():
    # ward × measure, wards summing to a borough total per measure (no row totals: measures do not add)
    counts = pd.DataFrame(
        {"registered": [3, 40, 12, 25], "attended": [9, 20, 6, 35]},
        index=["Erith", "Belvedere", "Crayford", "Total"],
    )
    counts.loc["Total"] = counts.iloc[:3].sum()
    mask = protect_frame(counts, total_row="Total")
    # Erith's 3 alone would be 55 - 40 - 12; the smallest other non-zero count (Crayford's 12) joins it
    assert mask["registered"].tolist() == [True, False, True, False]
    assert not mask["attended"].any()
    shown = apply_suppression(counts, mask)
    assert shown["registered"].tolist() == [SUPPRESSED, 40, SUPPRESSED, 55]
    assert shown["attended"].tolist() == [9, 20, 6, 35]


def test_row_and_column_totals_close_each_other_with_fewest_cells():
    counts = pd.DataFrame({"a": [3, 10, 20], "b": [12, 15, 8]}, index=["w1", "w2", "w3"])
    counts.loc["Total"] = counts.sum()
    counts["all"] = counts.sum(axis=1)
    mask = protect_frame(counts, total_row="Total", total_column="all")
    expected = pd.DataFrame(
        {"a": [True, True, False, False], "b": [True, True, False, False], "all": [False] * 4}, index=counts.index
    )
    pd.testing.assert_frame_equal(mask, expected)


def test_zero_is_shown_unless_asked():
    counts = pd.DataFrame({"n": [0, 2, 9, 11]}, index=["a", "b", "c", "Total"])
    assert protect_frame(counts, total_row="Total")["n"].tolist() == [False, True, True, False]
    assert protect_frame(counts, total_row="Total", suppress_zero=True)["n"].tolist() == [True, True, False, False]


def _random_table(rng: np.random.Generator) -> tuple[pd.DataFrame, bool]:
    rows, columns = int(rng.integers(2, 7)), int(rng.integers(1, 6))
    # many small counts and zeros, some large, as in ward tables of children
    body = np.where(
        rng.random((rows, columns)) < 0.3, rng.integers(0, 5, (rows, columns)), rng.integers(0, 60, (rows, columns))
    )
    frame = pd.DataFrame(body, index=[f"r{i}" for i in range(rows)], columns=[f"c{j}" for j in range(columns)])
    frame.loc["Total"] = frame.sum()
    with_row_totals = bool(rng.random() < 0.5)
    if with_row_totals:
        frame["All"] = frame.sum(axis=1)
    return frame, with_row_totals


def _lines(frame: pd.DataFrame, with_row_totals: bool) -> list[tuple[list[tuple[str, str]], tuple[str, str]]]:
    """Every published equation of the table: (parts, total)."""
    body_rows = [row for row in frame.index if row != "Total"]
    body_columns = [column for column in frame.columns if column != "All"]
    lines = [([(row, column) for row in body_rows], ("Total", column)) for column in frame.columns]
    if with_row_totals:
        lines += [([(row, column) for column in body_columns], (row, "All")) for row in frame.index]
    return lines


@pytest.mark.parametrize("threshold", [3, 5, 10])
def test_no_suppressed_cell_is_recoverable_in_random_tables(threshold):
    rng = np.random.default_rng(threshold)
    for _ in range(150):
        frame, with_row_totals = _random_table(rng)
        mask = protect_frame(
            frame, total_row="Total", total_column="All" if with_row_totals else None, threshold=threshold
        )
        values = frame.to_numpy()
        small = (values >= 1) & (values < threshold)
        assert mask.to_numpy()[small].all()
        published = apply_suppression(frame, mask)
        for parts, total in _lines(frame, with_row_totals):
            cells = [*parts, total]
            hidden = [cell for cell in cells if published.loc[cell] == SUPPRESSED]
            # one X in an equation whose other cells are shown would be recovered by subtraction
            assert len(hidden) != 1, (frame, hidden)
        # and no combination of the equations pins down an X (rank test with numpy, independent of the engine)
        keys = [(row, column) for row in frame.index for column in frame.columns if mask.loc[row, column]]
        if not keys:
            continue
        position = {key: index for index, key in enumerate(keys)}
        system = []
        for parts, total in _lines(frame, with_row_totals):
            row = np.zeros(len(keys))
            for cell in parts:
                if cell in position:
                    row[position[cell]] += 1
            if total in position:
                row[position[total]] -= 1
            system.append(row)
        matrix = np.array(system)
        rank = np.linalg.matrix_rank(matrix)
        for index in range(len(keys)):
            unit = np.zeros(len(keys))
            unit[index] = 1
            assert np.linalg.matrix_rank(np.vstack([matrix, unit])) > rank, (frame, keys[index])


def test_linked_tables_protect_detail_and_summary_together():
    # three LSOAs in one ward, two in another; the ward table has a borough total
    lsoa = pd.DataFrame({"registered": [2, 30, 11, 20, 25]}, index=["L1", "L2", "L3", "L4", "L5"])
    ward = pd.DataFrame({"registered": [43, 45, 88]}, index=["W1", "W2", "Total"])
    linked = LinkedCounts()
    linked.add("lsoa", lsoa)
    linked.add("ward", ward)
    linked.add_margins("ward", total_row="Total")
    linked.add_nesting("lsoa", "ward", {"L1": "W1", "L2": "W1", "L3": "W1", "L4": "W2", "L5": "W2"}, ["registered"])
    masks = linked.protect()
    assert masks["lsoa"]["registered"].tolist() == [True, False, True, False, False]
    assert not masks["ward"]["registered"].any()
    assert linked.leaks(masks) == []
    with pytest.raises(InputError, match="whole non-negative"):
        linked.add("bad", pd.DataFrame({"n": [1.5]}))


def test_determined_cells_sees_through_combined_equations():
    # cells: 0 = T1, 1 = a, 2 = b, 3 = T2, 4 = c with a + b = T1 and a + b + c = T2
    equations = [np.array([0, 1, 2]), np.array([3, 1, 2, 4])]
    mask = np.array([False, True, True, False, True])
    # each equation holds two or three X, yet c = T2 - T1
    assert determined_cells(mask, equations).tolist() == [4]
    mask[0] = True
    assert determined_cells(mask, equations).tolist() == []
    chained = [np.array([2, 0, 1]), np.array([4, 2, 3])]  # x0 + x1 = x2, x2 + x3 = x4
    assert determined_cells(np.array([False, True, True, False, False]), chained).tolist() == [1, 2]


def test_secondary_suppression_closes_a_combined_leak():
    parts = pd.DataFrame({"n": [3, 7, 2]}, index=["a", "b", "c"])
    totals = pd.DataFrame({"n": [10, 12]}, index=["T1", "T2"])
    linked = LinkedCounts()
    linked.add("parts", parts)
    linked.add("totals", totals)
    linked.add_sum(("totals", "T1", "n"), [("parts", "a", "n"), ("parts", "b", "n")])
    linked.add_sum(("totals", "T2", "n"), [("parts", "a", "n"), ("parts", "b", "n"), ("parts", "c", "n")])
    masks = linked.protect()
    # a and c are small; a, b, c hidden would still give c = T2 - T1, so a total of c is hidden too
    assert masks["parts"]["n"].tolist() == [True, True, True]
    assert masks["totals"]["n"].tolist() == [False, True]  # T2, the one cell of c's equation still shown

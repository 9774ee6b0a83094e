"""Disclosure control for counts of registered or attending children.

The rule follows the council's FOI replies: a count from 1 to ``threshold - 1`` (default 1-4)
is shown as ``"X"`` (primary suppression). Zero is shown by default, because "no child" is not
a small group of identifiable children; ``suppress_zero=True`` hides it too.

A suppressed cell must not be recoverable by subtraction from a total that is shown, so every
published equation "parts sum to a total" (a table's rows to its total row, LSOAs to their ward,
deciles to the "30% most deprived" group, months to the year...) is checked: an equation holding
exactly one suppressed cell gets a second one, the smallest non-zero cell still shown in it
(secondary suppression), repeated until no equation changes. A final linear-algebra audit over all
equations together suppresses further cells until no suppressed cell is determined by any
combination of the equations either.

Tables are linked through :class:`LinkedCounts`: add each table (a DataFrame of whole counts),
state which cells sum to which, call :meth:`LinkedCounts.protect`, and publish with
:func:`apply_suppression`. :func:`protect_frame` does all of this for one table with margins.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from geoplan import settings
from geoplan.errors import InputError

#: What a suppressed cell shows, as in the council's FOI replies.
SUPPRESSED = "X"
#: Decimal places of published ratios (reach, shares).
RATIO_DECIMALS = 3
#: Relative size below which a singular value of the equation system counts as zero.
DETERMINED_TOLERANCE = 1e-9
#: A suppressed cell is determined when its unit vector's projection on the row space is within this of 1.
DETERMINED_TOLERANCE_PROJECTION = 1e-7

CellKey = tuple[str, Hashable, Hashable]


#: The lowest threshold that still hides something (a count of 1).
MIN_THRESHOLD = 2


def check_threshold(threshold: int) -> int:
    """Return ``threshold`` if it is a usable suppression threshold (a whole number of at least 2)."""
    if isinstance(threshold, bool) or not isinstance(threshold, int | np.integer) or threshold < MIN_THRESHOLD:
        msg = f"the suppression threshold must be a whole number of at least {MIN_THRESHOLD}, got {threshold!r}"
        raise InputError(msg, field="threshold")
    return int(threshold)


def primary_mask(values: np.ndarray, *, threshold: int | None = None, suppress_zero: bool = False) -> np.ndarray:
    """Cells whose count is small enough to identify children: ``1 <= value < threshold`` (and 0 if asked)."""
    threshold = check_threshold(settings.disclosure_threshold if threshold is None else threshold)
    values = np.asarray(values)
    small = (values >= 1) & (values < threshold)
    return small | (values == 0) if suppress_zero else small


def single_equation_leaks(mask: np.ndarray, equations: Sequence[np.ndarray]) -> list[int]:
    """Equations (by position) with exactly one suppressed cell: that cell follows by subtraction."""
    return [number for number, cells in enumerate(equations) if int(mask[cells].sum()) == 1]


def determined_cells(mask: np.ndarray, equations: Sequence[np.ndarray]) -> np.ndarray:
    """Suppressed cells whose value follows from the shown cells and all equations taken together.

    Each equation says the signed sum of its cells is zero (parts minus total). With the shown cells
    moved to the right-hand side, a suppressed cell is determined exactly when its unit vector lies in
    the row space of the system restricted to the suppressed cells (its projection there has length 1).
    """
    hidden = np.flatnonzero(mask)
    if hidden.size == 0:
        return hidden
    position = {int(cell): index for index, cell in enumerate(hidden)}
    rows = []
    for cells in equations:
        row = np.zeros(hidden.size)
        for cell, sign in zip(cells, _signs(cells), strict=True):
            if int(cell) in position:
                row[position[int(cell)]] += sign
        if row.any():
            rows.append(row)
    if not rows:
        return np.array([], dtype=int)
    system = np.vstack(rows)
    # equations that share no suppressed cell are independent: one small decomposition per linked group
    links = sparse.csr_matrix(system != 0)
    _, labels = connected_components(sparse.bmat([[None, links], [links.T, None]]), directed=False)
    cell_labels = labels[len(rows) :]
    row_labels = labels[: len(rows)]
    determined = np.zeros(hidden.size, dtype=bool)
    for label in np.unique(cell_labels):
        columns = np.flatnonzero(cell_labels == label)
        block = system[np.ix_(np.flatnonzero(row_labels == label), columns)]
        if block.size == 0:
            continue
        _, singular, row_space = np.linalg.svd(block, full_matrices=False)
        rank = int((singular > DETERMINED_TOLERANCE * max(1.0, singular[0])).sum())
        projection = (row_space[:rank] ** 2).sum(axis=0)
        determined[columns] = projection > 1.0 - DETERMINED_TOLERANCE_PROJECTION
    return hidden[determined]


def _signs(cells: np.ndarray) -> np.ndarray:
    # the first cell of an equation is its total, the others its parts
    signs = np.ones(len(cells))
    signs[0] = -1.0
    return signs


def secondary_mask(values: np.ndarray, mask: np.ndarray, equations: Sequence[np.ndarray]) -> np.ndarray:
    """Extend ``mask`` until no suppressed cell can be recovered from the equations.

    Parameters
    ----------
    values
        Every cell's count (flat array).
    mask
        Cells already suppressed (primary suppression).
    equations
        Arrays of cell positions; the first is a total, the rest its parts.

    Returns
    -------
    numpy.ndarray
        The extended mask (a new array).
    """
    values = np.asarray(values, dtype=float)
    mask = np.asarray(mask, dtype=bool).copy()
    member_of: dict[int, list[int]] = {}
    for number, cells in enumerate(equations):
        for cell in cells:
            member_of.setdefault(int(cell), []).append(number)
    while True:
        changed = True
        while changed:
            changed = False
            for number in single_equation_leaks(mask, equations):
                cells = equations[number]
                if int(mask[cells].sum()) == 1:
                    mask[_next_to_suppress(values, mask, cells, equations, member_of)] = True
                    changed = True
        determined = determined_cells(mask, equations)
        if determined.size == 0:
            return mask
        pools = [equations[number] for cell in determined for number in member_of.get(int(cell), [])]
        pools = [cells for cells in pools if (~mask[cells]).any()]
        if not pools:
            return mask
        mask[_next_to_suppress(values, mask, np.unique(np.concatenate(pools)), equations, member_of)] = True


def _next_to_suppress(
    values: np.ndarray,
    mask: np.ndarray,
    cells: np.ndarray,
    equations: Sequence[np.ndarray],
    member_of: dict[int, list[int]],
) -> int:
    """The shown cell to hide next: one that also closes another leaking equation, else the smallest non-zero."""
    shown = cells[~mask[cells]]
    nonzero = shown[values[shown] > 0]
    pool = nonzero if nonzero.size else shown
    closes = np.array(
        [sum(int(mask[equations[number]].sum()) == 1 for number in member_of.get(int(cell), [])) for cell in pool]
    )
    # most leaks closed first, then the smallest value, then the first cell
    order = np.lexsort((np.arange(pool.size), values[pool], -closes))
    return int(pool[order[0]])


@dataclass
class LinkedCounts:
    """Count tables published together, with the equations that link their cells.

    Add tables with :meth:`add`, equations with :meth:`add_sum`, :meth:`add_margins` and
    :meth:`add_nesting`, then call :meth:`protect` for one suppression mask per table.
    """

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    equations: list[list[CellKey]] = field(default_factory=list)

    def add(self, name: str, counts: pd.DataFrame) -> None:
        """Add a table of whole, non-negative counts (its cells may take part in equations)."""
        numbers = counts.apply(pd.to_numeric, errors="coerce")
        if numbers.isna().any().any() or (numbers < 0).any().any() or (numbers % 1 != 0).any().any():
            msg = "counts to protect must be whole non-negative numbers"
            raise InputError(msg, field=name)
        self.tables[name] = numbers.astype(np.int64)

    def add_sum(self, total: CellKey, parts: Iterable[CellKey]) -> None:
        """State that the cells ``parts`` add up to the cell ``total``."""
        parts = list(parts)
        for table, row, column in [total, *parts]:
            if (
                table not in self.tables
                or row not in self.tables[table].index
                or column not in self.tables[table].columns
            ):
                msg = f"no cell ({row}, {column}) in table {table!r}"
                raise InputError(msg, field=str(table))
        if parts:
            self.equations.append([total, *parts])

    def add_margins(
        self, name: str, *, total_row: Hashable | None = None, total_column: Hashable | None = None
    ) -> None:
        """State that a table's rows add up to ``total_row`` and/or its columns to ``total_column``."""
        frame = self.tables[name]
        body_rows = [row for row in frame.index if row != total_row]
        body_columns = [column for column in frame.columns if column != total_column]
        if total_row is not None:
            for column in frame.columns:
                self.add_sum((name, total_row, column), [(name, row, column) for row in body_rows])
        if total_column is not None:
            for row in frame.index:
                self.add_sum((name, row, total_column), [(name, row, column) for column in body_columns])

    def add_nesting(
        self, detail: str, summary: str, groups: Mapping[Hashable, Hashable], columns: Iterable[Hashable]
    ) -> None:
        """State that the rows of ``detail`` add up, by ``groups`` (detail row → summary row), to rows of ``summary``."""
        members: dict[Hashable, list[Hashable]] = {}
        for row, group in groups.items():
            members.setdefault(group, []).append(row)
        for group, rows in members.items():
            for column in columns:
                self.add_sum((summary, group, column), [(detail, row, column) for row in rows])

    def protect(self, *, threshold: int | None = None, suppress_zero: bool = False) -> dict[str, pd.DataFrame]:
        """Primary and secondary suppression over all tables at once; one boolean mask per table."""
        keys: list[CellKey] = []
        values: list[int] = []
        for name, frame in self.tables.items():
            for row in frame.index:
                for column in frame.columns:
                    keys.append((name, row, column))
                    values.append(int(frame.loc[row, column]))
        position = {key: index for index, key in enumerate(keys)}
        flat = np.array(values, dtype=np.int64)
        equations = [np.array([position[key] for key in equation]) for equation in self.equations]
        mask = secondary_mask(flat, primary_mask(flat, threshold=threshold, suppress_zero=suppress_zero), equations)
        masks = {}
        for name, frame in self.tables.items():
            cells = np.array([mask[position[(name, row, column)]] for row in frame.index for column in frame.columns])
            masks[name] = pd.DataFrame(cells.reshape(frame.shape), index=frame.index, columns=frame.columns)
        return masks

    def leaks(self, masks: Mapping[str, pd.DataFrame]) -> list[CellKey]:
        """Suppressed cells that one equation alone reveals (empty when ``masks`` is safe)."""
        found = []
        for equation in self.equations:
            hidden = [key for key in equation if bool(masks[key[0]].loc[key[1], key[2]])]
            if len(hidden) == 1:
                found.append(hidden[0])
        return found


def protect_frame(
    counts: pd.DataFrame,
    *,
    total_row: Hashable | None = None,
    total_column: Hashable | None = None,
    threshold: int | None = None,
    suppress_zero: bool = False,
) -> pd.DataFrame:
    """Suppression mask of one table whose ``total_row`` / ``total_column`` are sums of the others."""
    linked = LinkedCounts()
    linked.add("table", counts)
    linked.add_margins("table", total_row=total_row, total_column=total_column)
    return linked.protect(threshold=threshold, suppress_zero=suppress_zero)["table"]


def apply_suppression(frame: pd.DataFrame, mask: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the masked cells shown as ``"X"`` (masked columns become text)."""
    out = frame.copy()
    for column in mask.columns:
        hidden = mask[column].reindex(out.index, fill_value=False).astype(bool)
        shown = out[column].astype(object)
        out[column] = shown.where(~hidden, SUPPRESSED)
    return out


def disclosure_rule(threshold: int, *, suppress_zero: bool = False) -> str:
    """The suppression rule in one sentence, for summaries and reports."""
    zero = "Zero is also hidden." if suppress_zero else "Zero is shown."
    return (
        f"Counts of children from 1 to {threshold - 1} are shown as X. {zero} Where a total would reveal an X, "
        "the next smallest count in that row or column is also shown as X (secondary suppression)."
    )

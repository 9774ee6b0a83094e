"""What HiGHS (through :func:`scipy.optimize.milp`) says, in the words geoplan reports."""

from __future__ import annotations

#: :func:`scipy.optimize.milp` status codes.
HIGHS_STATUS: dict[int, str] = {0: "optimal", 1: "time_limit", 2: "infeasible", 3: "unbounded", 4: "error"}


def status_name(code: int) -> str:
    """The name of a :func:`scipy.optimize.milp` status code (``"error"`` for an unknown one)."""
    return HIGHS_STATUS.get(int(code), "error")

"""Registration reach with disclosure control.

:mod:`~geoplan.reach.records` turns registration/attendance records (personal data) into counts by
LSOA, ward, deprivation decile and month; :mod:`~geoplan.reach.foi` reads the council's published
ward tables (FOI replies); :mod:`~geoplan.reach.disclosure` hides small counts as ``"X"`` and every
count a shown total would give away.
"""

from geoplan.reach.disclosure import (
    SUPPRESSED,
    LinkedCounts,
    apply_suppression,
    check_threshold,
    disclosure_rule,
    primary_mask,
    protect_frame,
)
from geoplan.reach.foi import WardTable, read_ward_tables, ward_table_layer, write_ward_tables
from geoplan.reach.records import (
    COUNT_MEASURES,
    ReachResult,
    ReachWarning,
    aggregate,
    analyse_reach,
    problem_lines,
    read_records,
)

__all__ = [
    "COUNT_MEASURES",
    "SUPPRESSED",
    "LinkedCounts",
    "ReachResult",
    "ReachWarning",
    "WardTable",
    "aggregate",
    "analyse_reach",
    "apply_suppression",
    "check_threshold",
    "disclosure_rule",
    "primary_mask",
    "problem_lines",
    "protect_frame",
    "read_records",
    "read_ward_tables",
    "ward_table_layer",
    "write_ward_tables",
]

"""Scenario comparisons as the tables people read: who gains and who loses a walk to a centre."""

from __future__ import annotations

import pandas as pd

from geoplan.scenarios.apply import plain_label
from geoplan.scenarios.compare import SESSION_TYPE_COLUMNS, ScenarioComparison

#: Headings of the session-type table (the comparison's :data:`SESSION_TYPE_COLUMNS`).
SESSION_TYPE_HEADINGS = {
    "session_type": "Session type",
    "venues_before": "Venues now",
    "venues_after": "Venues after",
    "covered_before": "Within reach now",
    "covered_after": "Within reach after",
    "children_losing": "Lose",
    "children_gaining": "Gain",
}


def impact_tables(comparison: ScenarioComparison) -> dict[str, pd.DataFrame]:
    """Who gains and who loses, in plain columns: by ward, by IMD and IDACI decile, by session type.

    The comparison's equality-impact tables (the report's), with columns named for people, counts
    as whole children and wards with the most children losing first.
    """
    columns = {
        "children": "Children",
        "covered_before": "Within reach now",
        "covered_after": "Within reach after",
        "children_losing": "Lose",
        "children_gaining": "Gain",
        "share_change_pts": "Change (% points)",
    }

    def impact(frame: pd.DataFrame, key: str, label: str) -> pd.DataFrame:
        table = frame[[key, *columns]].rename(columns={key: label, **columns})
        counts = table[["Children", "Within reach now", "Within reach after", "Lose", "Gain"]].round().astype(int)
        table[counts.columns] = counts
        table["Change (% points)"] = table["Change (% points)"].round(1)
        return table.reset_index(drop=True)

    wards = impact(comparison.by_ward, "ward_name", "Ward").sort_values(["Lose", "Gain"], ascending=False)
    types = comparison.session_types.assign(
        session_type=[plain_label(kind).capitalize() for kind in comparison.session_types["session_type"]]
    )
    sessions = types[list(SESSION_TYPE_COLUMNS)].rename(columns=SESSION_TYPE_HEADINGS)
    counts = ["Within reach now", "Within reach after", "Lose", "Gain"]
    sessions[counts] = sessions[counts].round().astype(int)
    return {
        "ward": wards.reset_index(drop=True),
        "imd": impact(comparison.by_imd_decile, "imd_decile", "IMD decile (1 = most deprived)"),
        "idaci": impact(comparison.by_idaci_decile, "idaci_decile", "IDACI decile (1 = most deprived)"),
        "session_types": sessions.reset_index(drop=True),
    }

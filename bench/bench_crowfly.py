"""The price of crow-fly: children within 10/15/20 minutes of a library on the walking network and by the
calibrated crow-fly fallback, on New Southgate ward (the README table next to the Bexley caveat).

Run: ``GEOPLAN_DATA=../shared/data .venv/bin/python bench/bench_crowfly.py [layers/AREA.yaml]``
"""

from __future__ import annotations

import sys
from pathlib import Path

from benchkit import environment, setup

from geoplan.networkcheck import compare_methods
from geoplan.studyarea import load_study_area

DEFAULT_AREA = Path(__file__).resolve().parent.parent / "layers" / "new-southgate.yaml"


def main() -> None:
    setup()
    area = load_study_area(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_AREA)
    comparison = compare_methods(area)
    print(environment())
    print()
    print(
        f"{area.name}: {len(area.located_venues)} located venues, {int(area.lsoas['children_0_4'].sum())} children "
        f"aged 0-4, {comparison.pairs} origin-venue pairs; crow-fly = straight line x {comparison.circuity:g}"
    )
    print()
    print(comparison.to_markdown())
    print()
    if comparison.lsoa_flips.empty:
        print("No LSOA changes side (most of its children within the band by one method, not by the other).")
    for row in comparison.lsoa_flips.itertuples():
        print(
            f"- {row.band:g} min: {row.lsoa_name} ({row.lsoa_code}), {row.children:.0f} children — within by network "
            f"{row.network:.0f}, by crow-fly {row.crowfly:.0f}"
        )


if __name__ == "__main__":
    main()

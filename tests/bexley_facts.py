"""Facts about Bexley written out from ../shared/CONTEXT.md, the independent reference several tests check against."""

from __future__ import annotations

#: The six children's-centre buildings of the 2025 programme (Cabinet report, 1 September 2021; CONTEXT.md),
#: in the order of the venue file.
CENTRES_2025 = (
    "cc-west-street",
    "cc-northumberland-heath",
    "cc-normandy-send-hub",
    "cc-danson",
    "cc-north-cray",
    "cc-northend",
)

"""What every committee output draws alike: palette, venue symbols, walking-band colours and plain labels.

The folium map (:mod:`geoplan.outputs.maps`), the printed figure (:mod:`geoplan.outputs.figure`),
the report and the Panel app take their colours, symbols and words from here, so a decile, a
venue kind or a closed centre looks and reads the same in each. The words for the short codes of
venue and session files are data, in ``labels.yaml`` beside this module. Nothing here imports
folium or matplotlib.
"""

from __future__ import annotations

import importlib.resources
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from geoplan.errors import InputError
from geoplan.fileio import invalid_field, read_yaml
from geoplan.studyarea import StudyArea
from geoplan.text import plural

#: ColorBrewer YlGnBu in 10 classes, decile 1 (most deprived 10% nationally) darkest.
DECILE_COLORS: tuple[str, ...] = (
    "#081d58",
    "#22318d",
    "#2355a4",
    "#1f80b8",
    "#31a6c2",
    "#5dc0c0",
    "#97d6b9",
    "#cfecb3",
    "#eff9b5",
    "#ffffd9",
)
#: Deprivation indices a map can shade LSOAs by: column and label.
DECILE_INDICES: dict[str, tuple[str, str]] = {
    "imd": ("imd_decile", "IMD 2025 national decile"),
    "idaci": ("idaci_decile", "IDACI 2025 national decile"),
}
#: Colour of venues that are closed or no longer a centre in the configuration shown.
GREYED_COLOR = "#9e9e9e"
#: Outline of every venue symbol, and the light halo that keeps it visible on dark shading.
SYMBOL_EDGE = "#222222"
SYMBOL_HALO = "#ffffff"
#: Catalogue symbol names (icon-font names) as marker shapes (matplotlib marker codes), so the
#: web map and the printed figure draw every kind with the same shape and no icon font is needed.
SYMBOL_MARKERS: dict[str, str] = {
    "star": "*",
    "square": "s",
    "book": "D",
    "home": "p",
    "graduation-cap": "^",
    "plus": "P",
    "bell": "v",
    "shopping-basket": "h",
    "futbol": "o",
}
DEFAULT_MARKER = "o"
#: Walking bands, innermost first.
BAND_COLORS: tuple[str, ...] = ("#006d2c", "#31a354", "#74c476", "#a1d99b")
BAND_FILL_OPACITY = 0.12
GAP_COLOR = "#c51b7d"
CHILDREN_COLOR = "#444444"
#: Text colour of ward and gap labels (drawn with a white halo).
LABEL_COLOR = "#1a1a1a"
CLOSED_LABEL = "Closed or no longer a centre (grey)"

#: The file of plain words for the short codes in venue and session files, beside this module.
CODE_LABELS_FILE = "labels.yaml"


class CodeLabels(BaseModel):
    """Plain words for the short codes of venue and session files, by column (see ``labels.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    age_group: dict[str, str]
    provider: dict[str, str]
    status_2021: dict[str, str]
    frequency: dict[str, str]


def load_code_labels(path: str | os.PathLike[str]) -> CodeLabels:
    """Read a labels file; a broken one is a one-line :class:`~geoplan.errors.InputError` naming the field."""
    try:
        return CodeLabels.model_validate(read_yaml(path, what="labels file"))
    except ValidationError as exc:
        raise invalid_field(exc, path=path) from None


#: The words of every code, read once.
CODE_LABELS: CodeLabels = load_code_labels(Path(str(importlib.resources.files(__package__))) / CODE_LABELS_FILE)


def words(code: object, labels: Mapping[str, str]) -> str:
    """A short code in words: its label when known, else the code with spaces (never ``under_1``)."""
    text = "" if code is None else str(code).strip()
    return labels.get(text, text.replace("_", " "))


def band_color(position: int) -> str:
    """Colour of the walking band at ``position`` (0 = innermost)."""
    return BAND_COLORS[min(position, len(BAND_COLORS) - 1)]


def decile_label(decile: int) -> str:
    """Legend text of a national decile: ``1 (most deprived 10%)`` … ``10 (least deprived 10%)``."""
    if decile == 1:
        return "1 (most deprived 10%)"
    if decile == len(DECILE_COLORS):
        return f"{decile} (least deprived 10%)"
    return str(decile)


def decile_color(decile: object) -> str:
    """Fill colour of a national decile (1-10)."""
    return DECILE_COLORS[int(decile) - 1]


@dataclass(frozen=True)
class DecileShading:
    """LSOAs shaded by one national deprivation index (see :data:`DECILE_INDICES`).

    Attributes
    ----------
    column
        The LSOA column holding the decile.
    label
        The index's name, the legend heading ("IMD 2025 national decile").
    """

    column: str
    label: str

    def colors(self, lsoas: pd.DataFrame) -> list[str]:
        """Fill colour of each LSOA."""
        return [decile_color(decile) for decile in lsoas[self.column]]

    @property
    def legend(self) -> list[tuple[str, str]]:
        """Colour and legend text of each decile, most deprived first."""
        return [(color, decile_label(decile)) for decile, color in enumerate(DECILE_COLORS, start=1)]


def decile_shading(index: str) -> DecileShading:
    """The shading of a deprivation index named in :data:`DECILE_INDICES` (``imd`` or ``idaci``).

    Raises
    ------
    InputError
        Any other name (field ``decile``).
    """
    if index not in DECILE_INDICES:
        msg = f"unknown deprivation index {index!r}; use {' or '.join(DECILE_INDICES)}"
        raise InputError(msg, field="decile")
    column, label = DECILE_INDICES[index]
    return DecileShading(column=column, label=label)


def kind_style(area: StudyArea, kind: str) -> tuple[str, str, str]:
    """Colour, marker shape and label of a venue kind, from the area's catalogue."""
    style = area.catalogue.venues.styles.get(kind)
    if style is None:
        return "#000000", DEFAULT_MARKER, kind.replace("_", " ").capitalize()
    return style.color, SYMBOL_MARKERS.get(style.symbol, DEFAULT_MARKER), style.label


def kind_label(area: StudyArea, kind: str) -> str:
    """Plain name of a venue kind ("Children's centre")."""
    return kind_style(area, kind)[2]


def _in_sentence(label: str) -> str:
    """A label inside a sentence: ``children's centre``, but ``SEND hub`` keeps its capitals."""
    return label if len(label) > 1 and label[1].isupper() else label[:1].lower() + label[1:]


def centres_phrase(area: StudyArea, kinds: Mapping[str, str], venue_ids: tuple[str, ...] | list[str]) -> str:
    """What a coverage figure counts, in words: ``6 centres (5 children's centres and 1 SEND hub)``."""
    counts: dict[str, int] = {}
    for venue in venue_ids:
        label = _in_sentence(kind_label(area, kinds.get(venue, "")))
        counts[label] = counts.get(label, 0) + 1
    if len(counts) <= 1:
        return plural(len(venue_ids), next(iter(counts), "centre"))
    parts = [plural(count, label) for label, count in counts.items()]
    return f"{plural(len(venue_ids), 'centre')} ({', '.join(parts[:-1])} and {parts[-1]})"

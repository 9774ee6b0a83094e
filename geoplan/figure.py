"""The static committee figure: the map's layers as a print-quality PNG (matplotlib).

Same layers, colours and venue symbols as :mod:`geoplan.maps`, drawn in British National Grid
metres so the scale bar is exact, with a legend, a north arrow and the source attributions
under the map. The image has exactly the requested pixel size.
"""

from __future__ import annotations

import io
import os
import textwrap
from pathlib import Path

import geopandas as gpd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from geoplan.programme import Configuration
from geoplan.errors import InputError
from geoplan.fileio import atomic_path
from geoplan.maps import (
    BAND_COLORS,
    BAND_FILL_OPACITY,
    DECILE_COLORS,
    DECILE_INDICES,
    DEFAULT_MARKER,
    GAP_COLOR,
    GAPS_SHOWN,
    GREYED_COLOR,
    attribution_text,
    gap_label,
    kind_style,
    venue_layer,
)
from geoplan.studyarea import StudyArea
from geoplan.venues import CENTRE_KINDS

#: A4 landscape at 200 dots per inch, a committee paper's page.
DEFAULT_WIDTH_PX = 2339
DEFAULT_HEIGHT_PX = 1654
DEFAULT_DPI = 200
#: Smallest and largest image the command accepts (a thumbnail to a poster).
MIN_SIDE_PX = 400
MAX_SIDE_PX = 12_000
#: Share of the width given to the map; the legend takes the rest.
MAP_WIDTH_SHARE = 0.70
#: Scale bar lengths tried, in metres; the longest no wider than a fifth of the map is used.
SCALE_BAR_LENGTHS_M = (250, 500, 1000, 2000, 5000, 10_000, 20_000)
MARKER_POINTS = 9.0


def _scale_bar(ax: object, extent: tuple[float, float, float, float]) -> None:
    minx, miny, maxx, maxy = extent
    fitting = [length for length in SCALE_BAR_LENGTHS_M if length <= (maxx - minx) / 5]
    length = fitting[-1] if fitting else SCALE_BAR_LENGTHS_M[0]
    x0, y0 = minx + (maxx - minx) * 0.04, miny + (maxy - miny) * 0.04
    height = (maxy - miny) * 0.008
    for part in range(2):
        ax.add_patch(Rectangle((x0 + part * length / 2, y0), length / 2, height, facecolor="black" if part == 0 else
                               "white", edgecolor="black", linewidth=0.6, zorder=10))  # fmt: skip
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length} m"
    for x, text in ((x0, "0"), (x0 + length, label)):
        ax.text(x, y0 + height * 1.8, text, ha="center", va="bottom", fontsize=6, zorder=10)


def _north_arrow(ax: object) -> None:
    ax.annotate("N", xy=(0.95, 0.95), xytext=(0.95, 0.86), xycoords="axes fraction", ha="center", va="center",
                fontsize=9, fontweight="bold", arrowprops={"facecolor": "black", "width": 3, "headwidth": 9,
                                                           "headlength": 8}, zorder=10)  # fmt: skip


def build_figure(
    area: StudyArea,
    *,
    configuration: Configuration | None = None,
    venues: gpd.GeoDataFrame | None = None,
    gaps: object | None = None,
    catchments: gpd.GeoDataFrame | None = None,
    method: str | None = None,
    decile: str = "imd",
    title: str | None = None,
    subtitle: str | None = None,
    width_px: int = DEFAULT_WIDTH_PX,
    height_px: int = DEFAULT_HEIGHT_PX,
    dpi: int = DEFAULT_DPI,
) -> Figure:
    """Draw the committee map as a matplotlib figure of ``width_px`` × ``height_px`` pixels at ``dpi``.

    Parameters are those of :func:`geoplan.maps.build_map`; ``method`` (``network`` or
    ``crow-fly``) decides whether OpenStreetMap is credited.

    Returns
    -------
    matplotlib.figure.Figure
        With one legend (``figure.legends[0]``).
    """
    for name, value in (("width", width_px), ("height", height_px)):
        if not MIN_SIDE_PX <= value <= MAX_SIDE_PX:
            msg = f"image {name} must be between {MIN_SIDE_PX} and {MAX_SIDE_PX} pixels, got {value}"
            raise InputError(msg, field=name)
    if decile not in DECILE_INDICES:
        msg = f"unknown deprivation index {decile!r}; use {' or '.join(DECILE_INDICES)}"
        raise InputError(msg, field="decile")
    column, index_label = DECILE_INDICES[decile]
    shown = venue_layer(area, configuration=configuration, venues=venues)

    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(figure)
    ax = figure.add_axes((0.01, 0.09, MAP_WIDTH_SHARE - 0.02, 0.80))
    ax.set_axis_off()
    ax.set_aspect("equal")
    lsoa_style = area.catalogue.layers["lsoas"].style if "lsoas" in area.catalogue.layers else {}
    ward_style = area.catalogue.layers["wards"].style if "wards" in area.catalogue.layers else {}
    colors = [DECILE_COLORS[int(value) - 1] for value in area.lsoas[column]]
    area.lsoas.plot(ax=ax, color=colors, edgecolor=lsoa_style.get("line_color", "#555555"),
                    linewidth=lsoa_style.get("line_weight", 0.5) * 0.5, zorder=1)  # fmt: skip
    handles: list[object] = [Patch(facecolor=color, edgecolor="#777777", label=str(decile_number) + (
        " (most deprived 10%)" if decile_number == 1 else " (least deprived 10%)" if decile_number == 10 else ""))
        for decile_number, color in enumerate(DECILE_COLORS, start=1)]  # fmt: skip
    if catchments is not None and not catchments.empty:
        bands = catchments.dissolve(by="band").reset_index().sort_values("band", ascending=False)
        order = sorted(bands["band"])
        for row in bands.itertuples():
            color = BAND_COLORS[min(order.index(row.band), len(BAND_COLORS) - 1)]
            gpd.GeoSeries([row.geometry], crs=bands.crs).plot(ax=ax, facecolor=color, alpha=BAND_FILL_OPACITY,
                                                             edgecolor="none", zorder=2)  # fmt: skip
            gpd.GeoSeries([row.geometry], crs=bands.crs).boundary.plot(ax=ax, color=color, linewidth=0.8, zorder=2)
        for position, minutes in enumerate(order):
            color = BAND_COLORS[min(position, len(BAND_COLORS) - 1)]
            handles.append(Patch(facecolor=(*_rgb(color), BAND_FILL_OPACITY), edgecolor=color,
                                 label=f"Within {minutes:g} min walk"))  # fmt: skip
    if gaps is not None and not gaps.clusters.empty:
        gaps.clusters.head(GAPS_SHOWN).plot(ax=ax, facecolor="none", edgecolor=GAP_COLOR, hatch="////", linewidth=0.9,
                           linestyle="--", zorder=3)  # fmt: skip
        handles.append(Patch(facecolor="none", edgecolor=GAP_COLOR, hatch="////",
                             label=gap_label(gaps)))  # fmt: skip
    area.wards.boundary.plot(ax=ax, color=ward_style.get("line_color", "#222222"),
                             linewidth=ward_style.get("line_weight", 1.5) * 0.5, zorder=4)  # fmt: skip
    area.boundary.boundary.plot(ax=ax, color="black", linewidth=1.4, zorder=4)
    for kind, members in shown.groupby("kind", sort=False):
        color, marker, label = kind_style(area, kind)
        for greyed, group in members.groupby("greyed"):
            ax.scatter(group.geometry.x, group.geometry.y, marker=marker, s=MARKER_POINTS**2 * (1.6 if marker == "*"
                       else 1.0), c=GREYED_COLOR if greyed else color, edgecolors="#222222", linewidths=0.5,
                       zorder=5 if greyed else 7 if kind in CENTRE_KINDS else 6)  # fmt: skip
        if (~members["greyed"]).any():
            handles.append(Line2D([], [], linestyle="none", marker=marker, markersize=MARKER_POINTS * 0.8,
                                  markerfacecolor=color, markeredgecolor="#222222", label=label))  # fmt: skip
    if shown["greyed"].any():
        handles.append(Line2D([], [], linestyle="none", marker=DEFAULT_MARKER, markersize=MARKER_POINTS * 0.8,
                              markerfacecolor=GREYED_COLOR, markeredgecolor="#222222", label="Closed or redesignated"))  # fmt: skip
    minx, miny, maxx, maxy = area.boundary.total_bounds
    pad = 0.03 * max(maxx - minx, maxy - miny)
    extent = (minx - pad, miny - pad, maxx + pad, maxy + pad)
    ax.set_xlim(extent[0], extent[2])
    ax.set_ylim(extent[1], extent[3])
    _scale_bar(ax, extent)
    _north_arrow(ax)

    ax.apply_aspect()
    legend = figure.legend(handles=handles, loc="upper left", bbox_to_anchor=(ax.get_position().x1 + 0.02, 0.89), fontsize=7,
                           title=index_label, title_fontsize=8, frameon=True, alignment="left")  # fmt: skip
    legend.set_zorder(20)
    figure.text(0.01, 0.965, title or f"{area.name}: early-years venues and deprivation", fontsize=13,
                fontweight="bold", va="top")  # fmt: skip
    if subtitle:
        figure.text(0.01, 0.925, textwrap.fill(subtitle, 150), fontsize=7.5, va="top")
    credit = attribution_text(area, osm=method == "network")
    figure.text(0.01, 0.012, textwrap.fill(f"{credit}.", 190), fontsize=5.5, va="bottom", color="#333333")
    return figure


def _rgb(color: str) -> tuple[float, float, float]:
    value = color.lstrip("#")
    return tuple(int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))


def png_bytes(figure: Figure) -> bytes:
    """The figure as PNG bytes (for embedding in a report)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, dpi=figure.dpi, format="png", facecolor="white")
    return buffer.getvalue()


def write_png(figure: Figure, out: str | os.PathLike[str]) -> Path:
    """Save the figure as a PNG of exactly its pixel size, atomically."""
    with atomic_path(out) as tmp:
        figure.savefig(tmp, dpi=figure.dpi, format="png", facecolor="white")
    return Path(out)

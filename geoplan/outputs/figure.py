"""The static committee figure: the map's layers as a print-quality PNG (matplotlib).

Same layers, colours, venue symbols, ward names and gap numbers as :mod:`geoplan.outputs.maps`
(all from :mod:`geoplan.outputs.style`), drawn in British National Grid metres so the scale bar is
exact, with a legend, a north arrow and the source attributions under the map. The map and its
legend share the image's width between them; the image has exactly the requested pixel size.
"""

from __future__ import annotations

import io
import os
import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend_handler import HandlerTuple
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from geoplan.errors import InputError
from geoplan.fileio import atomic_path
from geoplan.outputs.maps import attribution_text, gap_label, label_points, top_gap_areas, venue_layer
from geoplan.outputs.style import (
    BAND_FILL_OPACITY,
    CLOSED_LABEL,
    GAP_COLOR,
    GREYED_COLOR,
    LABEL_COLOR,
    SYMBOL_EDGE,
    SYMBOL_HALO,
    band_color,
    decile_shading,
    kind_style,
)
from geoplan.programme import Configuration
from geoplan.studyarea import StudyArea
from geoplan.venues import CENTRE_KINDS

#: A4 landscape at 200 dots per inch, a committee paper's page.
DEFAULT_WIDTH_PX = 2339
DEFAULT_HEIGHT_PX = 1654
DEFAULT_DPI = 200
#: Smallest and largest image the command accepts (a thumbnail to a poster).
MIN_SIDE_PX = 400
MAX_SIDE_PX = 12_000
MIN_DPI, MAX_DPI = 50, 600
#: Figure fractions kept for the title (top) and the credits (bottom), and the outer margin.
TITLE_SHARE = 0.10
CREDIT_SHARE = 0.06
MARGIN_SHARE = 0.01
#: Scale bar lengths tried, in metres; the longest no wider than a fifth of the map is used.
SCALE_BAR_LENGTHS_M = (250, 500, 1000, 2000, 5000, 10_000, 20_000)
MARKER_POINTS = 9.0
#: Legend text sizes tried (points), smallest first; the largest that fits beside the map is used.
LEGEND_POINTS = (7.0, 7.5, 8.0, 8.5)
#: The list of numbered gap areas is drawn right of the legend when at least this share of the width is free.
GAP_PANEL_MIN_SHARE = 0.12
#: Average width of a character as a share of the text size (for wrapping the gap list).
CHARACTER_WIDTH_SHARE = 0.55
#: The white ring under each symbol (points), so light or blue symbols show on dark shading.
HALO_POINTS = 2.2
#: Text size of ward names and gap numbers on the map (points).
LABEL_POINTS = 5.5
#: Height of the title line (points), where the subtitle starts.
TITLE_LINE_POINTS = 20
POINTS_PER_INCH = 72
#: Padding around the area, as a share of its larger side.
PAD_SHARE = 0.02


def _scale_bar(ax: object, extent: tuple[float, float, float, float]) -> None:
    minx, miny, maxx, maxy = extent
    fitting = [length for length in SCALE_BAR_LENGTHS_M if length <= (maxx - minx) / 5]
    length = fitting[-1] if fitting else SCALE_BAR_LENGTHS_M[0]
    x0, y0 = minx + (maxx - minx) * 0.03, miny + (maxy - miny) * 0.03
    height = (maxy - miny) * 0.008
    for part in range(2):
        ax.add_patch(
            Rectangle(
                (x0 + part * length / 2, y0),
                length / 2,
                height,
                facecolor="black" if part == 0 else "white",
                edgecolor="black",
                linewidth=0.6,
                zorder=10,
            )
        )
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length} m"
    for x, text in ((x0, "0"), (x0 + length, label)):
        ax.text(x, y0 + height * 1.8, text, ha="center", va="bottom", fontsize=6, zorder=10)


def _north_arrow(ax: object) -> None:
    ax.annotate(
        "N",
        xy=(0.97, 0.97),
        xytext=(0.97, 0.89),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=9,
        fontweight="bold",
        zorder=10,
        arrowprops={"facecolor": "black", "width": 3, "headwidth": 9, "headlength": 8},
    )


def _halo(width: float) -> list[object]:
    return [patheffects.withStroke(linewidth=width, foreground=SYMBOL_HALO)]


def _legend_symbol(marker: str, color: str, label: str = "") -> Line2D:
    """A venue symbol as a legend entry (a little smaller than on the map)."""
    return Line2D(
        [],
        [],
        linestyle="none",
        marker=marker,
        markersize=MARKER_POINTS * 0.8,
        markerfacecolor=color,
        markeredgecolor=SYMBOL_EDGE,
        label=label,
    )


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

    Parameters are those of :func:`geoplan.outputs.maps.build_map`; ``method`` (``network`` or
    ``crow-fly``) decides whether OpenStreetMap is credited.

    Returns
    -------
    matplotlib.figure.Figure
        With one legend (``figure.legends[0]``) and the map as ``figure.axes[0]``.
    """
    for name, value in (("width", width_px), ("height", height_px)):
        if not MIN_SIDE_PX <= value <= MAX_SIDE_PX:
            msg = f"image {name} must be between {MIN_SIDE_PX} and {MAX_SIDE_PX} pixels, got {value}"
            raise InputError(msg, field=name)
    if not MIN_DPI <= dpi <= MAX_DPI:
        msg = f"image resolution must be between {MIN_DPI} and {MAX_DPI} dots per inch, got {dpi}"
        raise InputError(msg, field="dpi")
    shading = decile_shading(decile)
    shown = venue_layer(area, configuration=configuration, venues=venues)

    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(figure)
    ax = figure.add_axes((MARGIN_SHARE, CREDIT_SHARE, 0.5, 1 - TITLE_SHARE - CREDIT_SHARE))
    ax.set_axis_off()
    lsoa_style = area.catalogue.layers["lsoas"].style if "lsoas" in area.catalogue.layers else {}
    ward_style = area.catalogue.layers["wards"].style if "wards" in area.catalogue.layers else {}
    area.lsoas.plot(
        ax=ax,
        color=shading.colors(area.lsoas),
        edgecolor=lsoa_style.get("line_color", "#555555"),
        linewidth=lsoa_style.get("line_weight", 0.5) * 0.5,
        zorder=1,
    )
    handles: list[object] = [
        Patch(facecolor=color, edgecolor="#777777", label=label) for color, label in shading.legend
    ]
    handler_map: dict[object, object] = {}
    if catchments is not None and not catchments.empty:
        bands = catchments.dissolve(by="band").reset_index().sort_values("band", ascending=False)
        order = sorted(bands["band"])
        for row in bands.itertuples():
            color = band_color(order.index(row.band))
            shape = gpd.GeoSeries([row.geometry], crs=bands.crs)
            shape.plot(ax=ax, facecolor=color, alpha=BAND_FILL_OPACITY, edgecolor="none", zorder=2)
            shape.boundary.plot(ax=ax, color=color, linewidth=0.8, zorder=2)
        handles += [
            Patch(
                facecolor=(*_rgb(band_color(position)), BAND_FILL_OPACITY),
                edgecolor=band_color(position),
                label=f"Within {minutes:g} min walk of a {area.catalogue.programme.centre_label}",
            )
            for position, minutes in enumerate(order)
        ]
    top = None
    if gaps is not None and not gaps.clusters.empty:
        top = top_gap_areas(gaps, area)
        top.plot(ax=ax, facecolor="none", edgecolor=GAP_COLOR, hatch="////", linewidth=0.9, linestyle="--", zorder=3)
        handles.append(
            Patch(facecolor="none", edgecolor=GAP_COLOR, hatch="////", label=gap_label(gaps, count=len(top)))
        )
    area.wards.boundary.plot(
        ax=ax,
        color=ward_style.get("line_color", "#222222"),
        linewidth=ward_style.get("line_weight", 1.5) * 0.5,
        zorder=4,
    )
    area.boundary.boundary.plot(ax=ax, color="black", linewidth=1.4, zorder=4)
    for point, name in zip(label_points(area.wards), area.wards["ward_name"], strict=True):
        ax.text(
            point.x,
            point.y,
            textwrap.fill(str(name), 16),
            fontsize=LABEL_POINTS,
            ha="center",
            va="center",
            color=LABEL_COLOR,
            fontweight="bold",
            zorder=8,
            path_effects=_halo(1.6),
        )
    if top is not None:
        for point, rank in zip(top.geometry.centroid, top["rank"], strict=True):
            ax.text(
                point.x,
                point.y,
                str(int(rank)),
                fontsize=LABEL_POINTS,
                ha="center",
                va="center",
                color="white",
                fontweight="bold",
                zorder=9,
                bbox={"boxstyle": "circle,pad=0.25", "facecolor": GAP_COLOR, "edgecolor": "white", "linewidth": 0.6},
            )
    greyed_markers: list[str] = []
    for kind, members in shown.groupby("kind", sort=False):
        color, marker, label = kind_style(area, kind)
        size = MARKER_POINTS**2 * (1.6 if marker == "*" else 1.0)
        for greyed, group in members.groupby("greyed"):
            ax.scatter(
                group.geometry.x,
                group.geometry.y,
                marker=marker,
                s=size,
                c=GREYED_COLOR if greyed else color,
                edgecolors=SYMBOL_EDGE,
                linewidths=0.5,
                path_effects=_halo(HALO_POINTS),
                zorder=5 if greyed else 7 if kind in CENTRE_KINDS else 6,
            )
            if greyed and marker not in greyed_markers:
                greyed_markers.append(marker)
        if (~members["greyed"]).any():
            handles.append(_legend_symbol(marker, color, label))
    if greyed_markers:
        closed = tuple(_legend_symbol(marker, GREYED_COLOR) for marker in greyed_markers)
        handles.append(closed)
        handler_map[closed] = HandlerTuple(ndivide=None, pad=0.2)
    labels = [CLOSED_LABEL if isinstance(handle, tuple) else handle.get_label() for handle in handles]

    def make_legend(points: float) -> object:
        return figure.legend(
            handles=handles,
            labels=labels,
            handler_map=handler_map,
            loc="upper left",
            bbox_to_anchor=(0.6, 1 - TITLE_SHARE),
            fontsize=points,
            title=shading.label,
            title_fontsize=points + 1,
            frameon=True,
            alignment="left",
        )

    # The largest legend text that still fits beside the map at full height, so the image's width is used.
    chosen = LEGEND_POINTS[0]
    for points in LEGEND_POINTS[1:]:
        trial = make_legend(points)
        fits = _fit_map(figure, ax, trial, area, check_only=True)
        trial.remove()
        if not fits:
            break
        chosen = points
    legend = make_legend(chosen)
    legend.set_zorder(20)
    _fit_map(figure, ax, legend, area)
    if top is not None:
        _gap_panel(figure, legend, top, points=chosen)
    figure.text(
        MARGIN_SHARE,
        0.975,
        title or f"{area.name}: early-years venues and deprivation",
        fontsize=13,
        fontweight="bold",
        va="top",
    )
    if subtitle:
        below_title = TITLE_LINE_POINTS / (figure.get_figheight() * POINTS_PER_INCH)
        figure.text(MARGIN_SHARE, 0.975 - below_title, textwrap.fill(subtitle, 170), fontsize=7.5, va="top")
    credit = attribution_text(area, osm=method == "network")
    figure.text(MARGIN_SHARE, 0.008, textwrap.fill(f"{credit}.", 210), fontsize=5.5, va="bottom", color="#333333")
    return figure


def _gap_panel(figure: Figure, legend: object, top: gpd.GeoDataFrame, *, points: float) -> None:
    """List the numbered gap areas (ward, children, nearest centre) in the width left beside the legend."""
    box = legend.get_window_extent(figure.canvas.get_renderer())
    left = box.x1 / figure.bbox.width + MARGIN_SHARE
    free = 1 - left - MARGIN_SHARE
    if free < GAP_PANEL_MIN_SHARE:
        return
    characters = int(free * figure.bbox.width / (points * figure.dpi / POINTS_PER_INCH * CHARACTER_WIDTH_SHARE))
    lines = [
        textwrap.fill("Gap areas, numbered on the map (children aged 0-4; walk to the nearest centre)", characters)
    ]
    for row in top.itertuples():
        minutes = f"{row.nearest_minutes:.0f} min" if np.isfinite(row.nearest_minutes) else "out of reach"
        entry = f"{int(row.rank)}. {row.ward_name}: {row.children_beyond:,} children; {minutes} to {row.nearest_name}"
        lines.append(textwrap.fill(entry, characters, subsequent_indent="    "))
    text = figure.text(
        left, box.y1 / figure.bbox.height, "\n".join(lines), fontsize=points, va="top", ha="left", linespacing=1.35
    )
    text.set_gid("gap-panel")


def _fit_map(figure: Figure, ax: object, legend: object, area: StudyArea, *, check_only: bool = False) -> bool:
    """Give the map all the width the legend leaves, and show the area at the largest scale that fits.

    With ``check_only``, only say whether the map at full height and the legend fit side by side.
    """
    renderer = figure.canvas.get_renderer()
    box = legend.get_window_extent(renderer)
    legend_width = box.width / figure.bbox.width
    left, bottom = MARGIN_SHARE, CREDIT_SHARE
    width = 1 - 3 * MARGIN_SHARE - legend_width
    height = 1 - TITLE_SHARE - CREDIT_SHARE
    minx, miny, maxx, maxy = area.boundary.total_bounds
    pad = PAD_SHARE * max(maxx - minx, maxy - miny)
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    box_ratio = (width * figure.bbox.width) / (height * figure.bbox.height)
    data_ratio = (maxx - minx) / (maxy - miny)
    if check_only:
        fits_height = box.height / figure.bbox.height <= height
        return fits_height and box_ratio >= data_ratio
    if box_ratio > data_ratio:
        # Taller than wide for this box: the map takes the height, and the legend sits right beside it.
        width *= data_ratio / box_ratio
    else:
        # Wider: the map takes the width, and the view grows north and south to fill the box.
        extra = (maxx - minx) / box_ratio - (maxy - miny)
        miny, maxy = miny - extra / 2, maxy + extra / 2
    ax.set_position((left, bottom, width, height))
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal", adjustable="box")
    legend.set_bbox_to_anchor((left + width + MARGIN_SHARE, 1 - TITLE_SHARE), transform=figure.transFigure)
    _scale_bar(ax, (minx, miny, maxx, maxy))
    _north_arrow(ax)
    return True


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

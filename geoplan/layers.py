"""Layer catalogues: which data a study area uses, its columns and its map styles.

A catalogue is a YAML file in ``layers/``. Loading it validates every field and resolves the
venue and session files relative to the catalogue, so a planner can copy it for another
local authority, a few wards (from one or several authorities) or a list of LSOAs, and change
only the codes and the facts files.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from geoplan.errors import InputError
from geoplan.fileio import invalid_field, read_yaml
from geoplan.sources import SOURCES
from geoplan.validation import exactly_one, supported_version
from geoplan.venues import CENTRE_KINDS, VENUE_KINDS

CATALOGUE_VERSION = 1
LA_CODE_PATTERN = r"^[EW]0[6-9]\d{6}$"
#: ONS ward codes (England E05, Wales W05) and LSOA 2021 codes (E01, W01).
WARD_CODE_PATTERN = r"^[EW]05\d{6}$"
LSOA_CODE_PATTERN = r"^[EW]01\d{6}$"
#: The ways a catalogue may name its area (exactly one is given).
AREA_DEFINITIONS = ("la_code", "wards", "lsoas")
DEFAULT_MARGIN_M = 2000.0
#: Longest label for the programme's centres ("children's centre", "library hosting sessions").
MAX_LABEL_CHARS = 60
#: The largest margin (metres) around a study area; beyond it postcodes and venues are not "nearby".
MAX_MARGIN_M = 20_000.0
#: British National Grid extent (metres), the range of any coordinate in EPSG:27700.
BNG_MAX_EASTING, BNG_MAX_NORTHING = 700_000.0, 1_300_000.0


def _refuse_unknown(values: Iterable[str], known: Container[str], *, what: str, expected: str) -> None:
    """Raise ``ValueError`` naming the first of ``values`` not in ``known``, and what is ``expected`` instead."""
    unknown = [value for value in values if value not in known]
    if unknown:
        msg = f"unknown {what} {unknown[0]!r}; {expected}"
        raise ValueError(msg)


class AreaSpec(BaseModel):
    """What the study area is: one local authority, a list of wards, or a list of LSOAs.

    Exactly one of ``la_code``, ``wards`` and ``lsoas`` is given. Which LSOAs belong to the area
    always comes from the ONS LSOA-to-ward lookup (the ``ward_lookup`` layer), so wards may come
    from several local authorities and no list of LSOAs is kept in code.
    """

    model_config = ConfigDict(extra="forbid")

    la_code: str | None = Field(default=None, pattern=LA_CODE_PATTERN)
    wards: list[Annotated[str, Field(pattern=WARD_CODE_PATTERN)]] | None = Field(default=None, min_length=1)
    lsoas: list[Annotated[str, Field(pattern=LSOA_CODE_PATTERN)]] | None = Field(default=None, min_length=1)
    name: str
    crs: str = "EPSG:27700"
    margin_m: float = Field(default=DEFAULT_MARGIN_M, ge=0, le=MAX_MARGIN_M)

    @model_validator(mode="after")
    def _one_definition(self) -> AreaSpec:
        defined_by = exactly_one(self, AREA_DEFINITIONS, rule="give")
        codes = getattr(self, defined_by)
        if isinstance(codes, list) and len(set(codes)) != len(codes):
            duplicate = next(code for code in codes if codes.count(code) > 1)
            msg = f"{defined_by} lists {duplicate} twice"
            raise ValueError(msg)
        return self

    @property
    def defined_by(self) -> str:
        """``"la_code"``, ``"wards"`` or ``"lsoas"``: how the catalogue names the area."""
        return exactly_one(self, AREA_DEFINITIONS, rule="give")


class LayerSpec(BaseModel):
    """One layer: the manifest source it comes from, its key column and its style."""

    model_config = ConfigDict(extra="forbid")

    source: str
    key: str
    title: str
    style: dict[str, Any] = Field(default_factory=dict)

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        _refuse_unknown([value], SOURCES, what="source", expected=f"known: {', '.join(sorted(SOURCES))}")
        return value


class VenueKindStyle(BaseModel):
    """How venues of one kind are drawn."""

    model_config = ConfigDict(extra="forbid")

    color: str
    symbol: str
    label: str


class FactsFileSpec(BaseModel):
    """A project-owned facts file (venues or sessions), relative to the catalogue."""

    model_config = ConfigDict(extra="forbid")

    file: Path
    title: str
    styles: dict[str, VenueKindStyle] = Field(default_factory=dict)


class NetworkSpec(BaseModel):
    """Walking-network settings of the study area.

    ``complete_extent`` is the box (EPSG:27700: min easting, min northing, max easting, max
    northing) inside which the OSM extract holds every street. Beyond it only the ends of
    streets crossing its edge exist, so points outside it are flagged and walks that would
    leave it are reported as possibly cut short by the edge of the network.
    """

    model_config = ConfigDict(extra="forbid")

    osm_file: Path | None = None
    profile: str = "buggy"
    crowfly_circuity: float = Field(gt=1.0, le=3.0)
    crowfly_calibration: str
    complete_extent: tuple[float, float, float, float] | None = None

    @field_validator("complete_extent")
    @classmethod
    def _ordered_extent(
        cls, value: tuple[float, float, float, float] | None
    ) -> tuple[float, float, float, float] | None:
        if value is None:
            return value
        min_x, min_y, max_x, max_y = value
        if not (0 <= min_x < max_x <= BNG_MAX_EASTING and 0 <= min_y < max_y <= BNG_MAX_NORTHING):
            msg = (
                "expected [min easting, min northing, max easting, max northing] in EPSG:27700 metres, "
                f"min < max, eastings in 0-{BNG_MAX_EASTING:.0f} and northings in 0-{BNG_MAX_NORTHING:.0f}"
            )
            raise ValueError(msg)
        return value


class ProgrammeSpec(BaseModel):
    """Which venues are the programme's centres: coverage headlines, reports and scenarios measure reach to them.

    Children's centres and family hubs by default; an area with none located (a programme run
    from libraries) names the kinds it uses and the words people read for them.
    """

    model_config = ConfigDict(extra="forbid")

    centre_kinds: tuple[str, ...] = Field(default=CENTRE_KINDS, min_length=1)
    centre_label: str = Field(default="children's centre", min_length=1, max_length=MAX_LABEL_CHARS)

    @field_validator("centre_kinds")
    @classmethod
    def _known_kinds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        _refuse_unknown(value, VENUE_KINDS, what="venue kind", expected=f"expected kinds from {', '.join(VENUE_KINDS)}")
        return value


class AreaCatalogue(BaseModel):
    """A validated layer catalogue (``layers/*.yaml``)."""

    model_config = ConfigDict(extra="forbid")

    version: int
    area: AreaSpec
    layers: dict[str, LayerSpec]
    venues: FactsFileSpec
    sessions: FactsFileSpec
    network: NetworkSpec
    programme: ProgrammeSpec = Field(default_factory=ProgrammeSpec)
    path: Path | None = None

    @field_validator("version")
    @classmethod
    def _supported_version(cls, value: int) -> int:
        return supported_version(value, supported=CATALOGUE_VERSION, what="catalogue")

    def resolve(self, relative: Path) -> Path:
        """Return ``relative`` resolved against the catalogue's folder."""
        base = self.path.parent if self.path is not None else Path.cwd()
        return relative if relative.is_absolute() else base / relative


REQUIRED_LAYERS = ("lsoas", "wards", "lsoa_centroids", "ward_lookup", "deprivation", "population", "postcodes")


def load_catalogue(path: str | Path) -> AreaCatalogue:
    """Read and validate a layer catalogue.

    Raises
    ------
    InputError
        For a missing file, bad YAML, or a field that does not validate (the message names the field).
    """
    path = Path(path)
    raw = read_yaml(path, what="layer catalogue")
    if not isinstance(raw, dict):
        msg = "empty or not a mapping of catalogue fields"
        raise InputError(msg, path=path)
    try:
        catalogue = AreaCatalogue.model_validate({**raw, "path": path.resolve()})
    except ValidationError as exc:
        raise invalid_field(exc, path=path) from None
    missing = [name for name in REQUIRED_LAYERS if name not in catalogue.layers]
    if missing:
        msg = f"catalogue lacks required layer(s): {', '.join(missing)}"
        raise InputError(msg, path=path, field="layers")
    return catalogue

"""Layer catalogues: which data a study area uses, its columns and its map styles.

A catalogue is a YAML file in ``layers/``. Loading it validates every field and resolves the
venue and session files relative to the catalogue, so a planner can copy it for another
local authority and change only the codes and the facts files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from geoplan.errors import InputError
from geoplan.fileio import read_yaml
from geoplan.sources import SOURCES

CATALOGUE_VERSION = 1
LA_CODE_PATTERN = r"^[EW]0[6-9]\d{6}$"
DEFAULT_MARGIN_M = 2000.0


class AreaSpec(BaseModel):
    """The local authority a catalogue describes."""

    model_config = ConfigDict(extra="forbid")

    la_code: str = Field(pattern=LA_CODE_PATTERN)
    name: str
    crs: str = "EPSG:27700"
    margin_m: float = Field(default=DEFAULT_MARGIN_M, ge=0)


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
        if value not in SOURCES:
            msg = f"unknown source {value!r}; known: {', '.join(sorted(SOURCES))}"
            raise ValueError(msg)
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
    """Walking-network settings of the study area."""

    model_config = ConfigDict(extra="forbid")

    osm_file: Path | None = None
    profile: str = "buggy"
    crowfly_circuity: float = Field(gt=1.0, le=3.0)
    crowfly_calibration: str


class AreaCatalogue(BaseModel):
    """A validated layer catalogue (``layers/*.yaml``)."""

    model_config = ConfigDict(extra="forbid")

    version: int
    area: AreaSpec
    layers: dict[str, LayerSpec]
    venues: FactsFileSpec
    sessions: FactsFileSpec
    network: NetworkSpec
    path: Path | None = None

    @field_validator("version")
    @classmethod
    def _supported_version(cls, value: int) -> int:
        if value != CATALOGUE_VERSION:
            msg = f"unsupported catalogue version {value}; this geoplan reads version {CATALOGUE_VERSION}"
            raise ValueError(msg)
        return value

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
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise InputError(first["msg"], path=path, field=field) from None
    missing = [name for name in REQUIRED_LAYERS if name not in catalogue.layers]
    if missing:
        msg = f"catalogue lacks required layer(s): {', '.join(missing)}"
        raise InputError(msg, path=path, field="layers")
    return catalogue

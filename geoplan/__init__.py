"""geoplan: plan early-years services with walking catchments, deprivation and child population."""

from __future__ import annotations

__version__ = "0.1.0"

"""The package's public API: every exported name resolves to the object its module defines."""

from __future__ import annotations

import importlib

import pytest

import geoplan


@pytest.mark.parametrize("name", [name for name in geoplan.__all__ if name != "__version__"])
def test_exported_name_is_the_modules_own(name: str) -> None:
    module = importlib.import_module(geoplan._EXPORTS[name])
    expected = module if name == "settings" else getattr(module, name)
    assert getattr(geoplan, name) is expected


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        geoplan.nonsense  # noqa: B018

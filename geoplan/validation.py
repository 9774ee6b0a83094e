"""Rules shared by the validated models of the files people write (layer catalogues, scenario files)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel


def exactly_one(model: BaseModel, fields: Sequence[str], *, rule: str) -> str:
    """The one of ``fields`` given (not ``None``) on ``model``.

    ``rule`` opens the message, as in ``"give exactly one of la_code, wards, lsoas (got none)"``.

    Raises
    ------
    ValueError
        None or several of ``fields`` are given (in a pydantic validator: the model does not validate).
    """
    given = [name for name in fields if getattr(model, name) is not None]
    if len(given) != 1:
        msg = f"{rule} exactly one of {', '.join(fields)} (got {', '.join(given) or 'none'})"
        raise ValueError(msg)
    return given[0]


def supported_version(value: int, *, supported: int, what: str) -> int:
    """``value``, the ``version`` of a ``what`` file, when this geoplan reads it.

    Raises
    ------
    ValueError
        ``value`` is not ``supported``.
    """
    if value != supported:
        msg = f"unsupported {what} version {value}; this geoplan reads version {supported}"
        raise ValueError(msg)
    return value

"""Ward names as people write them, matched to the study area's wards.

Frequency rules (``outreach.yaml``) and the council's ward tables (FOI replies) name wards by
hand, and their spelling drifts from the ONS one: the FOI tables write ``St. Mary's & St. James``
where ONS (and the study area) has ``St Mary's & St James``, and a GLA file writes ``Coldharbour
and New Eltham`` where ONS writes ``&``. A name matches a ward when the two agree in everything
but case, ``&`` for ``and``, punctuation (full stops, apostrophes straight or curly, commas,
hyphens) and spaces. ``Saint`` is not read as ``St``: no source spells a ward that way, and a
name that matches nothing is a one-line error listing the area's wards, never a silent guess.
"""

from __future__ import annotations

import re

import pandas as pd

from geoplan.errors import InputError

#: Everything but letters and digits (any alphabet): punctuation, spaces, underscores.
_NOT_LETTER_OR_DIGIT = re.compile(r"[\W_]+")


def ward_key(name: object) -> str:
    """What tells ward names apart: ``St. Mary's & St. James`` → ``stmarysandstjames``."""
    return _NOT_LETTER_OR_DIGIT.sub("", str(name).casefold().replace("&", " and "))


class WardNames:
    """The wards of a study area, found by ONS code or by name as people write it.

    Parameters
    ----------
    wards
        The area's wards, with ``ward_code`` and ``ward_name`` (``StudyArea.wards``).
    """

    def __init__(self, wards: pd.DataFrame) -> None:
        self._codes = set(wards["ward_code"])
        self._by_key: dict[str, list[str]] = {}
        for code, name in zip(wards["ward_code"], wards["ward_name"], strict=True):
            self._by_key.setdefault(ward_key(name), []).append(code)

    def code(
        self, text: object, *, path: object | None = None, field: str | None = None, row: int | None = None
    ) -> str | None:
        """The ONS code of the ward ``text`` names (by its code or its name); ``None`` when none does.

        Raises
        ------
        InputError
            The name fits two wards of the area (e.g. two authorities' ``Woodside``); the message,
            naming ``path``, ``field`` and ``row``, asks for the ONS code.
        """
        text = str(text).strip()
        if text in self._codes:
            return text
        codes = self._by_key.get(ward_key(text), [])
        if len(codes) > 1:
            msg = f"ward {text!r} fits {len(codes)} wards of the area ({', '.join(codes)}); give its ONS code"
            raise InputError(msg, path=path, field=field, row=row)
        return codes[0] if codes else None

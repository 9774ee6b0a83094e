"""Frequency rules: rule areas (lists of wards) that must get a visit every so many months.

Rules live in ``outreach.yaml`` beside the area's venue file (or any file given)::

    version: 1
    areas:
      - name: North
        every_months: 1
        wards: [Thamesmead East, Belvedere, E05011225]

Wards are named by ONS ward code or by ward name, matched as :mod:`geoplan.wardnames` matches
them (case, ``&``/``and``, punctuation and spaces do not matter).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np

from geoplan.errors import InputError
from geoplan.fileio import read_yaml
from geoplan.outreach.solve import MAX_PLAN_MONTHS
from geoplan.studyarea import StudyArea
from geoplan.wardnames import WardNames

RULES_FILE_NAME = "outreach.yaml"
RULES_VERSION = 1


@dataclass(frozen=True)
class OutreachRule:
    """A rule area: its wards must get a visit in every ``every_months`` consecutive months."""

    name: str
    ward_codes: tuple[str, ...]
    every_months: int


def default_rules_path(area: StudyArea) -> Path | None:
    """``outreach.yaml`` beside the area's venue file, if there is one."""
    path = area.catalogue.resolve(area.catalogue.venues.file).parent / RULES_FILE_NAME
    return path if path.is_file() else None


def load_outreach_rules(path: str | os.PathLike[str], area: StudyArea) -> list[OutreachRule]:
    """Read frequency rules and check them against ``area``.

    ``every_months`` is a whole number from 1 to :data:`~geoplan.outreach.solve.MAX_PLAN_MONTHS`.

    Raises
    ------
    InputError
        The file is missing or not YAML, a field is missing or wrong, a ward is unknown in the
        study area, or a ward sits in two areas.
    """
    path = Path(path)
    raw = read_yaml(path, what="rules file")
    if not isinstance(raw, dict) or not isinstance(raw.get("areas"), list) or not raw["areas"]:
        msg = "expected a mapping with a non-empty 'areas' list"
        raise InputError(msg, path=path, field="areas")
    if raw.get("version", RULES_VERSION) != RULES_VERSION:
        msg = f"unsupported version {raw.get('version')!r}; expected {RULES_VERSION}"
        raise InputError(msg, path=path, field="version")
    ward_names = WardNames(area.wards)
    owner: dict[str, str] = {}
    rules = []
    for index, entry in enumerate(raw["areas"]):
        where = f"areas[{index}]"
        if not isinstance(entry, dict):
            msg = "expected a mapping with name, every_months and wards"
            raise InputError(msg, path=path, field=where)
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            msg = "missing area name"
            raise InputError(msg, path=path, field=f"{where}.name")
        every = entry.get("every_months")
        if isinstance(every, bool) or not isinstance(every, int) or not 1 <= every <= MAX_PLAN_MONTHS:
            msg = f"every_months must be a whole number of months from 1 to {MAX_PLAN_MONTHS}, got {every!r}"
            raise InputError(msg, path=path, field=f"{where}.every_months")
        wards = entry.get("wards")
        if not isinstance(wards, list) or not wards:
            msg = "wards must be a non-empty list of ward names or codes"
            raise InputError(msg, path=path, field=f"{where}.wards")
        ward_codes = []
        for ward in wards:
            code = ward_names.code(ward, path=path, field=f"{where}.wards")
            if code is None:
                msg = f"unknown ward {ward!r} in {area.name}; known wards: {', '.join(area.wards['ward_name'])}"
                raise InputError(msg, path=path, field=f"{where}.wards")
            if code in owner:
                msg = f"ward {ward!r} is already in area {owner[code]!r}"
                raise InputError(msg, path=path, field=f"{where}.wards")
            owner[code] = name
            ward_codes.append(code)
        rules.append(OutreachRule(name=name, ward_codes=tuple(ward_codes), every_months=every))
    return rules


def resolve_rules(
    rules: Sequence[OutreachRule] | str | os.PathLike[str] | None, area: StudyArea, warnings: list[str]
) -> tuple[list[OutreachRule], Path | None]:
    """The rules to plan with and the file they came from.

    ``None`` reads ``outreach.yaml`` beside the venue file, or plans with no rules (and a warning)
    when there is none; a path reads that file; a list is used as given.
    """
    if rules is None:
        path = default_rules_path(area)
        if path is None:
            warnings.append(f"there is no {RULES_FILE_NAME} beside the venue file: the plan follows no frequency rules")
            return [], None
        return load_outreach_rules(path, area), path
    if isinstance(rules, str | os.PathLike):
        return load_outreach_rules(rules, area), Path(rules)
    return list(rules), None


def rule_areas(
    area: StudyArea, groups: gpd.GeoDataFrame, rules: Sequence[OutreachRule], warnings: list[str]
) -> tuple[np.ndarray, list[tuple[np.ndarray, int]], list[dict[str, object]]]:
    """Each group's rule area name, each rule's group indices, and a description of each rule.

    Rule areas with no located group, and wards in no rule area, are counted in ``warnings``.
    """
    ward_names = area.wards.set_index("ward_code")["ward_name"]
    rule_of = np.full(len(groups), "", dtype=object)
    pairs, rows, empty = [], [], []
    for rule in rules:
        members = np.flatnonzero(groups["ward_code"].isin(rule.ward_codes).to_numpy())
        rule_of[members] = rule.name
        pairs.append((members, rule.every_months))
        wards = [ward_names[code] for code in rule.ward_codes]
        rows.append({"name": rule.name, "every_months": rule.every_months, "groups": int(members.size), "wards": wards})
        if members.size == 0:
            empty.append(rule.name)
    if empty:
        warnings.append(f"{len(empty)} rule areas have no group to visit and are not enforced: {', '.join(empty)}")
    ruled = {code for rule in rules for code in rule.ward_codes}
    uncovered = sorted(ward_names[~ward_names.index.isin(ruled)])
    if rules and uncovered:
        warnings.append(f"{len(uncovered)} wards are in no rule area: {', '.join(uncovered)}")
    return rule_of, pairs, rows

"""Dates of the plan and its iCalendar file.

Each month's visit to a group falls on the group's first meeting day of that month where the
session file knows it (a week later when that day is a bank holiday); the other visits of the
month are spread evenly over its working days (weekdays that are not bank holidays in England),
so a practitioner's month is a timetable, not a pile on the first day. The plan says which.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta

import holidays
import pandas as pd

from geoplan.errors import InputError

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FIRST_WEEKEND_DAY = 5
#: Bank holidays of England (the study areas are English local authorities).
HOLIDAY_COUNTRY, HOLIDAY_SUBDIVISION = "GB", "ENG"
MEETING_DAY = "the group's meeting day"
SPREAD_OVER_WORKING_DAYS = "spread over the month's working days (meeting day unknown)"
DAYS_IN_WEEK = 7
#: The earliest and latest first month a plan may have.
FIRST_START_YEAR, LAST_START_YEAR = 2000, 2100


def parse_start(text: str | None, *, today: date | None = None) -> date:
    """First day of the plan's first month: ``YYYY-MM`` (years 2000 to 2100), or next month when ``None``."""
    if text is None:
        today = today or datetime.now(UTC).date()
        return add_months(today.replace(day=1), 1)
    try:
        parsed = datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        msg = f"start month must look like YYYY-MM, got {text!r}"
        raise InputError(msg, field="start") from None
    return check_start(parsed)


def check_start(start: date) -> date:
    """The first day of ``start``'s month, if its year is from 2000 to 2100."""
    if not FIRST_START_YEAR <= start.year <= LAST_START_YEAR:
        msg = f"start month must be in the years {FIRST_START_YEAR} to {LAST_START_YEAR}, got {start:%Y-%m}"
        raise InputError(msg, field="start")
    return start.replace(day=1)


def add_months(first: date, count: int) -> date:
    """The first day of the month ``count`` months after ``first``'s."""
    index = first.month - 1 + count
    return date(first.year + index // 12, index % 12 + 1, 1)


@functools.cache
def _bank_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(HOLIDAY_COUNTRY, subdiv=HOLIDAY_SUBDIVISION, years=year))


def is_working_day(day: date) -> bool:
    """A weekday that is not a bank holiday in England."""
    return day.weekday() < FIRST_WEEKEND_DAY and day not in _bank_holidays(day.year)


def working_days(month_start: date) -> list[date]:
    """The working days of ``month_start``'s month."""
    end = add_months(month_start, 1)
    days = (month_start + timedelta(days=offset) for offset in range((end - month_start).days))
    return [day for day in days if is_working_day(day)]


def visit_date(month_start: date, day: str, *, slot: int = 0, slots: int = 1) -> tuple[date, str]:
    """The date of a visit in a month, and how it was chosen.

    A group with a known meeting ``day`` is visited on its first such day of the month that is
    not a bank holiday. Otherwise the visit is number ``slot`` of ``slots`` visits spread evenly
    over the month's working days (slot 0 on the first working day).
    """
    if day in WEEKDAYS:
        current = month_start + timedelta(days=(WEEKDAYS.index(day) - month_start.weekday()) % DAYS_IN_WEEK)
        while current in _bank_holidays(current.year):
            current += timedelta(days=DAYS_IN_WEEK)
        return current, MEETING_DAY
    days = working_days(month_start)
    return days[(slot * len(days)) // max(slots, 1) % len(days)], SPREAD_OVER_WORKING_DAYS


def visit_calendar(visits: pd.DataFrame, *, title: str, group_minutes: float, centre_minutes: float) -> bytes:
    """The visits as an iCalendar file: one all-day event per visit, with the group's address.

    Parameters
    ----------
    visits
        :attr:`geoplan.outreach.OutreachPlan.visits`.
    title
        The calendar's name.
    group_minutes, centre_minutes
        The walks the descriptions speak of.
    """
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//geoplan//outreach planner//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", title)
    stamp = datetime.now(UTC)
    for row in visits.itertuples():
        event = Event()
        # stable across re-plans, so a calendar app updates a visit rather than adding it twice
        event.add("uid", f"outreach-{row.month}-{row.venue_id}@geoplan")
        event.add("dtstamp", stamp)
        event.add("dtstart", row.date)
        event.add("dtend", row.date + timedelta(days=1))
        event.add("summary", f"Outreach visit: {row.name}")
        event.add("location", ", ".join(part for part in (row.address, row.postcode) if isinstance(part, str) and part))
        event.add(
            "description",
            f"{row.children_reached:,.0f} children aged 0-4 live within {group_minutes:g} minutes' walk "
            f"({row.children_beyond_centres:,.0f} of them beyond {centre_minutes:g} minutes of a children's centre). "
            f"Ward: {row.ward_name}. Rule area: {row.rule_area or 'none'}. Date: {row.date_basis}.",
        )
        cal.add_component(event)
    return cal.to_ical()

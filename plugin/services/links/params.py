"""Reading request and CLI parameters: issue options (expiry by date is valid through the whole day, UTC;
in days; validity start; uses), dates, integers, booleans and pages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import overload

from plugin.errors import InvalidInput

MAX_EXPIRATION_DAYS = 365
MAX_USES = 1000
MAX_SKIP = 10**9
MIN_YEAR, MAX_YEAR = 2000, 9000  # far from datetime's limits, so arithmetic on the value cannot overflow


@dataclass(frozen=True, slots=True)
class IssueOptions:
    """How new links are made: when they open, when they end, how many responses they take; and what happens
    to links the contacts already hold: ``rotate`` replaces them all, ``renew`` gives the unanswered ones the new
    expiry (same URLs), ``reissue`` gives contacts whose link was revoked a new one; ``skip_suppressed`` (on by
    default) leaves a segment's suppressed contacts out."""

    valid_from: datetime | None = None
    expires_at: datetime | None = None
    max_uses: int = 1
    rotate: bool = False
    renew: bool = False
    reissue: bool = False
    expiry_given: bool = False
    max_uses_given: bool = False
    skip_suppressed: bool = True  # a segment's suppressed contacts get no link and are left out of the download


def end_of_day(day: date) -> datetime:
    """The moment a link chosen to expire on ``day`` ends: 00:00:00 UTC the day after."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


def parse_expires_on(text: str, now: datetime) -> datetime:
    """An expiry date (YYYY-MM-DD), tomorrow (UTC) at the earliest, as the moment the link ends."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput("expiresOn", f"{text!r} is not a date of the form YYYY-MM-DD") from None
    tomorrow = now.astimezone(UTC).date() + timedelta(days=1)
    if day < tomorrow:
        raise InvalidInput("expiresOn", f"must be {tomorrow.isoformat()} (tomorrow, UTC) or later")
    if day > tomorrow + timedelta(days=10 * 366):
        raise InvalidInput("expiresOn", "must be within ten years")
    return end_of_day(day)


def parse_datetime(field: str, text: str) -> datetime:
    """An ISO-8601 date or date-time; a date means its start, a time without zone means UTC."""
    raw = text.strip()
    try:
        if len(raw) == 10:
            value = datetime.combine(date.fromisoformat(raw), time(0), tzinfo=UTC)
        else:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidInput(field, f"{text!r} is not an ISO-8601 date or date-time") from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise InvalidInput(field, f"must be between the years {MIN_YEAR} and {MAX_YEAR}")
    return value


@overload
def parse_int(field: str, text: str | None, low: int, high: int, default: int) -> int: ...


@overload
def parse_int(field: str, text: str | None, low: int, high: int, default: None = None) -> int | None: ...


def parse_int(field: str, text: str | None, low: int, high: int, default: int | None = None) -> int | None:
    """An integer parameter within [low, high], or the default when absent."""
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput(field, f"{text!r} is not an integer") from None
    if not low <= value <= high:
        raise InvalidInput(field, f"must be between {low} and {high}")
    return value


def parse_page(args: Mapping[str, str], max_limit: int, default_limit: int) -> tuple[int, int]:
    """``limit`` (1..max_limit) and ``skip`` (0 or more) of a paged listing."""
    return (parse_int("limit", args.get("limit"), 1, max_limit, default_limit),
            parse_int("skip", args.get("skip"), 0, MAX_SKIP, 0))


def parse_choice(field: str, text: str | None, choices: Iterable[str]) -> str | None:
    """One of ``choices``, or None when absent; InvalidInput listing them otherwise."""
    if not text:
        return None
    known = sorted(choices)
    if text not in known:
        raise InvalidInput(field, f"must be one of {', '.join(known)}")
    return text


def parse_bool(field: str, text: str | None) -> bool:
    """A yes/no parameter: true/false, 1/0, yes/no; absent is false."""
    if text is None or text == "":
        return False
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise InvalidInput(field, f"{text!r} is not true or false")


def parse_issue_options(args: Mapping[str, str], now: datetime) -> IssueOptions:
    """IssueOptions from request or CLI parameters (host names: expirationDays; ours: expiresOn, ...)."""
    days = parse_int("expirationDays", args.get("expirationDays"), 1, MAX_EXPIRATION_DAYS)
    expires_on = args.get("expiresOn")
    if days is not None and expires_on:
        raise InvalidInput("expiresOn", "give expiresOn or expirationDays, not both")
    expires_at = None
    if days is not None:
        expires_at = now + timedelta(days=days)
    elif expires_on:
        expires_at = parse_expires_on(expires_on, now)
    valid_from = parse_datetime("validFrom", args["validFrom"]) if args.get("validFrom") else None
    if valid_from is not None and expires_at is not None and valid_from >= expires_at:
        raise InvalidInput("validFrom", "must be before the expiry")
    max_uses = parse_int("maxUses", args.get("maxUses"), 1, MAX_USES, default=1)
    skip = args.get("skipSuppressed")
    return IssueOptions(valid_from, expires_at, max_uses, parse_bool("rotate", args.get("rotate")),
                        parse_bool("renew", args.get("renew")), parse_bool("reissue", args.get("reissue")),
                        expiry_given=days is not None or bool(expires_on),
                        max_uses_given=bool(args.get("maxUses")),
                        skip_suppressed=True if skip is None or skip == "" else parse_bool("skipSuppressed", skip))


def parse_flag(body: Mapping[str, object], field: str) -> bool | None:
    """A JSON body's true/false member, None when absent or null; InvalidInput for anything else."""
    value = body.get(field)
    if value is None or isinstance(value, bool):
        return value
    raise InvalidInput(field, "true or false")

"""Triggers (issue 12): what starts a flow on its own. Kinds, their configuration, schedule expressions as
EventBridge Scheduler accepts them, next fire times, catch-up after downtime, webhook signatures and the
input mapping from a delivery to the run input. No technology: callers bring the clock and the bytes.

Fire times come from `croniter` (cron) and plain arithmetic (rate, at), in the trigger's IANA time zone
through `zoneinfo`, for the local scheduler loop and the API alike (AWS fires through EventBridge
Scheduler with the same expression and zone).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import event_patterns, expressions
from .errors import InvalidInput

TriggerKind = Literal["schedule", "webhook", "sqs", "eventbridge"]
TRIGGER_KINDS: tuple[TriggerKind, ...] = ("schedule", "webhook", "sqs", "eventbridge")
# Accepted and stored, never fired yet: the API says so (every kind fires since the ingress slice).
NOT_FIRING_YET: frozenset[str] = frozenset()
DeliveryStatus = Literal["received", "duplicate", "started", "rejected"]
Preset = Literal["nexod", "github", "stripe", "slack"]
SIGNATURE_WINDOW = timedelta(minutes=5)
MAX_HOOK_BODY = 1024 * 1024
CATCH_UP_LIMIT = 100  # `catch_up: all` fires at most this many missed due times
ON_TIME_GRACE = timedelta(seconds=10)  # a due time this recent is on time, not missed (catch_up: none)
DELIVERY_RETENTION = timedelta(days=30)

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNIT = {"minute": 60, "hour": 3600, "day": 86400}
_DOW_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_YEAR_PART = re.compile(r"^(\d{4})(?:-(\d{4}))?(?:/(\d+))?$")


class ScheduleError(ValueError):
    """A schedule expression EventBridge Scheduler would refuse, with the reason."""


# -- schedule expressions ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Rate:
    every: timedelta


@dataclass(frozen=True, slots=True)
class At:
    when: datetime  # naive: a wall-clock time in the trigger's zone


@dataclass(frozen=True, slots=True)
class Cron:
    expression: str  # croniter's five fields
    years: frozenset[int] | None  # None: every year


Expression = Rate | At | Cron


def _dow(field: str) -> str:
    """EventBridge day-of-week (1-7 = SUN-SAT, or SUN-SAT, with L and #) in croniter's 0-6 form."""

    def one(token: str) -> str:
        if token.isdigit():
            n = int(token)
            if not 1 <= n <= 7:
                raise ScheduleError(f"day-of-week {n} is outside 1-7 (1 = SUN)")
            return str(n - 1)
        if token.upper() in _DOW_NAMES:
            return token.lower()
        raise ScheduleError(f"day-of-week '{token}' is not 1-7 or SUN-SAT")

    out = []
    for part in field.split(","):
        if part == "*":
            out.append("*")
        elif "#" in part:
            day, nth = part.split("#", 1)
            if not nth.isdigit() or not 1 <= int(nth) <= 5:
                raise ScheduleError(f"day-of-week '{part}': the # must be followed by 1-5")
            out.append(f"{one(day)}#{nth}")
        elif part.endswith("L") and len(part) > 1:
            out.append(f"L{one(part[:-1])}")
        elif "-" in part:
            low, high = part.split("-", 1)
            out.append(f"{one(low)}-{one(high)}")
        else:
            out.append(one(part))
    return ",".join(out)


def _years(field: str) -> frozenset[int] | None:
    if field == "*":
        return None
    years: set[int] = set()
    for part in field.split(","):
        match = _YEAR_PART.match(part)
        if match is None:
            raise ScheduleError(f"year '{part}' is not a year, a range (1970-2199) or a list of them")
        low = int(match[1])
        high = int(match[2] or (2199 if match[3] else low))
        step = int(match[3] or 1)
        if not 1970 <= low <= high <= 2199 or step < 1:
            raise ScheduleError(f"year '{part}' must lie within 1970-2199")
        years.update(range(low, high + 1, step))
    return frozenset(years)


def parse_expression(text: str) -> Expression:
    """`cron(m h dom mon dow year)`, `rate(N unit)` or `at(yyyy-mm-ddThh:mm:ss)`; ScheduleError says why not."""
    text = text.strip()
    if match := _RATE.match(text):
        n, unit = int(match[1]), match[2]
        if n < 1:
            raise ScheduleError("rate(): the value must be a positive whole number")
        if (n == 1) != (not unit.endswith("s")):
            raise ScheduleError(f"rate(): use the singular unit for 1 and the plural otherwise ('{n} {unit}')")
        return Rate(timedelta(seconds=n * _UNIT[unit.rstrip("s")]))
    if match := _AT.match(text):
        try:
            return At(datetime.fromisoformat(match[1]))
        except ValueError as exc:
            raise ScheduleError(f"at(): {exc}") from None
    if match := _CRON.match(text):
        fields = match[1].split()
        if len(fields) != 6:
            raise ScheduleError(
                f"cron() takes 6 fields (minutes hours day-of-month month day-of-week year), got {len(fields)}"
            )
        minute, hour, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise ScheduleError("cron(): exactly one of day-of-month and day-of-week must be '?'")
        five = f"{minute} {hour} {'*' if dom == '?' else dom} {month} {'*' if dow == '?' else _dow(dow)}"
        if "W" in dom.upper() and not re.fullmatch(r"\d{1,2}W|LW", dom.upper()):
            raise ScheduleError(f"cron(): day-of-month '{dom}' is not a valid W form")
        if not croniter.is_valid(five):
            raise ScheduleError(f"cron(): '{match[1]}' has a field out of range or malformed")
        return Cron(five, _years(year))
    raise ScheduleError(
        "use cron(minutes hours day-of-month month day-of-week year), rate(N unit) or at(yyyy-mm-ddThh:mm:ss)"
    )


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"timezone '{name}' is not an IANA time zone (e.g. Europe/Berlin, UTC)") from None


# -- configuration per kind -------------------------------------------------------------------------
class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScheduleConfig(_Config):
    expression: str = Field(description="cron(...), rate(...) or at(...), as EventBridge Scheduler takes them")
    timezone: str = "UTC"
    start_date: datetime | None = None
    end_date: datetime | None = None
    overlap: Literal["skip", "allow"] = "allow"
    catch_up: Literal["none", "latest", "all"] = "latest"

    @field_validator("expression")
    @classmethod
    def _expression(cls, value: str) -> str:
        parse_expression(value)
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("start_date", "end_date")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    @model_validator(mode="after")
    def _window(self) -> ScheduleConfig:
        if self.start_date and self.end_date and self.end_date <= self.start_date:
            raise ValueError("end_date must be after start_date")
        return self

    @property
    def parsed(self) -> Expression:
        return parse_expression(self.expression)


class WebhookResponse(_Config):
    """How a webhook answers: `async` (202 naming the run, at once) or `sync` (wait up to `timeout_seconds`
    for the run's first `webhook_response` node, else its output when it ends, else 202 with the run id)."""

    mode: Literal["async", "sync"] = "async"
    timeout_seconds: int = Field(10, ge=1, le=25, description="sync: how long the request waits (API Gateway: 29 s)")


class WebhookConfig(_Config):
    preset: Preset = "nexod"
    response: WebhookResponse = Field(default_factory=WebhookResponse)


def webhook_of(config: dict[str, Any]) -> WebhookConfig:
    return WebhookConfig.model_validate(config or {})


class SqsConfig(_Config):
    """Messages on the deployment's ingress queue name the trigger; all a user may add is a filter."""

    payload_filter: dict[str, Any] | None = Field(
        None,
        description="an EventBridge-style pattern over {payload}; a message it does not match is rejected",
    )

    @field_validator("payload_filter")
    @classmethod
    def _filter(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else event_patterns.validate(value)


_BUS = re.compile(r"^[A-Za-z0-9._\-/]{1,256}$|^arn:aws[\w-]*:events:[\w-]+:\d{12}:event-bus/[A-Za-z0-9._\-/]{1,256}$")


class EventBridgeConfig(_Config):
    """A rule on the Nexod bus (`bus` unset) or a named bus of the account, with an EventBridge pattern."""

    event_pattern: dict[str, Any] = Field(description="an EventBridge event pattern")
    bus: str | None = Field(None, description="a named event bus (or its ARN); unset: the Nexod bus")

    @field_validator("event_pattern")
    @classmethod
    def _pattern(cls, value: dict[str, Any]) -> dict[str, Any]:
        return event_patterns.validate(value)

    @field_validator("bus")
    @classmethod
    def _bus(cls, value: str | None) -> str | None:
        if value is not None and not _BUS.match(value):
            raise ValueError("an event bus name (letters, digits, . _ - /) or an event-bus ARN")
        return value


CONFIG_MODELS: dict[str, type[_Config]] = {
    "schedule": ScheduleConfig,
    "webhook": WebhookConfig,
    "sqs": SqsConfig,
    "eventbridge": EventBridgeConfig,
}


def validate_config(kind: str, config: Any) -> dict[str, Any]:
    """The kind's configuration, normalised; InvalidInput naming the field otherwise."""
    if kind not in CONFIG_MODELS:
        raise InvalidInput(f"kind: one of {', '.join(TRIGGER_KINDS)}", {"field": "kind"})
    try:
        model = CONFIG_MODELS[kind].model_validate(config if config is not None else {})
    except ValidationError as exc:
        pattern_error = _pattern_error(exc)
        if pattern_error is not None:
            raise pattern_error from None
        raise _invalid(exc, "config") from None
    return model.model_dump(mode="json", exclude_none=True)


def _pattern_error(exc: ValidationError) -> InvalidInput | None:
    """A bad event pattern names the bad key itself: `config.event_pattern.detail.amount`."""
    for err in exc.errors():
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, event_patterns.PatternError):
            field = ".".join(["config", *(str(p) for p in err.get("loc", ())), *([cause.path] if cause.path else [])])
            return InvalidInput(f"{field}: {cause.message}", {"field": field})
    return None


def _invalid(exc: ValidationError, prefix: str | None) -> InvalidInput:
    """The first problem of a config's validation as a 422 naming its field (under `prefix`, if any)."""
    err = exc.errors()[0]
    loc = [str(p) for p in err.get("loc", ())]
    # (a problem of the whole config, the start/end window, names the config, or end_date without one)
    field = ".".join([prefix, *loc]) if prefix else ".".join(loc) or "end_date"
    message = str(err.get("ctx", {}).get("error") or err.get("msg", "invalid"))
    return InvalidInput(f"{field}: {message}", {"field": field})


def preview(fields: dict[str, Any], after: datetime, count: int) -> list[datetime]:
    """The next `count` due times (UTC) after `after` of a schedule not saved yet: `expression`, `timezone`,
    `start_date`, `end_date` as a schedule trigger's config takes them, through the same `next_fire` the
    scheduler loop uses. A 422 names the field that is wrong and why."""
    try:
        config = ScheduleConfig.model_validate(fields)
    except ValidationError as exc:
        raise _invalid(exc, None) from None
    return fire_times(config, after, count)


def schedule_of(config: dict[str, Any]) -> ScheduleConfig:
    return ScheduleConfig.model_validate(config)


def check_mapping(expression: str | None) -> None:
    if expression is None:
        return
    try:
        expressions.check(expression)
    except expressions.ExpressionError as exc:
        raise InvalidInput(f"input_mapping: {exc}", {"field": "input_mapping"}) from None


# -- fire times -------------------------------------------------------------------------------------
def next_fire(config: ScheduleConfig, after: datetime) -> datetime | None:
    """The first due time strictly after `after` (aware), in UTC; None when the schedule has no more.

    A rate schedule counts from its start date, else from `after` (EventBridge counts from creation)."""
    tz = zone(config.timezone)
    expr = config.parsed
    start = config.start_date
    floor = max(after, start - timedelta(microseconds=1)) if start else after
    found: datetime | None
    if isinstance(expr, Rate):
        if start is not None and floor < start:
            found = start
        elif start is not None:
            periods = (floor - start) // expr.every + 1
            found = start + periods * expr.every
        else:
            found = floor + expr.every
    elif isinstance(expr, At):
        when = expr.when.replace(tzinfo=tz).astimezone(UTC)
        found = when if when > floor else None
    else:
        found = None
        # croniter walks naive wall-clock times (its aware arithmetic drifts an hour across a DST change);
        # each candidate is then placed in the zone.
        it = croniter(expr.expression, floor.astimezone(tz).replace(tzinfo=None))
        for _ in range(10_000):  # a year list far ahead: bounded search
            wall = it.get_next(datetime)
            candidate = wall.replace(tzinfo=tz).astimezone(UTC)
            if candidate <= floor:  # the repeated hour when clocks go back
                continue
            if expr.years is None or wall.year in expr.years:
                found = candidate
                break
            if expr.years and wall.year > max(expr.years):
                break
    if found is not None and config.end_date is not None and found > config.end_date:
        return None
    return found.astimezone(UTC) if found is not None else None


def fire_times(config: ScheduleConfig, after: datetime, count: int) -> list[datetime]:
    out: list[datetime] = []
    cursor = after
    while len(out) < count:
        nxt = next_fire(config, cursor)
        if nxt is None:
            break
        out.append(nxt)
        cursor = nxt
    return out


def due_to_fire(config: ScheduleConfig, due: datetime, now: datetime) -> tuple[list[datetime], datetime | None]:
    """For a schedule whose next due time `due` has come (`due <= now`): which due times fire now (by the
    catch-up policy) and the next due time after `now`.

    The due times between `due` and `now` were missed (the loop was stopped). `none` fires only a due time
    that is on time (within 10 seconds), `latest` the last one, `all` each of them (at most CATCH_UP_LIMIT,
    the latest ones)."""
    missed = [due]
    cursor = due
    while True:
        nxt = next_fire(config, cursor)
        if nxt is None or nxt > now:
            following = nxt
            break
        missed.append(nxt)
        cursor = nxt
        if len(missed) > 10 * CATCH_UP_LIMIT:  # a very old due time: jump to now
            missed = missed[-CATCH_UP_LIMIT:]
    if config.catch_up == "all":
        firing = missed[-CATCH_UP_LIMIT:]
    elif config.catch_up == "latest":
        firing = missed[-1:]
    else:
        firing = [d for d in missed[-1:] if now - d <= ON_TIME_GRACE]
    return firing, following


# -- deliveries -------------------------------------------------------------------------------------
def delivery_document(
    body: Any, headers: dict[str, str], query: dict[str, str], received_at: datetime, trigger: dict[str, Any]
) -> dict[str, Any]:
    return {
        "delivery": {"body": body, "headers": headers, "query": query, "received_at": received_at.isoformat()},
        "trigger": trigger,
    }


def run_input(mapping: str | None, document: dict[str, Any]) -> Any:
    """The run's input: the mapping evaluated over the delivery document, else the delivery's body."""
    if mapping is None:
        return document["delivery"]["body"]
    try:
        return expressions.evaluate(mapping, document)
    except expressions.ExpressionError as exc:
        raise InvalidInput(f"input_mapping: {exc}", {"field": "input_mapping"}) from None


# -- webhook signatures -----------------------------------------------------------------------------
def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Nexod-Signature` value for a body sent at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def _fresh(timestamp: str | None, now: datetime) -> bool:
    if timestamp is None or not timestamp.isdigit():
        return False
    sent = datetime.fromtimestamp(int(timestamp), UTC)
    return abs(now - sent) <= SIGNATURE_WINDOW


def _equal(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def verify(preset: str, secret: str, headers: dict[str, str], body: bytes, now: datetime) -> bool:
    """Whether the delivery is signed with `secret` the way its preset signs (headers lower-cased), within
    the 5-minute window where the preset sends a timestamp. Every comparison is constant-time."""
    key = secret.encode()
    if preset == "github":  # no timestamp: GitHub's delivery id is the replay guard
        expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        return _equal(expected, headers.get("x-hub-signature-256"))
    if preset == "stripe":
        parts: dict[str, list[str]] = {}
        for item in (headers.get("stripe-signature") or "").split(","):
            name, _, value = item.strip().partition("=")
            parts.setdefault(name, []).append(value)
        stamp = (parts.get("t") or [""])[0]
        if not _fresh(stamp, now):
            return False
        expected = hmac.new(key, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        return any(_equal(expected, v) for v in parts.get("v1", []))
    if preset == "slack":
        slack_ts = headers.get("x-slack-request-timestamp")
        if not _fresh(slack_ts, now):
            return False
        expected = "v0=" + hmac.new(key, f"v0:{slack_ts}:".encode() + body, hashlib.sha256).hexdigest()
        return _equal(expected, headers.get("x-slack-signature"))
    nexod_ts = headers.get("x-nexod-timestamp")
    if not _fresh(nexod_ts, now):
        return False
    return _equal(sign(secret, nexod_ts or "", body), headers.get("x-nexod-signature"))


def delivery_key(preset: str, headers: dict[str, str], body: Any) -> str | None:
    """The delivery's idempotency key: `Idempotency-Key`, else the provider's delivery id."""
    key = headers.get("idempotency-key")
    if key:
        return key[:200]
    if preset == "github" and headers.get("x-github-delivery"):
        return headers["x-github-delivery"][:200]
    if preset == "stripe" and isinstance(body, dict) and isinstance(body.get("id"), str):
        return str(body["id"])[:200]
    return None

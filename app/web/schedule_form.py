"""The schedule editor's form state: read from a posted form or a stored schedule, and turned
into the API's `LayerIn` values, with field errors keyed like the API's (`layers.0.start`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from app.schedules.convert import layer_public
from app.schedules.models import LayerIn, Schedule
from app.schedules.spec import WEEKDAYS

UNITS = {"minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}
MAX_FORM_LAYERS = 20
MAX_FORM_RESTRICTIONS = 20
MAX_FORM_USERS = 100


@dataclass
class RestrictionForm:
    """A restriction as typed: daily from a time to a time, or weekly from a day+time to one."""

    type: str = "daily"
    start_day: str = "mon"
    start_time: str = "09:00"
    end_day: str = "fri"
    end_time: str = "17:00"


@dataclass
class LayerForm:
    id: str = ""
    name: str = ""
    start: str = ""  # datetime-local: YYYY-MM-DDTHH:MM, wall-clock time in the schedule's zone
    mode: str = "length"  # length | rrule
    length: str = "1"
    unit: str = "weeks"
    rrule: str = ""
    users: list[str] = field(default_factory=list)
    restrictions: list[RestrictionForm] = field(default_factory=list)


@dataclass
class ScheduleForm:
    name: str = ""
    description: str = ""
    timezone: str = "UTC"
    layers: list[LayerForm] = field(default_factory=list)


Errors = list[dict[str, Any]]


def _text(form: FormData, key: str, default: str = "") -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else default


def _count(form: FormData, key: str, limit: int) -> int:
    raw = _text(form, key, "0")
    return min(int(raw), limit) if raw.isdigit() else 0


def from_form(form: FormData) -> ScheduleForm:
    """Read the editor's fields: `layers` counts layers, `layer-{i}-…` holds each one."""
    state = ScheduleForm(
        name=_text(form, "name"),
        description=_text(form, "description"),
        timezone=_text(form, "timezone") or "UTC",
    )
    for i in range(_count(form, "layers", MAX_FORM_LAYERS)):
        p = f"layer-{i}-"
        layer = LayerForm(
            id=_text(form, p + "id"),
            name=_text(form, p + "name"),
            start=_text(form, p + "start"),
            mode="rrule" if _text(form, p + "mode") == "rrule" else "length",
            length=_text(form, p + "length"),
            unit=_text(form, p + "unit", "days"),
            rrule=_text(form, p + "rrule"),
            users=[str(v) for v in form.getlist(p + "users") if str(v)][:MAX_FORM_USERS],
        )
        for j in range(_count(form, p + "restrictions", MAX_FORM_RESTRICTIONS)):
            q = f"{p}r-{j}-"
            layer.restrictions.append(
                RestrictionForm(
                    type="weekly" if _text(form, q + "type") == "weekly" else "daily",
                    start_day=_text(form, q + "start_day", "mon"),
                    start_time=_text(form, q + "start_time"),
                    end_day=_text(form, q + "end_day", "mon"),
                    end_time=_text(form, q + "end_time"),
                )
            )
        state.layers.append(layer)
    return state


def _length_of(seconds: float | None) -> tuple[str, str]:
    if not seconds:
        return "1", "weeks"
    for unit in ("weeks", "days", "hours", "minutes"):
        if seconds % UNITS[unit] == 0:
            return str(int(seconds // UNITS[unit])), unit
    return f"{seconds / 60:g}", "minutes"


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


def from_schedule(schedule: Schedule) -> ScheduleForm:
    """Return a stored schedule as the editor's state."""
    state = ScheduleForm(
        name=schedule.name, description=schedule.description or "", timezone=schedule.timezone
    )
    for row in schedule.layers:
        public = layer_public(row)
        length, unit = _length_of(row["rotation_seconds"])
        layer = LayerForm(
            id=str(public.id),
            name=public.name,
            start=public.start.strftime("%Y-%m-%dT%H:%M"),
            mode="rrule" if public.handoff_rrule else "length",
            length=length,
            unit=unit,
            rrule=public.handoff_rrule or "",
            users=[str(u) for u in public.users],
        )
        for r in public.restrictions:
            begin = _minutes(r.start_time)
            day = WEEKDAYS.index(r.start_day) if r.start_day else 0
            end = day * 1440 + begin + int(r.duration.total_seconds() // 60)
            layer.restrictions.append(
                RestrictionForm(
                    type=r.type.value,
                    start_day=r.start_day or "mon",
                    start_time=r.start_time,
                    end_day=WEEKDAYS[end // 1440 % 7],
                    end_time=_hhmm(end),
                )
            )
        state.layers.append(layer)
    return state


def _restriction(r: RestrictionForm, where: str, errors: Errors) -> dict[str, Any] | None:
    """Return a restriction in the API's shape (a start and a duration), or record errors."""
    try:
        begin, end = _minutes(r.start_time), _minutes(r.end_time)
    except ValueError:
        errors.append({"field": where, "message": "give a start and an end time (HH:MM)"})
        return None
    if r.type == "weekly":
        if r.start_day not in WEEKDAYS or r.end_day not in WEEKDAYS:
            errors.append({"field": where, "message": "choose the days"})
            return None
        begin += WEEKDAYS.index(r.start_day) * 1440
        end += WEEKDAYS.index(r.end_day) * 1440
        span = (end - begin) % (7 * 1440) or 7 * 1440
        return {
            "type": "weekly",
            "start_time": r.start_time,
            "start_day": r.start_day,
            "duration": timedelta(minutes=span),
        }
    span = (end - begin) % 1440 or 1440  # an end at or before the start is the next day
    return {"type": "daily", "start_time": r.start_time, "duration": timedelta(minutes=span)}


def _api_field(i: int, loc: tuple[int | str, ...]) -> str:
    return ".".join(["layers", str(i), *(str(p) for p in loc)])


def to_layers(state: ScheduleForm) -> tuple[list[LayerIn], Errors]:
    """Return the layers as the API's values, and the field errors of those that are not."""
    layers: list[LayerIn] = []
    errors: Errors = []
    if not state.layers:
        errors.append({"field": "layers", "message": "add at least one layer"})
    for i, layer in enumerate(state.layers):
        data: dict[str, Any] = {
            "id": layer.id or None,
            "name": layer.name,
            "start": layer.start,
            "users": layer.users,
            "restrictions": [],
        }
        if layer.mode == "rrule":
            data["handoff_rrule"] = layer.rrule or None
            if not layer.rrule:
                errors.append({"field": f"layers.{i}.handoff_rrule", "message": "give a rule"})
        else:
            try:
                amount = float(layer.length)
                data["rotation_length"] = timedelta(seconds=amount * UNITS[layer.unit])
            except (ValueError, KeyError, OverflowError):
                errors.append({"field": f"layers.{i}.rotation_length", "message": "give a number"})
                continue
        if not layer.start:
            errors.append({"field": f"layers.{i}.start", "message": "give a start date and time"})
            continue
        for j, r in enumerate(layer.restrictions):
            shaped = _restriction(r, f"layers.{i}.restrictions.{j}", errors)
            if shaped is not None:
                data["restrictions"].append(shaped)
        try:
            layers.append(LayerIn.model_validate(data))
        except ValidationError as exc:
            errors.extend(
                {"field": _api_field(i, tuple(e["loc"])), "message": message_of(e["msg"])}
                for e in exc.errors()
            )
    return layers, errors


def message_of(msg: str) -> str:
    """Return pydantic's message for people (without its `Value error, ` prefix)."""
    return msg.removeprefix("Value error, ")


def blank_layer(n: int, now: datetime) -> LayerForm:
    """Return an empty layer starting next Monday at 09:00."""
    monday = (now + timedelta(days=7 - now.weekday())).replace(hour=9, minute=0)
    return LayerForm(name=f"Layer {n}", start=monday.strftime("%Y-%m-%dT%H:%M"))

"""Process files (format 1): YAML -> :class:`~flowmap.model.Process`, with located messages.

Parsing goes in three passes, and every problem from every pass is reported
at once, each as ``FILE:LINE:COLUMN: message``:

1. YAML with positions (:mod:`flowmap.yamldoc`): syntax, duplicate keys, tags.
2. Shape, with pydantic: unknown keys (with "did you mean"), missing keys,
   types, ranges. The same models give the JSON Schema (``flowmap schema``).
3. Meaning, on the raw data so that it runs even when pass 2 found problems:
   duplicate ids, unknown steps, reachability, ways out, probabilities,
   event names claimed twice, lanes, time zones.
"""

from __future__ import annotations

import json
import math
import re
import zoneinfo
from collections import defaultdict
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

from flowmap.errors import Problem, SpecError, did_you_mean
from flowmap.files.yamldoc import LocatedDoc, read_text, source_name, validate_document
from flowmap.model.calendars import CALENDARS, Calendar, Clock
from flowmap.model.process import Basis, Process, SpanTarget, Step, Transition, default_roles, normalise_name

__all__ = ["CALENDARS", "load_process", "parse_process", "process_schema", "validate_files"]

_SLUG = r"^[A-Za-z0-9_][A-Za-z0-9_-]*$"

Slug = Annotated[str, Field(pattern=_SLUG, min_length=1, max_length=80)]
Days = Annotated[float, Field(ge=0, allow_inf_nan=False)]
_UNITS = {"day": "days", "days": "days", "working day": "working days", "working days": "working days",
          "week": "weeks", "weeks": "weeks", "month": "months", "months": "months"}  # fmt: skip
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z][A-Za-z ]*?)\s*$")


def parse_duration(text: str) -> tuple[float, str]:
    """A duration as people write it: ``"3 months"`` is (3, "months").

    Units: days, working days, weeks, months (singular too; letter case ignored).

    Examples
    --------
    >>> parse_duration("3 months"), parse_duration("10 Working Days"), parse_duration("1 week")
    ((3.0, 'months'), (10.0, 'working days'), (1.0, 'weeks'))
    """
    m = _DURATION.match(str(text))
    if m is None:
        raise ValueError(f"write a number of days, or a number and a unit such as '3 months' (got {text!r})")
    unit = " ".join(m.group(2).lower().split())
    if unit not in _UNITS:
        raise ValueError(f"unknown unit '{m.group(2)}' in {text!r}{did_you_mean(unit, sorted(set(_UNITS.values())))}; "
                         "use days, working days, weeks or months")  # fmt: skip
    value, kind = float(m.group(1)), _UNITS[unit]
    if kind == "months" and not value.is_integer():
        raise ValueError(f"months must be whole (got {text!r}); write days or weeks for a part of a month")
    return value, kind


def _duration(v: Any, name: str = "a time allowed") -> float | str | None:
    """A number of days (0 or more), or text such as '3 months', checked and tidied."""
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise ValueError(f"'{name}' must be a number of days or a duration such as '6 weeks' (got {v!r})")
    if isinstance(v, str):
        try:
            value, unit = parse_duration(v)
        except ValueError as e:
            raise ValueError(f"'{name}': {e}") from None
        return f"{value:g} {unit}"
    if not math.isfinite(v):
        raise ValueError(f"'{name}' must be a finite number of days (got {v})")
    if v < 0:
        raise ValueError(f"'{name}' must be at least 0 (got {v:g})")
    return float(v)


Duration = float | str  # checked by each model's _durations validator, which knows the key's name
"""Days in the clock (a number), or a number and a unit: N days, N working days, N weeks, N months."""


def to_days(value: float | str, clock: str) -> tuple[float, int | None]:
    """A :data:`Duration` in the clock's days, with its months when written in months.

    N weeks are 7N calendar days, or 5N on a working-day clock. A target in
    months keeps its months (judged by calendar month arithmetic); its days
    are then nominal (a month is 365.25/12 calendar days, 261/12 working
    days), for charts and simulation only.
    """
    if not isinstance(value, str):
        return float(value), None
    n, unit = parse_duration(value)
    working = clock == "working_days"
    if unit == "working days" and not working:
        raise ValueError(f"'{value}' needs a working-day clock; this one counts calendar days")
    if unit == "weeks":
        return n * (5 if working else 7), None
    if unit == "months":
        return round(n * (261 if working else 365.25) / 12, 1), int(n)
    return n, None


ClockName = Clock
BasisName = Basis
BASIS_HELP = (
    "What the target rests on: statute (the law), guidance (national guidance), local (a local aim) or "
    "assumption (a working figure). Summaries list statutory targets first."
)
CalendarName = Calendar


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)


class StepDoc(_Doc):
    """One step: a case is in it from one entry to the next."""

    id: Slug = Field(description="Short unique id, e.g. bundle_sent.")
    label: str | None = Field(None, description="Name shown on maps and in tables (default: the id).")
    lane: str | None = Field(None, description="Swimlane: who does this step.")
    start: bool = Field(False, description="A case may begin here (default: steps with no way in).")
    end: bool = Field(False, description="A case that reaches this step is complete.")
    events: list[str] | None = Field(None, description="Event names that mark entry (default: id and label).")
    column: str | None = Field(None, description="Tracker column holding this step's date (wide files).")
    target: Duration | None = Field(
        None, description="Time allowed in this step: days in the process clock, or '2 weeks', '3 months', ..."
    )
    typical: Days | None = Field(None, description="Median days, used to simulate when no data exists.")
    source: str | None = Field(None, description="Where the target or typical figure comes from.")
    basis: BasisName | None = Field(None, description=BASIS_HELP)
    description: str | None = Field(None, description="Notes for people reading the file.")

    @field_validator("target", mode="before")
    @classmethod
    def _durations(cls, v: Any, info: ValidationInfo) -> Any:
        return _duration(v, str(info.field_name))


def _parse_arrow(value: Any) -> Any:
    if isinstance(value, str):
        parts = value.split("->")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise ValueError(f"a transition is written 'from_step -> to_step' (got {value!r})")
        return {"from": parts[0].strip(), "to": parts[1].strip()}
    return value


class TransitionDoc(_Doc):
    """An allowed move; also written as the string ``"a -> b"``."""

    from_: Slug = Field(alias="from", description="Step the move leaves.")
    to: Slug = Field(description="Step the move enters.")
    label: str | None = Field(None, description="Shown on the edge, e.g. rework.")
    probability: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None = Field(
        None, description="Chance of this move out of 'from', for simulation."
    )


class TargetDoc(_Doc):
    """A clock between two steps."""

    id: Slug
    label: str | None = None
    from_: Slug = Field(alias="from", description="Clock starts at the first entry to this step.")
    to: Slug = Field(description="Clock stops at the first entry to this step after the start.")
    within: Duration | None = Field(
        None, description="Met when the time is at most this: days in the target's clock, or '6 weeks', '3 months', ..."
    )
    at_least: Duration | None = Field(None, description="Met when the time is at least this (lead times).")
    clock: ClockName | None = Field(None, description="Default: the process clock.")
    source: str | None = Field(None, description="Where the target comes from: the Act, guidance or decision.")
    basis: BasisName | None = Field(None, description=BASIS_HELP)
    aim: float | Annotated[str, Field(pattern=r"^\s*\d+(\.\d+)?\s*%\s*$")] | None = Field(
        None, description="The share of cases the team aims to meet it for: 0.9 or '90%'. Drawn on rate charts."
    )

    @field_validator("within", "at_least", mode="before")
    @classmethod
    def _durations(cls, v: Any, info: ValidationInfo) -> Any:
        return _duration(v, str(info.field_name))

    @field_validator("aim")
    @classmethod
    def _aim(cls, v: float | str | None) -> float | None:
        if v is None:
            return None
        share = float(str(v).strip().rstrip("%")) / 100 if isinstance(v, str) else float(v)
        if not 0 < share <= 1:
            raise ValueError(f"aim must be a share between 0 and 1, or a percentage up to 100% (got {v!r})")
        return share


class ProcessDoc(_Doc):
    """A flowmap process file, format 1."""

    flowmap: Literal[1] = Field(description="Format version: 1.")
    id: Slug
    title: str | None = None
    description: str | None = None
    clock: ClockName = "calendar_days"
    calendar: CalendarName = "scotland"
    timezone: str = "Europe/London"
    lanes: list[str] | None = None
    steps: Annotated[list[StepDoc], Field(min_length=1)]
    transitions: list[Annotated[TransitionDoc, BeforeValidator(_parse_arrow)]] = []
    targets: list[TargetDoc] = []


# --- public API ------------------------------------------------------------------


def load_process(path: str | Path) -> Process:
    """Read and validate a process file.

    Parameters
    ----------
    path
        A ``.yaml`` process file (format 1).

    Returns
    -------
    Process

    Raises
    ------
    SpecError
        With every problem found, each located as ``FILE:LINE:COLUMN``.
    """
    p = Path(path)
    text = read_text(p, what="process file")
    return parse_process(text, file=str(p), path=p)


def parse_process(text: str, *, file: str | None = None, path: Path | None = None) -> Process:
    """Validate process-file text; see :func:`load_process`."""
    doc, parsed, problems = validate_document(
        text,
        source_name(file),
        ProcessDoc,
        shape="a process file: a mapping with keys such as 'flowmap', 'id' and 'steps'",
    )
    if doc is None or not isinstance(doc.data, dict):
        raise SpecError(problems)
    problems.extend(_check_meaning(doc))
    if problems or parsed is None:
        raise SpecError(sorted(set(problems), key=_order))
    return _build(parsed, path)


def validate_files(paths: list[Path]) -> dict[Path, list[Problem]]:
    """Validate many files; map each to its problems (empty when valid)."""
    out: dict[Path, list[Problem]] = {}
    for p in paths:
        try:
            load_process(p)
            out[p] = []
        except SpecError as e:
            out[p] = list(e.problems)
    return out


def process_schema() -> dict[str, Any]:
    """The JSON Schema of process files (format 1), for editors."""
    schema = ProcessDoc.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://flowmap.invalid/schema/process-1.json"
    schema["title"] = "flowmap process file (format 1)"
    arrow = {"type": "string", "pattern": r"^\s*[A-Za-z0-9_][A-Za-z0-9_-]*\s*->\s*[A-Za-z0-9_][A-Za-z0-9_-]*\s*$"}
    items = schema["properties"]["transitions"]["items"]
    schema["properties"]["transitions"]["items"] = {"anyOf": [arrow, items]}
    target_def = schema["$defs"]["TargetDoc"]
    target_def["oneOf"] = [{"required": ["within"]}, {"required": ["at_least"]}]
    return schema


def schema_json(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --- pass 3: meaning ---------------------------------------------------------------


def _order(p: Problem) -> tuple[int, int, str]:
    return (p.line or 0, p.column or 0, p.message)


def _items(doc: LocatedDoc, key: str) -> list[tuple[int, dict[str, Any]]]:
    seq = doc.data.get(key)
    if not isinstance(seq, list):
        return []
    out = []
    for i, item in enumerate(seq):
        if key == "transitions" and isinstance(item, str):
            try:
                item = _parse_arrow(item)
            except ValueError:
                continue
        if isinstance(item, dict):
            out.append((i, item))
    return out


def _slug(v: Any) -> str | None:
    return v if isinstance(v, str) and re.match(_SLUG, v) else None


def _check_meaning(doc: LocatedDoc) -> list[Problem]:
    """Every check that needs more than one key at once, each a function of its own."""
    steps = _items(doc, "steps")
    trans = _items(doc, "transitions")
    probs, first_at = _duplicate_steps(doc, steps)
    probs += _unknown_lanes(doc, steps)
    probs += _events_claimed_twice(doc, steps)
    edge_probs, edges, dangling = _transitions(doc, trans, first_at)
    probs += edge_probs
    probs += _probabilities(doc, trans)
    probs += _targets(doc, _items(doc, "targets"), first_at)
    probs += _durations(doc, steps, _items(doc, "targets"))
    probs += _timezone(doc)
    probs += _check_graph(doc, steps, edges, dangling)
    return probs


def _duplicate_steps(doc: LocatedDoc, steps: list[tuple[int, dict[str, Any]]]) -> tuple[list[Problem], dict[str, int]]:
    """Step ids used twice; and each id's first position."""
    probs: list[Problem] = []
    first_at: dict[str, int] = {}
    for i, s in steps:
        sid = _slug(s.get("id"))
        if sid is None:
            continue
        if sid in first_at:
            line = doc.where(("steps", first_at[sid], "id"))[0]
            probs.append(doc.problem(("steps", i, "id"), f"duplicate step id '{sid}' (first used on line {line})"))
        else:
            first_at[sid] = i
    return probs, first_at


def _unknown_lanes(doc: LocatedDoc, steps: list[tuple[int, dict[str, Any]]]) -> list[Problem]:
    lanes = doc.data.get("lanes")
    if not isinstance(lanes, list):
        return []
    declared = [x for x in lanes if isinstance(x, str)]
    return [
        doc.problem(("steps", i, "lane"),
                    f"lane '{s['lane']}' is not in 'lanes' ({', '.join(declared)}){did_you_mean(s['lane'], declared)}")
        for i, s in steps
        if isinstance(s.get("lane"), str) and s["lane"] not in declared
    ]  # fmt: skip


def _events_claimed_twice(doc: LocatedDoc, steps: list[tuple[int, dict[str, Any]]]) -> list[Problem]:
    """An event name (including the defaults: id and label) that would enter two steps."""
    probs: list[Problem] = []
    claimed: dict[str, str] = {}
    for i, s in steps:
        sid = _slug(s.get("id"))
        if sid is None:
            continue
        events = s.get("events")
        names: list[tuple[str, tuple[str | int, ...]]]
        if isinstance(events, list):
            names = [(e, ("steps", i, "events", j)) for j, e in enumerate(events) if isinstance(e, str)]
        else:
            names = [(sid, ("steps", i, "id"))]
            if isinstance(s.get("label"), str):
                names.append((s["label"], ("steps", i, "label")))
        seen_here: set[str] = set()
        for name, loc in names:
            key = normalise_name(name)
            if not key or key in seen_here:
                continue
            seen_here.add(key)
            if key in claimed and claimed[key] != sid:
                probs.append(
                    doc.problem(
                        loc,
                        f"event name '{name}' marks both step '{claimed[key]}' and step '{sid}'; "
                        "an event can enter only one step, so give one of them an 'events' list without it",
                    )
                )
            else:
                claimed.setdefault(key, sid)
    return probs


def _transitions(
    doc: LocatedDoc, trans: list[tuple[int, dict[str, Any]]], first_at: dict[str, int]
) -> tuple[list[Problem], list[tuple[str, str, int]], list[tuple[str, str]]]:
    """Transitions naming unknown steps, and duplicates; the good edges; the known ends of the bad ones."""
    probs: list[Problem] = []
    edges: list[tuple[str, str, int]] = []
    dangling: list[tuple[str, str]] = []  # (known step, "out"|"in") of transitions naming an unknown step
    seen_edges: dict[tuple[str, str], int] = {}
    step_ids = list(first_at)
    for i, t in trans:
        ok = True
        for end in ("from", "to"):
            v = _slug(t.get(end))
            if v is not None and v not in first_at:
                where = ("transitions", i, end) if isinstance(doc.data["transitions"][i], dict) else ("transitions", i)
                probs.append(doc.problem(where, f"transition '{t.get('from')} -> {t.get('to')}' names an unknown "
                                                f"step '{v}'{did_you_mean(v, step_ids)}"))  # fmt: skip
                ok = False
            elif v is None:
                ok = False
        if not ok:
            dangling += [(v, way) for end, way in (("from", "out"), ("to", "in"))
                         if (v := _slug(t.get(end))) is not None and v in first_at]  # fmt: skip
            continue
        e = (t["from"], t["to"])
        if e in seen_edges:
            line = doc.where(("transitions", seen_edges[e]))[0]
            probs.append(
                doc.problem(("transitions", i), f"transition '{e[0]} -> {e[1]}' is declared twice (also line {line})")
            )
        else:
            seen_edges[e] = i
            edges.append((e[0], e[1], i))
    return probs, edges, dangling


def _probabilities(doc: LocatedDoc, trans: list[tuple[int, dict[str, Any]]]) -> list[Problem]:
    """The probabilities of the moves out of one step add up to at most 1."""
    sums: dict[str, float] = defaultdict(float)
    last_at: dict[str, int] = {}
    for i, t in trans:
        p = t.get("probability")
        f = _slug(t.get("from"))
        if f is not None and isinstance(p, (int, float)) and not isinstance(p, bool) and 0 <= p <= 1:
            sums[f] += float(p)
            last_at[f] = i
    return [
        doc.problem(("transitions", last_at[f]),
                    f"probabilities of the moves out of '{f}' add up to {total:g}; they must add up to at most 1")
        for f, total in sums.items()
        if total > 1 + 1e-9
    ]  # fmt: skip


def _durations(doc: LocatedDoc, steps: list[tuple[int, dict[str, Any]]],
               targets: list[tuple[int, dict[str, Any]]]) -> list[Problem]:  # fmt: skip
    """Durations that make sense only on some clocks, a zero limit, and months on a lead time."""
    probs: list[Problem] = []
    top = doc.data.get("clock") if isinstance(doc.data, dict) else None
    process_clock = top if isinstance(top, str) else "calendar_days"
    places: list[tuple[tuple[str, int, str], Any, str]] = [
        (("steps", i, "target"), s.get("target"), process_clock) for i, s in steps
    ]
    for i, t in targets:
        own = t.get("clock")
        clock = own if isinstance(own, str) else process_clock
        places.append((("targets", i, "within"), t.get("within"), clock))
        places.append((("targets", i, "at_least"), t.get("at_least"), clock))
    for where, value, clock in places:
        if isinstance(value, str):
            try:
                _, months = to_days(value, clock)
            except ValueError as e:
                if "needs a working-day clock" in str(e):
                    probs.append(doc.problem(where, f"{e}: write calendar days, or set clock: working_days"))
                continue  # other text problems are reported by the field's own check
            if months is not None and where[-1] == "at_least":
                probs.append(doc.problem(where, "a lead time ('at_least') is written in days or weeks, not months"))
        if where[-1] == "within" and isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
            probs.append(doc.problem(where, "'within: 0' allows no time at all; give the days the target allows"))
    return probs


def _targets(doc: LocatedDoc, targets: list[tuple[int, dict[str, Any]]], first_at: dict[str, int]) -> list[Problem]:
    """Target ids used twice, unknown or equal ends, and exactly one of within or at_least."""
    probs: list[Problem] = []
    seen: dict[str, int] = {}
    step_ids = list(first_at)
    for i, t in targets:
        tid = _slug(t.get("id"))
        if tid is not None and tid in seen:
            line = doc.where(("targets", seen[tid], "id"))[0]
            probs.append(doc.problem(("targets", i, "id"), f"duplicate target id '{tid}' (first used on line {line})"))
        elif tid is not None:
            seen[tid] = i
        for end in ("from", "to"):
            v = _slug(t.get(end))
            if v is not None and v not in first_at:
                probs.append(doc.problem(("targets", i, end), f"target '{t.get('id')}' names an unknown step "
                                                               f"'{v}'{did_you_mean(v, step_ids)}"))  # fmt: skip
        if _slug(t.get("from")) is not None and t.get("from") == t.get("to"):
            probs.append(doc.problem(("targets", i, "to"), "a target must run between two different steps"))
        if (t.get("within") is not None) == (t.get("at_least") is not None):
            probs.append(doc.problem(("targets", i), "a target needs exactly one of 'within' (at most so many days) "
                                                     "or 'at_least' (a lead time)"))  # fmt: skip
    return probs


def _timezone(doc: LocatedDoc) -> list[Problem]:
    tz = doc.data.get("timezone")
    if not isinstance(tz, str):
        return []
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return [doc.problem(("timezone",), f"unknown time zone '{tz}'; use a name from the IANA list such as "
                                           "'Europe/London'")]  # fmt: skip
    return []


def _reachable(out: dict[str, list[str]], starts: Any) -> set[str]:
    """The steps a breadth-first search reaches from ``starts``, the starts included."""
    seen = set(starts)
    todo = list(seen)
    while todo:
        for b in out.get(todo.pop(), ()):
            if b not in seen:
                seen.add(b)
                todo.append(b)
    return seen


def _check_graph(
    doc: LocatedDoc,
    steps: list[tuple[int, dict[str, Any]]],
    edges: list[tuple[str, str, int]],
    dangling: list[tuple[str, str]],
) -> list[Problem]:
    """Starts, ends, reachability and ways out.

    A transition naming an unknown step was reported already; its known end
    still counts as a way in or out here, so that one mistake gives one message.
    A breadth-first search over an adjacency list answers these, not networkx:
    every command loads a process, and importing networkx would cost each of
    them a quarter of a second (docs/performance.md).
    """
    idx: dict[str, int] = {}
    by_id: dict[str, dict[str, Any]] = {}
    for i, s in steps:
        sid = _slug(s.get("id"))
        if sid is not None and sid not in idx:
            idx[sid] = i
            by_id[sid] = s
    if not idx:
        return []
    out: dict[str, list[str]] = {sid: [] for sid in idx}
    for a, b, _ in edges:
        if a in out and b in out:
            out[a].append(b)
    half = [(v, "?") if way == "out" else ("?", v) for v, way in dangling]  # the unknown end as a stand-in
    explicit_end = {sid for sid in idx if by_id[sid].get("end") is True}
    starts, ends = default_roles(
        list(idx), [(a, b) for a, b, _ in edges] + half,
        explicit_start=[sid for sid in idx if by_id[sid].get("start") is True], explicit_end=explicit_end,
    )  # fmt: skip
    probs: list[Problem] = []  # an end step may have ways out: a case may finish there, or go on
    if not starts:
        probs.append(doc.problem(("steps",), "no start step: every step has a way in; mark where cases begin with "
                                             "'start: true'"))  # fmt: skip
        return probs
    reached = _reachable(out, starts)
    way_in = {v for v, way in dangling if way == "in"}
    way_out = {v for v, way in dangling if way == "out"}
    for sid, i in idx.items():
        where = ("steps", i, "id")
        if sid not in reached and sid not in way_in:
            probs.append(doc.problem(where, f"step '{sid}' cannot be reached from any start step "
                                            f"({', '.join(starts)}); add a transition into it or mark it "
                                            "'start: true'"))  # fmt: skip
        if sid not in ends and not out[sid] and sid not in way_out:
            probs.append(doc.problem(where, f"step '{sid}' has no way out and is not an end step; add a transition "
                                            "out of it or mark it 'end: true'"))  # fmt: skip
    return probs


# --- build -----------------------------------------------------------------------


def _build(doc: ProcessDoc, path: Path | None) -> Process:
    transitions = tuple(
        Transition(from_step=t.from_, to_step=t.to, label=t.label, probability=t.probability) for t in doc.transitions
    )
    starts, ends = default_roles(
        [s.id for s in doc.steps],
        [(t.from_step, t.to_step) for t in transitions],
        explicit_start=[s.id for s in doc.steps if s.start],
        explicit_end=[s.id for s in doc.steps if s.end],
    )
    steps = []
    for s in doc.steps:
        label = s.label if s.label is not None else s.id
        events = tuple(s.events) if s.events is not None else tuple(dict.fromkeys([s.id, label]))
        steps.append(
            Step(
                id=s.id,
                label=label,
                lane=s.lane,
                start=s.id in starts,
                end=s.id in ends,
                events=events,
                target=None if s.target is None else to_days(s.target, doc.clock)[0],
                target_months=None if s.target is None else to_days(s.target, doc.clock)[1],
                typical=s.typical,
                column=s.column,
                source=s.source,
                description=s.description,
                basis=s.basis,
            )
        )
    targets = tuple(
        SpanTarget(
            id=t.id,
            from_step=t.from_,
            to_step=t.to,
            label=t.label,
            within=None if t.within is None else to_days(t.within, t.clock or doc.clock)[0],
            within_months=None if t.within is None else to_days(t.within, t.clock or doc.clock)[1],
            at_least=None if t.at_least is None else to_days(t.at_least, t.clock or doc.clock)[0],
            clock=t.clock or doc.clock,
            source=t.source,
            basis=t.basis,
            aim=float(t.aim) if t.aim is not None else None,
        )
        for t in doc.targets
    )
    return Process(
        id=doc.id,
        title=doc.title or doc.id,
        description=doc.description,
        steps=tuple(steps),
        transitions=transitions,
        targets=targets,
        clock=doc.clock,
        calendar=doc.calendar,
        timezone=doc.timezone,
        lanes=tuple(doc.lanes or ()),
        path=path,
    )

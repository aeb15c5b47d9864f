"""Change files (``flowmap-change: 1``) and their operations: a proposed change to a process, for simulation.

A change file lists operations applied in order to the model fitted from the
data (:mod:`flowmap.simulation.model`). It is validated like a process file,
every problem at once with ``FILE:LINE:COLUMN``, and then against the process
it changes: unknown steps (with "did you mean"), moves that do not exist, and
probabilities that would no longer add up to at most 1.

Each operation is one class that carries both halves of its meaning: ``check``
(against the process as the file has changed it so far) and ``apply`` (to a
model). Change files are read here, in the simulation layer, not in
:mod:`flowmap.files`, so that an operation's reading, checking and applying
stay together (docs/architecture.md).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from flowmap.errors import ChangeError, FlowmapError, Problem, SpecError, did_you_mean
from flowmap.files.yamldoc import LocatedDoc, read_text, source_name, validate_document
from flowmap.model.process import Process
from flowmap.simulation.model import Duration, Model

__all__ = ["Change", "ChangeDoc", "apply_change", "change_schema", "load_change", "parse_change"]

Days = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Prob = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Slug = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)


class SetProbability(_Doc):
    """The chance of one move; the other moves out of ``from`` share the rest in their old proportions."""

    from_: Slug = Field(alias="from")
    to: Slug
    probability: Prob

    def check(self, shape: _Shape, base: Where) -> None:
        if not (shape.need_step(self.from_, (*base, "from")) & shape.need_step(self.to, (*base, "to"))):
            return
        if (self.from_, self.to) not in shape.moves:
            outs = [b for a, b in shape.moves if a == self.from_]
            shape.problem(base, f"'{self.from_} -> {self.to}' is not a move of the process; moves out of "
                                f"'{self.from_}' go to {', '.join(outs) or 'no step'}")  # fmt: skip
            return
        # Probabilities set in this file are pinned; the unpinned moves share what is left.
        shape.pinned.setdefault(self.from_, {})[self.to] = self.probability
        total = sum(shape.pinned[self.from_].values())
        if total > 1 + 1e-9:
            shape.problem((*base, "probability"), f"the probabilities this file sets for moves out of "
                                                  f"'{self.from_}' add up to {total:g}; they must add up to at "
                                                  "most 1")  # fmt: skip
        shape.moves[(self.from_, self.to)] = self.probability

    def apply(self, m: Model) -> Model:
        out = dict(m.moves.get(self.from_, {}))
        others = {k: v for k, v in out.items() if k != self.to}
        rest = sum(others.values())
        left = max(1.0 - self.probability, 0.0)
        out = {k: (v / rest * left if rest > 0 else left / max(len(others), 1)) for k, v in others.items()}
        out[self.to] = self.probability
        # A chance set by a change holds on every visit: the step's visit-by-visit tables give way to it.
        by_visit = {k: v for k, v in m.moves_by_visit.items() if k != self.from_}
        return replace(m, moves={**m.moves, self.from_: out}, moves_by_visit=by_visit)


class SetDuration(_Doc):
    """Change a step's time: a new median, a scale factor, or a ceiling (days in the process clock)."""

    step: Slug
    median: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    scale: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    at_most: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _one(self) -> SetDuration:
        if sum(v is not None for v in (self.median, self.scale, self.at_most)) != 1:
            raise ValueError("set_duration needs exactly one of 'median', 'scale' or 'at_most'")
        return self

    def check(self, shape: _Shape, base: Where) -> None:
        shape.need_step(self.step, (*base, "step"))

    def apply(self, m: Model) -> Model:
        d = m.durations[self.step]
        if self.median is not None:
            d = replace(d, scale=d.scale * self.median / max(d.typical(), 1e-9))
        elif self.scale is not None:
            d = replace(d, scale=d.scale * self.scale)
        elif self.at_most is not None:
            d = replace(d, at_most=self.at_most if d.at_most is None else min(d.at_most, self.at_most))
        return replace(m, durations={**m.durations, self.step: d})


class SetCapacity(_Doc):
    """Servers in a lane: durations become work time and queues form."""

    lane: str
    servers: Annotated[int, Field(ge=1, le=10_000)]

    def check(self, shape: _Shape, base: Where) -> None:
        if self.lane not in shape.lanes:
            known = ", ".join(sorted(shape.lanes)) or "none (set lane: on steps)"
            hint = did_you_mean(self.lane, shape.lanes)
            shape.problem((*base, "lane"), f"unknown lane '{self.lane}'{hint}; lanes are {known}")

    def apply(self, m: Model) -> Model:
        return replace(m, capacity={**m.capacity, self.lane: self.servers})


class SetArrivals(_Doc):
    """A different arrival rate: cases per week."""

    per_week: Annotated[float, Field(gt=0, le=1_000_000, allow_inf_nan=False)]

    def check(self, shape: _Shape, base: Where) -> None:
        return None

    def apply(self, m: Model) -> Model:
        return replace(m, arrivals_per_day=self.per_week / 7)


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class SetSchedule(_Doc):
    """A step that can only finish on scheduled dates (a panel, a court hearing, a review meeting)."""

    step: str
    every: str  # "4 weeks", "14 days"
    on: str  # a weekday
    from_: dt.date | str = Field(alias="from")

    def _period(self) -> int | None:
        m = re.fullmatch(r"\s*(\d+)\s*(day|days|week|weeks)\s*", self.every)
        if not m:
            return None
        return int(m.group(1)) * (7 if m.group(2).startswith("week") else 1)

    def _first(self) -> dt.date | None:
        try:
            start = self.from_ if isinstance(self.from_, dt.date) else dt.date.fromisoformat(str(self.from_))
        except ValueError:
            return None
        want = WEEKDAYS.index(self.on.strip().lower())
        return start + dt.timedelta(days=(want - start.weekday()) % 7)

    def check(self, shape: _Shape, base: Where) -> None:
        shape.need_step(self.step, (*base, "step"))
        period = self._period()
        if period is None:
            shape.problem((*base, "every"), f"every '{self.every}' is not a period: write it as N weeks or N days, "
                                            "e.g. 'every: 4 weeks'")  # fmt: skip
        elif period < 1:
            shape.problem((*base, "every"), f"every '{self.every}' would schedule nothing: use 1 day or more")
        if self.on.strip().lower() not in WEEKDAYS:
            shape.problem((*base, "on"), f"'{self.on}' is not a day of the week"
                                         f"{did_you_mean(self.on.strip().lower(), WEEKDAYS)}")  # fmt: skip
        elif self._first() is None:
            shape.problem((*base, "from"), f"from '{self.from_}' is not a date: write it as YYYY-MM-DD")

    def apply(self, m: Model) -> Model:
        first, period = self._first(), self._period()
        assert first is not None and period is not None
        return replace(m, schedules={**m.schedules, self.step: (first, period)})


class PriorityWhere(_Doc):
    column: str
    equals: str


class SetPriority(_Doc):
    """With capacity, the cases with a case attribute go first at a step (say, the youngest children)."""

    step: str
    where: PriorityWhere

    def check(self, shape: _Shape, base: Where) -> None:
        shape.need_step(self.step, (*base, "step"))

    def apply(self, m: Model) -> Model:
        key = (self.where.column, self.where.equals)
        if key not in m.attribute_shares:
            raise FlowmapError(
                f"set_priority at '{self.step}' needs the case attribute '{self.where.column}' = "
                f"'{self.where.equals}', which the model does not know: simulate from events that have a "
                f"'{self.where.column}' column (a tracker column, case:{self.where.column}, or an XES trace "
                "attribute)"
            )
        return replace(m, priority={**m.priority, self.step: m.attribute_shares[key]})


class AddStep(_Doc):
    """A new step between two others (the move between them now passes through it)."""

    id: Slug
    label: str | None = None
    lane: str | None = None
    between: Annotated[list[Slug], Field(min_length=2, max_length=2)]
    typical: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    target: Days | None = None

    def check(self, shape: _Shape, base: Where) -> None:
        a, b = self.between
        if self.id in shape.steps:
            shape.problem((*base, "id"), f"step '{self.id}' already exists")
        if shape.need_step(a, (*base, "between", 0)) & shape.need_step(b, (*base, "between", 1)):
            if (a, b) not in shape.moves:
                shape.problem((*base, "between"), f"'{a} -> {b}' is not a move of the process, so there is nothing "
                                                  "to insert a step into")  # fmt: skip
            else:
                p = shape.moves.pop((a, b))
                shape.moves[(a, self.id)] = p
                shape.moves[(self.id, b)] = 1.0
                shape.steps.append(self.id)
        if self.lane is not None:
            shape.lanes.add(self.lane)

    def apply(self, m: Model) -> Model:
        a, b = self.between
        out = dict(m.moves.get(a, {}))
        p = out.pop(b, 0.0)
        out[self.id] = out.get(self.id, 0.0) + p
        return replace(
            m,
            steps=(*m.steps, self.id),
            lanes={**m.lanes, self.id: self.lane},
            durations={**m.durations, self.id: Duration("lognormal", median=self.typical)},
            moves={**m.moves, a: out, self.id: {b: 1.0}},
            step_targets={**m.step_targets, self.id: self.target},
            events={**m.events, self.id: self.label or self.id},
        )


class SetTarget(_Doc):
    """Try a different target: a span target's ``within``/``at_least``, or a step's ``target``."""

    target: Slug | None = None
    step: Slug | None = None
    within: Days | None = None
    at_least: Days | None = None
    days: Days | None = None

    @model_validator(mode="after")
    def _which(self) -> SetTarget:
        if (self.target is None) == (self.step is None):
            raise ValueError("set_target needs either 'target' (a span target id) or 'step'")
        if self.step is not None and self.days is None:
            raise ValueError("set_target for a step needs 'days'")
        if self.target is not None and (self.within is None) == (self.at_least is None):
            raise ValueError("set_target for a span target needs one of 'within' or 'at_least'")
        return self

    def check(self, shape: _Shape, base: Where) -> None:
        if self.target is not None and self.target not in shape.targets:
            shape.problem((*base, "target"),
                          f"unknown span target '{self.target}'{did_you_mean(self.target, shape.targets)}")  # fmt: skip
        if self.step is not None:
            shape.need_step(self.step, (*base, "step"))

    def apply(self, m: Model) -> Model:
        if self.step is not None:
            return replace(m, step_targets={**m.step_targets, self.step: self.days})
        return replace(m, targets=tuple(
            replace(t, within=self.within, at_least=self.at_least, within_months=None) if t.id == self.target
            else t
            for t in m.targets
        ))  # fmt: skip


@dataclass(frozen=True)
class RemoveStep:
    """Take a step out: its ways in and out are joined (``remove_step: STEP``)."""

    step: str

    def check(self, shape: _Shape, base: Where) -> None:
        process, sid = shape.process, self.step
        if not shape.need_step(sid, base):
            return
        if process.step(sid).start and sum(process.step(s).start for s in shape.steps if s in process.step_ids) == 1:
            shape.problem(base, f"'{sid}' is the only start step; it cannot be removed")
        if sid in process.step_ids and process.step(sid).end:
            shape.problem(base, f"'{sid}' is an end step; removing it would leave cases no end")
        ins = [a for a, b in shape.moves if b == sid]
        outs = [b for a, b in shape.moves if a == sid]
        for a in ins:
            for b in outs:
                if a != b:
                    shape.moves.setdefault((a, b), None)
        shape.moves = {k: v for k, v in shape.moves.items() if sid not in k}
        shape.steps.remove(sid)

    def apply(self, m: Model) -> Model:
        """Join the ways in and out: a move a->s->b becomes a->b with chance p(a,s)*p(s,b)."""
        sid = self.step
        out_s = m.moves.get(sid, {})
        moves: dict[str, dict[str, float]] = {}
        for a, outs in m.moves.items():
            if a == sid:
                continue
            new: dict[str, float] = {}
            for b, p in outs.items():
                if b == sid:
                    for c, q in out_s.items():
                        # s leading straight back to a: that share stays with a's other moves
                        new[c] = new.get(c, 0.0) + (p * q if c != a else 0.0)
                else:
                    new[b] = new.get(b, 0.0) + p
            total = sum(new.values())
            moves[a] = {k: v / total for k, v in new.items() if v > 0} if total > 0 else new
        starts: dict[str, float] = {}
        for a, p in m.starts.items():
            if a == sid:
                for c, q in out_s.items():
                    starts[c] = starts.get(c, 0.0) + p * q
            else:
                starts[a] = starts.get(a, 0.0) + p
        return replace(m, steps=tuple(s for s in m.steps if s != sid),
                       durations={k: v for k, v in m.durations.items() if k != sid}, moves=moves,
                       starts=starts)  # fmt: skip


class ChangeOperation(Protocol):
    """What every operation does: check itself against the process so far, and apply itself to a model."""

    def check(self, shape: _Shape, base: Where) -> None: ...

    def apply(self, m: Model) -> Model: ...


class Operation(_Doc):
    """One change: exactly one of these keys."""

    set_probability: SetProbability | None = None
    set_duration: SetDuration | None = None
    remove_step: Slug | None = None
    set_capacity: SetCapacity | None = None
    set_arrivals: SetArrivals | None = None
    add_step: AddStep | None = None
    set_target: SetTarget | None = None
    set_schedule: SetSchedule | None = None
    set_priority: SetPriority | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Operation:
        given = [k for k in type(self).model_fields if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "each change is one operation: set_probability, set_duration, remove_step, set_capacity, "
                f"set_arrivals, add_step, set_target, set_schedule or set_priority (found "
                f"{', '.join(given) or 'none'})"
            )
        return self

    @property
    def kind(self) -> str:
        return next(k for k in type(self).model_fields if getattr(self, k) is not None)

    @property
    def body(self) -> Any:
        return getattr(self, self.kind)

    @property
    def operation(self) -> ChangeOperation:
        """The operation itself, with its ``check`` and ``apply``."""
        body = self.body
        return RemoveStep(body) if self.kind == "remove_step" else body


class ChangeDoc(_Doc):
    """A flowmap change file, format 1."""

    flowmap_change: Literal[1] = Field(alias="flowmap-change")
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str | None = None
    changes: Annotated[list[Operation], Field(min_length=1)]


@dataclass(frozen=True)
class Change:
    """A validated change: its name and operations, in order."""

    name: str
    operations: tuple[Operation, ...]
    path: Path | None = None
    description: str | None = None

    def apply(self, model: Model) -> Model:
        """The model with each operation applied in order."""
        for op in self.operations:
            model = op.operation.apply(model)
        return model


def apply_change(model: Model, change: Change) -> Model:
    """The model with each operation of ``change`` applied in order."""
    return change.apply(model)


Where = tuple[str | int, ...]


@dataclass
class _Shape:
    """The process as a change file has changed it so far, while its operations are checked in order."""

    process: Process
    doc: LocatedDoc
    steps: list[str]
    lanes: set[str]
    moves: dict[tuple[str, str], float | None]
    targets: set[str]
    pinned: dict[str, dict[str, float]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def problem(self, where: Where, message: str) -> None:
        self.problems.append(self.doc.problem(where, message))

    def need_step(self, sid: str, where: Where) -> bool:
        if sid in self.steps:
            return True
        self.problem(where, f"unknown step '{sid}'{did_you_mean(sid, self.steps)}")
        return False


def change_schema() -> dict[str, Any]:
    schema = ChangeDoc.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "flowmap change file (format 1)"
    return schema


def load_change(path: str | Path, process: Process) -> Change:
    """Read and validate a change file against ``process``.

    Raises
    ------
    ChangeError
        With every problem found, each located as ``FILE:LINE:COLUMN``.
    """
    p = Path(path)
    try:
        text = read_text(p, what="change file")
    except SpecError as e:  # the same problems, reported as a change file's
        raise ChangeError(e.problems) from None
    return parse_change(text, process, file=str(p), path=p)


def parse_change(text: str, process: Process, *, file: str | None = None, path: Path | None = None) -> Change:
    """Validate change-file text against ``process``; see :func:`load_change`."""
    doc, parsed, problems = validate_document(
        text,
        source_name(file),
        ChangeDoc,
        shape="a change file: a mapping with 'flowmap-change: 1', 'name' and 'changes'",
        what="change file",
        first="flowmap-change: 1",
    )
    if doc is not None and parsed is not None:
        problems.extend(_against(doc, parsed, process))
    if problems or parsed is None:
        raise ChangeError(sorted(set(problems), key=lambda p: (p.line or 0, p.column or 0, p.message)))
    return Change(name=parsed.name, operations=tuple(parsed.changes), path=path, description=parsed.description)


def _against(doc: LocatedDoc, change: ChangeDoc, process: Process) -> list[Problem]:
    """Check the operations against the process, following steps added and removed in order."""
    shape = _Shape(process=process, doc=doc, steps=list(process.step_ids), lanes=set(process.lane_order),
                   moves={(t.from_step, t.to_step): t.probability for t in process.transitions},
                   targets={t.id for t in process.targets})  # fmt: skip
    for i, op in enumerate(change.changes):
        op.operation.check(shape, ("changes", i, op.kind))
    return shape.problems

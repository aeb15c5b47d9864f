"""Change files (``flowmap-change: 1``): a proposed change to a process, for simulation.

A change file lists operations applied in order to the model fitted from the
data (:mod:`flowmap.simulate`). It is validated like a process file, every
problem at once with ``FILE:LINE:COLUMN``, and then against the process it
changes: unknown steps (with "did you mean"), moves that do not exist, and
probabilities that would no longer add up to at most 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from flowmap.errors import ChangeError, Problem, SpecError, did_you_mean
from flowmap.files.yamldoc import LocatedDoc, read_text, source_name, validate_document
from flowmap.model.process import Process

__all__ = ["Change", "ChangeDoc", "change_schema", "load_change", "parse_change"]

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


class SetCapacity(_Doc):
    """Servers in a lane: durations become work time and queues form."""

    lane: str
    servers: Annotated[int, Field(ge=1, le=10_000)]


class SetArrivals(_Doc):
    per_week: Annotated[float, Field(gt=0, le=1_000_000, allow_inf_nan=False)]


class AddStep(_Doc):
    """A new step between two others (the move between them now passes through it)."""

    id: Slug
    label: str | None = None
    lane: str | None = None
    between: Annotated[list[Slug], Field(min_length=2, max_length=2)]
    typical: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    target: Days | None = None


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


class Operation(_Doc):
    """One change: exactly one of these keys."""

    set_probability: SetProbability | None = None
    set_duration: SetDuration | None = None
    remove_step: Slug | None = None
    set_capacity: SetCapacity | None = None
    set_arrivals: SetArrivals | None = None
    add_step: AddStep | None = None
    set_target: SetTarget | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Operation:
        given = [k for k in type(self).model_fields if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "each change is one operation: set_probability, set_duration, remove_step, set_capacity, "
                f"set_arrivals, add_step or set_target (found {', '.join(given) or 'none'})"
            )
        return self

    @property
    def kind(self) -> str:
        return next(k for k in type(self).model_fields if getattr(self, k) is not None)

    @property
    def body(self) -> Any:
        return getattr(self, self.kind)


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
    probs: list[Problem] = []
    steps = list(process.step_ids)
    lanes = set(process.lane_order)
    moves = {(t.from_step, t.to_step): t.probability for t in process.transitions}
    targets = {t.id for t in process.targets}
    pinned: dict[str, dict[str, float]] = {}

    def need_step(sid: str, where: tuple[str | int, ...]) -> bool:
        if sid in steps:
            return True
        probs.append(doc.problem(where, f"unknown step '{sid}'{did_you_mean(sid, steps)}"))
        return False

    for i, op in enumerate(change.changes):
        base: tuple[str | int, ...] = ("changes", i, op.kind)
        body = op.body
        if op.kind == "set_probability":
            ok = need_step(body.from_, (*base, "from")) & need_step(body.to, (*base, "to"))
            if ok and (body.from_, body.to) not in moves:
                outs = [b for a, b in moves if a == body.from_]
                probs.append(doc.problem(base, f"'{body.from_} -> {body.to}' is not a move of the process; moves out "
                                               f"of '{body.from_}' go to {', '.join(outs) or 'no step'}"))  # fmt: skip
            elif ok:
                # Probabilities set in this file are pinned; the unpinned moves share what is left.
                pinned.setdefault(body.from_, {})[body.to] = body.probability
                total = sum(pinned[body.from_].values())
                if total > 1 + 1e-9:
                    probs.append(doc.problem((*base, "probability"), f"the probabilities this file sets for moves "
                                             f"out of '{body.from_}' add up to {total:g}; they must add up to at "
                                             "most 1"))  # fmt: skip
                moves[(body.from_, body.to)] = body.probability
        elif op.kind == "set_duration":
            need_step(body.step, (*base, "step"))
        elif op.kind == "remove_step":
            if need_step(body, base):
                if process.step(body).start and sum(process.step(s).start for s in steps if s in process.step_ids) == 1:
                    probs.append(doc.problem(base, f"'{body}' is the only start step; it cannot be removed"))
                if body in process.step_ids and process.step(body).end:
                    probs.append(doc.problem(base, f"'{body}' is an end step; removing it would leave cases no end"))
                ins = [a for a, b in moves if b == body]
                outs = [b for a, b in moves if a == body]
                for a in ins:
                    for b in outs:
                        if a != b:
                            moves.setdefault((a, b), None)
                moves = {k: v for k, v in moves.items() if body not in k}
                steps.remove(body)
        elif op.kind == "set_capacity":
            if body.lane not in lanes:
                known = ", ".join(sorted(lanes)) or "none (set lane: on steps)"
                hint = did_you_mean(body.lane, lanes)
                probs.append(doc.problem((*base, "lane"), f"unknown lane '{body.lane}'{hint}; lanes are {known}"))
        elif op.kind == "add_step":
            a, b = body.between
            if body.id in steps:
                probs.append(doc.problem((*base, "id"), f"step '{body.id}' already exists"))
            if need_step(a, (*base, "between", 0)) & need_step(b, (*base, "between", 1)):
                if (a, b) not in moves:
                    probs.append(doc.problem((*base, "between"), f"'{a} -> {b}' is not a move of the process, so "
                                                                 "there is nothing to insert a step into"))  # fmt: skip
                else:
                    p = moves.pop((a, b))
                    moves[(a, body.id)] = p
                    moves[(body.id, b)] = 1.0
                    steps.append(body.id)
            if body.lane is not None:
                lanes.add(body.lane)
        elif op.kind == "set_target":
            if body.target is not None and body.target not in targets:
                probs.append(doc.problem((*base, "target"), f"unknown span target '{body.target}'"
                                                            f"{did_you_mean(body.target, targets)}"))  # fmt: skip
            if body.step is not None:
                need_step(body.step, (*base, "step"))
    return probs

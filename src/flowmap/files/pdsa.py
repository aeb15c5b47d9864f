"""PDSA logs (``flowmap-pdsa: 1``): the tests of change a team ran, to mark on charts and in reports."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from flowmap.errors import Problem, SpecError
from flowmap.files.yamldoc import read_text, source_name, validate_document

__all__ = ["Cycle", "PdsaLog", "Prediction", "load_pdsa", "parse_pdsa", "pdsa_schema"]

Slug = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", max_length=40)]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)


Number = Annotated[float, Field(allow_inf_nan=False)]


class PredictionDoc(_Doc):
    """What the team predicted a target would do during the cycle: a value, a range, or both."""

    target: Slug = Field(description="A span target of the process.")
    measure: Literal["met_rate", "median_days"] = Field(description="met_rate (0..1) or median_days.")
    value: Number | None = Field(None, description="The predicted figure.")
    between: Annotated[list[Number], Field(min_length=2, max_length=2)] | None = Field(
        None, description="[LOW, HIGH]: the range the figure is predicted to fall in."
    )

    @model_validator(mode="after")
    def _given(self) -> PredictionDoc:
        if self.value is None and self.between is None:
            raise ValueError("a prediction needs 'value', 'between' or both")
        if self.between is not None and self.between[0] > self.between[1]:
            raise ValueError(f"'between' goes from low to high (got {self.between[0]:g} > {self.between[1]:g})")
        return self


class CycleDoc(_Doc):
    """One Plan-Do-Study-Act cycle: a test of change."""

    id: Slug = Field(description="Short id shown on charts, e.g. PDSA-1.")
    title: Annotated[str, Field(min_length=1, max_length=120)]
    start: dt.date = Field(description="Date the test started (YYYY-MM-DD); charts mark it here.")
    end: dt.date | None = Field(None, description="Date the test ended, if it has.")
    change: str | None = Field(None, description="What was changed.")
    steps: list[str] = Field([], description="Steps of the process the change touches.")
    targets: list[str] = Field([], description="Span targets it is meant to move.")
    prediction: str | None = None
    predictions: list[PredictionDoc] = Field([], description="Predictions flowmap scores (`flowmap pdsa`).")
    result: str | None = Field(None, description="What was learned.")
    decision: Literal["adopt", "adapt", "abandon"] | None = Field(None, description="What the team decided.")

    @model_validator(mode="after")
    def _order(self) -> CycleDoc:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"'end' ({self.end}) is before 'start' ({self.start})")
        return self


class PdsaDoc(_Doc):
    flowmap_pdsa: Literal[1] = Field(alias="flowmap-pdsa")
    project: str | None = None
    cycles: Annotated[list[CycleDoc], Field(min_length=1)]


@dataclass(frozen=True)
class Prediction:
    """A scoreable prediction: a span target's met rate or median days, as a value, a range, or both."""

    target: str
    measure: Literal["met_rate", "median_days"]
    value: float | None = None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Cycle:
    id: str
    title: str
    start: dt.date
    end: dt.date | None = None
    change: str | None = None
    steps: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    prediction: str | None = None
    result: str | None = None
    predictions: tuple[Prediction, ...] = ()
    decision: str | None = None


@dataclass(frozen=True)
class PdsaLog:
    cycles: tuple[Cycle, ...]
    project: str | None = None
    path: Path | None = None

    def cycle(self, cycle_id: str) -> Cycle:
        """The cycle with this id; an error naming the cycles there are when there is none."""
        for c in self.cycles:
            if c.id == cycle_id:
                return c
        from flowmap.errors import FlowmapError, did_you_mean

        ids = [c.id for c in self.cycles]
        where = f" in {self.path}" if self.path else ""
        raise FlowmapError(f"no cycle '{cycle_id}'{where}{did_you_mean(cycle_id, ids)}; cycles are: {', '.join(ids)}")


def pdsa_schema() -> dict[str, Any]:
    schema = PdsaDoc.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "flowmap PDSA log (format 1)"
    return schema


def load_pdsa(path: str | Path) -> PdsaLog:
    p = Path(path)
    return parse_pdsa(read_text(p, what="PDSA log"), file=str(p), path=p)


def parse_pdsa(text: str, *, file: str | None = None, path: Path | None = None) -> PdsaLog:
    """Validate a PDSA log; every problem at once, located. Cycle ids must be unique."""
    doc, parsed, problems = validate_document(
        text,
        source_name(file),
        PdsaDoc,
        shape="a PDSA log: a mapping with 'flowmap-pdsa: 1' and 'cycles'",
        what="PDSA log",
        first="flowmap-pdsa: 1",
    )
    if doc is None or parsed is None or problems:
        raise SpecError(problems)
    seen: dict[str, int] = {}
    dupes: list[Problem] = []
    for i, c in enumerate(parsed.cycles):
        if c.id in seen:
            dupes.append(doc.problem(("cycles", i, "id"), f"duplicate cycle id '{c.id}'"))
        seen[c.id] = i
    if dupes:
        raise SpecError(dupes)
    cycles = tuple(
        Cycle(c.id, c.title, c.start, c.end, c.change, tuple(c.steps), tuple(c.targets), c.prediction, c.result,
              predictions=tuple(Prediction(p.target, p.measure, p.value, *(p.between or (None, None)))
                                for p in c.predictions),
              decision=c.decision)
        for c in sorted(parsed.cycles, key=lambda c: (c.start, c.id))
    )  # fmt: skip
    return PdsaLog(cycles=cycles, project=parsed.project, path=path)

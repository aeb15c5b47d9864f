"""The process model: steps, swimlanes, transitions and targets.

A :class:`Process` is what a process file declares, after validation: frozen,
hashable where it matters, and with a networkx view of its graph. Everything
downstream (replay, metrics, simulation, maps) reads these objects, never the
YAML.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from flowmap.model.calendars import CLOCKS, Clock

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "BASES",
    "BASIS_WORDS",
    "CLOCKS",
    "Basis",
    "Clock",
    "Process",
    "SpanTarget",
    "Step",
    "Transition",
    "by_basis",
    "default_roles",
    "normalise_name",
]


def normalise_name(name: str) -> str:
    """Event-name key: case-folded, outer spaces stripped, inner runs of spaces collapsed.

    Examples
    --------
    >>> normalise_name("  Legal   Advice NEEDED ")
    'legal advice needed'
    """
    return " ".join(str(name).split()).casefold()


Basis = Literal["statute", "guidance", "local", "assumption"]
BASES: tuple[Basis, ...] = ("statute", "guidance", "local", "assumption")
"""What a target rests on, in the order summaries list them: the law first."""
BASIS_WORDS = {
    "statute": "statutory",
    "guidance": "national guidance",
    "local": "local aim",
    "assumption": "assumption",
}


@dataclass(frozen=True)
class Step:
    """One step of a process; a case is *in* a step from one entry to the next."""

    id: str
    label: str
    lane: str | None = None
    start: bool = False
    end: bool = False
    events: tuple[str, ...] = ()
    target: float | None = None
    typical: float | None = None
    column: str | None = None
    source: str | None = None
    description: str | None = None
    basis: Basis | None = None
    target_months: int | None = None  # a target written in months: ``target`` is then its nominal days


@dataclass(frozen=True)
class Transition:
    """A declared move from one step to another."""

    from_step: str
    to_step: str
    label: str | None = None
    probability: float | None = None


@dataclass(frozen=True)
class SpanTarget:
    """A clock between two steps: from the first entry to ``from_step`` to the
    first entry to ``to_step`` after it.

    ``within`` is a ceiling (met when days <= within). ``at_least`` is a floor
    (met when days >= at_least), for lead times such as "advice at least 7 days
    before the meeting". Exactly one of them is set.
    """

    id: str
    from_step: str
    to_step: str
    label: str | None = None
    within: float | None = None
    at_least: float | None = None
    clock: Clock = "calendar_days"
    source: str | None = None
    aim: float | None = None  # the share of cases the team aims to meet it for (0..1), drawn on rate charts
    basis: Basis | None = None
    within_months: int | None = None  # a limit written in months: ``within`` is then its nominal days

    @property
    def bound_text(self) -> str:
        """The limit as written: "within 3 months", "within 10 working days", "at least 7 days"."""
        if self.within_months is not None:
            return f"within {self.within_months} month{'s' if self.within_months != 1 else ''}"
        unit = "working days" if self.clock == "working_days" else "days"
        if self.within is not None:
            return f"within {self.within:g} {unit}"
        return f"at least {self.at_least:g} {unit}"

    @property
    def display_label(self) -> str:
        return self.label or self.id

    @property
    def basis_words(self) -> str:
        """The basis as a reader says it: "statutory", "national guidance", "local aim", "assumption"."""
        return BASIS_WORDS.get(self.basis or "", "basis not stated")


def by_basis(targets: Iterable[SpanTarget]) -> list[SpanTarget]:
    """Targets statutory first, then guidance, local aims, assumptions, then those with no basis; file order within."""
    return sorted(targets, key=lambda t: BASES.index(t.basis) if t.basis else len(BASES))


def default_roles(
    step_ids: Sequence[str],
    edges: Iterable[tuple[str, str]],
    *,
    explicit_start: Iterable[str] = (),
    explicit_end: Iterable[str] = (),
) -> tuple[tuple[str, ...], frozenset[str]]:
    """Start and end steps: those marked, or by default the steps with no way in and no way out.

    The one statement of the rule, used by validation and by the model built
    after it. ``edges`` may include moves whose other end is unknown (a
    mistake already reported), so that one mistake gives one message.

    Examples
    --------
    >>> default_roles(["a", "b", "c"], [("a", "b"), ("b", "c"), ("c", "b")])
    (('a',), frozenset())
    >>> default_roles(["a", "b"], [("a", "b")], explicit_end=["b"])
    (('a',), frozenset({'b'}))
    """
    edges = list(edges)
    has_in = {b for _, b in edges}
    has_out = {a for a, _ in edges}
    starts = tuple(explicit_start) or tuple(s for s in step_ids if s not in has_in)
    ends = frozenset(explicit_end) or frozenset(s for s in step_ids if s not in has_out)
    return starts, ends


@dataclass(frozen=True)
class Process:
    """A declared process: the contract that event data is replayed against."""

    id: str
    title: str
    steps: tuple[Step, ...]
    transitions: tuple[Transition, ...] = ()
    targets: tuple[SpanTarget, ...] = ()
    clock: Clock = "calendar_days"
    calendar: str = "scotland"
    timezone: str = "Europe/London"
    lanes: tuple[str, ...] = ()
    description: str | None = None
    path: Path | None = field(default=None, compare=False)

    # --- lookups -----------------------------------------------------------

    @cached_property
    def step_index(self) -> Mapping[str, int]:
        """Position of each step in the file; it breaks same-day ties."""
        return {s.id: i for i, s in enumerate(self.steps)}

    def step(self, step_id: str) -> Step:
        return self.steps[self.step_index[step_id]]

    @property
    def step_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.steps)

    @cached_property
    def start_steps(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.steps if s.start)

    @cached_property
    def end_steps(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.steps if s.end)

    @cached_property
    def event_map(self) -> Mapping[str, str]:
        """Normalised event name -> step id."""
        return {normalise_name(e): s.id for s in self.steps for e in s.events}

    @cached_property
    def declared(self) -> frozenset[tuple[str, str]]:
        return frozenset((t.from_step, t.to_step) for t in self.transitions)

    def transition(self, from_step: str, to_step: str) -> Transition | None:
        for t in self.transitions:
            if t.from_step == from_step and t.to_step == to_step:
                return t
        return None

    def is_rework(self, from_step: str, to_step: str) -> bool:
        """A move back (or sideways) in declared step order, or one labelled rework."""
        idx = self.step_index
        if idx[to_step] <= idx[from_step]:
            return True
        t = self.transition(from_step, to_step)
        return t is not None and t.label is not None and "rework" in t.label.casefold()

    def target(self, target_id: str) -> SpanTarget:
        for t in self.targets:
            if t.id == target_id:
                return t
        raise KeyError(target_id)

    @cached_property
    def lane_order(self) -> tuple[str, ...]:
        """Declared lanes first, then any others in order of first use."""
        seen = list(self.lanes)
        for s in self.steps:
            if s.lane is not None and s.lane not in seen:
                seen.append(s.lane)
        return tuple(seen)

    @cached_property
    def graph(self) -> nx.DiGraph:
        """A networkx view: nodes carry step attributes, edges transition attributes."""
        import networkx as nx

        g = nx.DiGraph(id=self.id, title=self.title)
        for s in self.steps:
            g.add_node(s.id, label=s.label, lane=s.lane, start=s.start, end=s.end, target=s.target)
        for t in self.transitions:
            g.add_edge(t.from_step, t.to_step, label=t.label, probability=t.probability)
        return g

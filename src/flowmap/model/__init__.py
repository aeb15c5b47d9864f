"""The model layer: what a process is, and how its days are counted.

Owns :class:`Process`, :class:`Step`, :class:`Transition`, :class:`SpanTarget`
(:mod:`flowmap.model.process`) and the clocks and calendars with their wording
(:mod:`flowmap.model.clock`). Imports nothing else of flowmap but
:mod:`flowmap.errors`.
"""

from flowmap.model.process import Process, SpanTarget, Step, Transition, normalise_name

__all__ = ["Process", "SpanTarget", "Step", "Transition", "normalise_name"]

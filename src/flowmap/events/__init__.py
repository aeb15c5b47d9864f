"""The events layer: event files in, every row accounted for.

Owns :func:`~flowmap.events.read.read_events` and one reader per format
(:mod:`flowmap.events.readers`), dates as people write them
(:mod:`flowmap.events.dates`), the ledger (:mod:`flowmap.events.ledger`) and
``check`` (:mod:`flowmap.analysis.check`). May import :mod:`flowmap.model`,
:mod:`flowmap.io`, :mod:`flowmap.privacy` and :mod:`flowmap.errors`; ``check``
also runs a replay, so it lives in :mod:`flowmap.analysis`'s reach (see
docs/architecture.md).
"""

"""The analysis layer: replay events against a process, and the tables that follow.

Owns :func:`~flowmap.analysis.replay.replay` and :class:`Replay` with its
public accessors, drift, audit and map metrics (:mod:`flowmap.analysis.metrics`),
``check`` (the ledger, with a process the unknown events too), ``discover``
and the Dask engine. May import :mod:`flowmap.events`,
:mod:`flowmap.files`, :mod:`flowmap.model` and the utilities.
"""

"""The simulation layer: a model fitted from a replay, change files, seeded runs.

Owns model fitting, change files and their operations
(:mod:`flowmap.simulation.change`), the engines, typed results and ``synth``.
May import :mod:`flowmap.analysis` and everything below it.
"""

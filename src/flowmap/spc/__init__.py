"""The SPC layer: series, run-chart and XmR rules, chart figures.

May import :mod:`flowmap.analysis` and everything below it.
"""

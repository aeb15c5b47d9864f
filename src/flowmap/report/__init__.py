"""The report layer: the one-file HTML report.

May import every layer but :mod:`flowmap.cli`.
"""

"""Shared fixtures: the repository's bundled processes and one small running example."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, settings

# Property tests run on a loaded 2-core CI machine: a generous per-example deadline (a real
# slowdown still fails) and no too-slow health check, for every Hypothesis test at once.
settings.register_profile("flowmap", deadline=timedelta(seconds=10), suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("flowmap")

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = ROOT / "processes"
LOGS = Path(__file__).resolve().parent / "data" / "logs"
GOLDEN = Path(__file__).resolve().parent / "golden"
REGEN = os.environ.get("FLOWMAP_REGEN_GOLDEN") == "1"

# The running example used across tests and docs (docs/process-format.md).
RUNNING_EXAMPLE = """\
flowmap: 1                       # format version, required
id: legal-advice                 # slug, required
title: Requesting and receiving legal advice
clock: working_days              # calendar_days (default) or working_days
calendar: scotland               # holiday calendar for working days (default: scotland)
timezone: Europe/London          # local time for dates (default)
lanes: [Social Work, Legal]      # optional; order of swimlanes on the map
steps:                           # order matters: it breaks same-day ties
  - id: need_identified          # slug, unique
    label: Need for legal advice agreed
    lane: Social Work
    start: true                  # a case may begin here (default: steps with no way in)
    events: [legal advice needed, PPM action]   # names that mark entry (default: id and label)
    target: 10                   # days allowed in this step, in the process clock (optional)
    typical: 6                   # median days, used to simulate when no data exists (optional)
  - id: bundle_sent
    label: Referral form and all reports sent to Legal
    lane: Social Work
  - id: info_requested
    label: Legal asks for more information
    lane: Legal
    target: 5
  - id: advice_issued
    label: Written advice issued
    lane: Legal
    end: true                    # a case that reaches an end step is complete
transitions:
  - need_identified -> bundle_sent
  - bundle_sent -> advice_issued
  - {from: bundle_sent, to: info_requested, label: rework, probability: 0.4}
  - info_requested -> bundle_sent
targets:                         # clocks between any two steps
  - id: legal_turnaround
    label: Advice within 8 working days of a complete referral
    from: bundle_sent            # starts at the first entry to `from`
    to: advice_issued            # stops at the first entry to `to` after that
    within: 8                    # days, in the target's clock (default: the process clock)
    source: South Ayrshire referral-form aim
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def example_text() -> str:
    return RUNNING_EXAMPLE


@pytest.fixture
def example_file(tmp_path: Path) -> Path:
    p = tmp_path / "legal.yaml"
    p.write_text(RUNNING_EXAMPLE, encoding="utf-8")
    return p


@pytest.fixture
def example_process(example_text: str):  # type: ignore[no-untyped-def]
    from flowmap.files.process import parse_process

    return parse_process(example_text, file="legal.yaml")


def log_file(name: str) -> Path:
    """A public log kept in tests/data/logs (see its README); the receipt logs are kept gzipped."""
    p = LOGS / name
    if not p.exists() and (LOGS / f"{name}.gz").exists():
        p = LOGS / f"{name}.gz"
    assert p.exists(), f"{p} is missing from the repository"
    return p


def golden(name: str, actual: str) -> None:
    """Compare ``actual`` with tests/golden/NAME; FLOWMAP_REGEN_GOLDEN=1 (make golden) rewrites it."""
    path = GOLDEN / name
    if REGEN or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8", newline="")
        if not REGEN:
            pytest.fail(f"golden file {path} was missing and has been written; check it and commit it")
    assert actual == path.read_text(encoding="utf-8"), (
        f"{name} differs from its golden file; run `make golden` if intended"
    )

"""Time as instants, clocks in local dates (docs/events.md, "Time zones").

The reproducers of issue 16: events in the hour the clocks repeat keep their
order, a day across a clock change is 24 hours, Dutch data is dated in Dutch
time when asked, and `discover` names the zone the data's offsets follow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from flowmap.analysis.discover import draft
from flowmap.analysis.replay import replay
from flowmap.cli import cli
from flowmap.errors import FlowmapError
from flowmap.events.dates import check_timezone, read_times
from flowmap.events.read import read_events
from flowmap.files.process import parse_process

TWO_STEPS = parse_process("""
flowmap: 1
id: two
title: Two steps
steps:
  - {id: a, events: [A], target: 1}
  - {id: b, events: [B]}
transitions: [a -> b]
""")


def frame(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["case_id", "event", "timestamp"])


def test_events_in_the_repeated_autumn_hour_keep_their_order() -> None:
    # 00:30Z is 01:30 BST and 01:10Z is 01:10 GMT: wall time alone would put B first
    result = replay(TWO_STEPS, frame(("1", "A", "2024-10-27T00:30:00Z"), ("1", "B", "2024-10-27T01:10:00Z")))
    assert result.paths.tolist() == ["a>b"]
    assert result.deviations.empty
    assert result.visits["days"].iloc[0] == pytest.approx(40 / 1440)
    assert [str(t)[:16] for t in result.visits["entered"]] == ["2024-10-27 01:30", "2024-10-27 01:10"]


@pytest.mark.parametrize(("start", "end"), [("2024-03-30T12:00Z", "2024-03-31T12:00Z"),
                                            ("2024-10-26T12:00Z", "2024-10-27T12:00Z"),
                                            ("2024-03-30T12:00:00+00:00", "2024-03-31T13:00:00+01:00")])  # fmt: skip
def test_a_day_across_either_clock_change_is_one_day(start: str, end: str) -> None:
    result = replay(TWO_STEPS, frame(("1", "A", start), ("1", "B", end)))
    assert result.visits["days"].iloc[0] == 1.0
    assert result.visits["days_over"].iloc[0] == 0.0  # the one-day target is met, not missed by an hour


def test_dates_without_times_count_whole_calendar_days_across_a_clock_change() -> None:
    result = replay(TWO_STEPS, frame(("1", "A", "30/03/2024"), ("1", "B", "02/04/2024")))
    assert result.visits["days"].iloc[0] == 3.0
    assert "utc_offset" not in read_events(frame(("1", "A", "30/03/2024"), ("1", "B", "02/04/2024"))).events


def test_span_clocks_are_elapsed_time_too() -> None:
    process = parse_process("""
flowmap: 1
id: span
title: Span
steps:
  - {id: a, events: [A]}
  - {id: b, events: [B]}
  - {id: c, events: [C]}
transitions: [a -> b, b -> c]
targets:
  - {id: ac, from: a, to: c, within: 2}
""")
    result = replay(process, frame(("1", "A", "2024-03-30T12:00Z"), ("1", "B", "2024-03-31T00:30Z"),
                                   ("1", "C", "2024-04-01T12:00Z")))  # fmt: skip
    assert result.spans["days"].iloc[0] == 2.0 and result.spans["status"].iloc[0] == "met"


def test_times_without_an_offset_in_a_skipped_or_repeated_hour_follow_the_rule_and_are_noted() -> None:
    t = read_times(pd.Series(["2024-03-31 01:30", "2024-10-27 01:30", "2024-10-27 02:30"]))
    assert t.nonexistent.tolist() == [True, False, False]
    assert t.ambiguous.tolist() == [False, True, False]
    # spring: read as if the clock had not gone forward (01:30 GMT = 02:30 BST); autumn: the first time round
    assert [str(x)[:16] for x in t.instants] == ["2024-03-31T01:30", "2024-10-27T00:30", "2024-10-27T02:30"]
    assert [str(x)[:16] for x in t.local] == ["2024-03-31T02:30", "2024-10-27T01:30", "2024-10-27T02:30"]
    log = read_events(frame(("1", "A", "2024-03-31 01:30"), ("1", "B", "2024-10-27 01:30")))
    notes = " ".join(log.ledger.notes)
    assert "1 time without an offset fell in the hour Europe/London's clocks skip" in notes
    assert "1 time without an offset fell in the hour Europe/London's clocks repeat" in notes


DUTCH = frame(("c1", "A_SUBMITTED", "2011-10-01T00:38:44.546+02:00"),
              ("c1", "A_PARTLYSUBMITTED", "2011-10-01T00:38:44.880+02:00"),
              ("c1", "A_DECLINED", "2011-10-01T00:39:37.906+02:00"),
              ("c2", "A_SUBMITTED", "2011-11-03T09:00:00.000+01:00"),
              ("c2", "A_DECLINED", "2011-11-04T09:00:00.000+01:00"))  # fmt: skip


def test_dutch_data_is_dated_in_the_time_zone_asked_for(tmp_path: Path) -> None:
    london = read_events(DUTCH)
    assert str(london.events["timestamp"].min().date()) == "2011-09-30"  # 23:38 in London
    dutch = read_events(DUTCH, timezone="Europe/Amsterdam")
    assert str(dutch.events["timestamp"].min().date()) == "2011-10-01"
    # the instants are the same whatever the zone
    a = london.events["timestamp"] - pd.to_timedelta(london.events.get("utc_offset", 0), unit="s")
    b = dutch.events["timestamp"] - pd.to_timedelta(dutch.events.get("utc_offset", 0), unit="s")
    assert (a == b).all()
    path = tmp_path / "bpic.csv"
    DUTCH.to_csv(path, index=False)
    out = CliRunner().invoke(cli, ["replay", str(_draft_file(tmp_path, path)), str(path), "--timezone",
                                   "europe/amsterdam", "--visits", str(tmp_path / "v.csv")])  # fmt: skip
    assert out.exit_code == 0, out.output
    visits = (tmp_path / "v.csv").read_text()
    assert "2011-10-01" in visits and "2011-09-30" not in visits


def _draft_file(tmp_path: Path, events: Path) -> Path:
    out = tmp_path / "draft.yaml"
    r = CliRunner().invoke(cli, ["discover", str(events), "-o", str(out)])
    assert r.exit_code == 0, r.output
    return out


def test_discover_names_the_zone_the_data_follows(tmp_path: Path) -> None:
    path = tmp_path / "bpic.csv"
    DUTCH.to_csv(path, index=False)
    r = CliRunner().invoke(cli, ["discover", str(path), "-o", str(tmp_path / "d.yaml")])
    assert "timezone: CET, because the data's UTC offsets (+01:00, +02:00) change on the dates CET's clocks do" in (
        r.output
    )
    text = (tmp_path / "d.yaml").read_text()
    assert "\ntimezone: CET  #" in text and "events from 2011-10-01 to 2011-11-04" in text
    assert parse_process(text).timezone == "CET"
    # one offset throughout: a fixed zone; --timezone wins when the offsets agree with it
    one = frame(("1", "A", "2024-01-05T10:00:00+01:00"), ("1", "B", "2024-01-06T10:00:00+01:00"))
    assert draft(read_events(one, guess_zone=True)).text.count("timezone: Etc/GMT-1  #") == 1
    given = draft(read_events(one, guess_zone=True, timezone="Europe/Paris")).text
    assert "timezone: Europe/Paris  # the data's UTC offsets agree with --timezone Europe/Paris" in given
    # offsets that change and a --timezone that does not follow them: the zone asked for, as the issue orders it
    chosen = draft(read_events(DUTCH, guess_zone=True, timezone="Europe/London")).text
    assert "timezone: Europe/London  # the time zone the data was read in (Europe/London)" in chosen
    # no offsets: the zone it was read in, said so
    plain = draft(read_events(frame(("1", "A", "2024-01-05"), ("1", "B", "2024-01-06")), guess_zone=True))
    assert "timezone: Europe/London  # the time zone the data was read in (Europe/London)" in plain.text


def test_an_unknown_time_zone_gets_a_did_you_mean_and_no_traceback(tmp_path: Path) -> None:
    with pytest.raises(FlowmapError, match="did you mean 'Europe/London'"):
        check_timezone("Europe/Londn")
    path = tmp_path / "l.csv"
    DUTCH.to_csv(path, index=False)
    for command in (["check", str(path)], ["discover", str(path), "-o", str(tmp_path / "d.yaml")]):
        r = CliRunner().invoke(cli, [*command, "--timezone", "Europe/Amsterdm"])
        assert r.exit_code == 2 and "did you mean 'Europe/Amsterdam'" in r.output
        assert "Traceback" not in r.output
    with pytest.raises(FlowmapError, match="unknown time zone 'Mars/Olympus'; time zones are IANA names"):
        read_events(DUTCH, timezone="Mars/Olympus")


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xes"])
def test_exported_times_read_back_as_the_same_instants(suffix: str, tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    DUTCH.to_csv(path, index=False)
    out = tmp_path / f"out{suffix}"
    r = CliRunner().invoke(cli, ["export", str(path), "-o", str(out), "--timezone", "Europe/Amsterdam"])
    assert r.exit_code == 0, r.output
    before = read_events(path, timezone="Europe/Amsterdam").events
    after = read_events(out, timezone="Europe/Amsterdam").events
    for col in ("case_id", "event", "timestamp", "utc_offset"):
        assert before[col].astype(str).tolist() == after[col].astype(str).tolist(), col


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=-3 * 3600, max_value=3 * 3600), min_size=2, max_size=12),
       st.sampled_from(["2024-03-31T01:00Z", "2024-10-27T01:00Z", "2023-03-26T01:00Z"]),
       st.sampled_from(["Europe/London", "Europe/Amsterdam", "America/New_York"]))  # fmt: skip
def test_zoned_times_order_by_instant_whatever_the_wall_clock_says(seconds: list[int], change: str, tz: str) -> None:
    base = pd.Timestamp(change)
    instants = sorted({base + pd.Timedelta(seconds=s) for s in seconds})
    zoned = [t.tz_convert(tz).isoformat() for t in instants]  # wall time with its own offset
    names = [f"E{i:02d}" for i in range(len(zoned))]
    events = pd.DataFrame({"case_id": "1", "event": names, "timestamp": zoned}).iloc[::-1]  # rows out of order
    t = read_times(events["timestamp"].reset_index(drop=True), timezone=tz)
    assert sorted(str(x) for x in t.instants) == [str(np.datetime64(i.tz_localize(None), "ns")) for i in instants]
    steps = "\n".join(f"  - {{id: e{i:02d}, events: [E{i:02d}]}}" for i in range(len(names)))
    moves = ", ".join(f"e{i:02d} -> e{i + 1:02d}" for i in range(len(names) - 1))
    process = parse_process(f"flowmap: 1\nid: p\ntitle: P\ntimezone: {tz}\nsteps:\n{steps}\ntransitions: [{moves}]\n")
    result = replay(process, events)
    assert result.paths.tolist() == [">".join(n.lower() for n in names)]
    days = result.visits["days"].to_numpy()[:-1]
    expected = np.diff([i.value for i in instants]) / 86_400e9
    assert np.allclose(days, expected, rtol=0, atol=1e-12)


def test_a_paths_median_duration_is_elapsed_time_across_a_clock_change() -> None:
    from flowmap.analysis.variants import case_days

    process = parse_process("""
flowmap: 1
id: two-end
title: Two steps, the second the end
steps:
  - {id: a, events: [A]}
  - {id: b, events: [B], end: true}
transitions: [a -> b]
""")
    result = replay(process, frame(("1", "A", "2024-03-30T12:00Z"), ("1", "B", "2024-03-31T12:00Z"),
                                   ("2", "A", "2024-03-30T12:00Z"), ("2", "B", "2024-03-30T18:00Z")))  # fmt: skip
    assert case_days(result).tolist() == [1.0, 0.25]


def test_an_open_visit_measured_to_an_as_of_date_across_a_clock_change_is_elapsed_time() -> None:
    """Every event in winter (one UTC offset, so no utc_offset column), the as-of date in summer: the open
    visit lasts the elapsed time, an hour less than the wall clocks say, whichever other cases are in the log."""
    from flowmap.analysis.replay import replay
    from flowmap.events.read import read_events
    from flowmap.files.process import parse_process

    p = parse_process("flowmap: 1\nid: t\nclock: calendar_days\nsteps:\n  - {id: a, start: true}\n"
                      "  - {id: b, end: true}\ntransitions:\n  - a -> b\n")  # fmt: skip
    winter = pd.DataFrame({"case_id": ["c1"], "event": ["a"], "timestamp": [pd.Timestamp("2024-01-01 12:00")]})
    log = read_events(winter, process=p)
    assert log.fixed_offset == 0 and "utc_offset" not in log.events
    r = replay(p, log, as_of="2024-04-01")
    assert r.visits["days"].iloc[0] == pytest.approx(90.5 - 1 / 24)  # to midnight BST, 23:00 UTC
    both = pd.concat([winter, pd.DataFrame({"case_id": ["c2"], "event": ["a"],
                                            "timestamp": [pd.Timestamp("2024-04-01 09:00")]})])  # fmt: skip
    r2 = replay(p, read_events(both, process=p), as_of="2024-04-01")
    assert r2.visits["days"].iloc[0] == r.visits["days"].iloc[0]

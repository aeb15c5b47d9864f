"""One self-contained HTML report: summary, map, drift points, open cases, run charts, PDSA, simulation, ledger.

Everything is inline (SVG figures, CSS); there are no scripts and no links
to fetch, so the file opens offline and prints on A4. Every string from data
or files is escaped by the template (jinja2 autoescape); the figures are SVG
that flowmap wrote with its own escaping. The same inputs give the same bytes:
there is no time stamp, and the simulation is seeded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from markupsafe import Markup, escape

from flowmap import __version__
from flowmap.analysis.disclosure import protected_counts
from flowmap.analysis.metrics import audit, drift, map_metrics
from flowmap.analysis.replay import Replay
from flowmap.errors import FlowmapError
from flowmap.files.pdsa import PdsaLog
from flowmap.model.calendars import days_word
from flowmap.privacy import SECONDARY_NOTE, Protected, coarsen_dates, coarsen_text, pseudonymise, suppress
from flowmap.render.layout import Renderer
from flowmap.render.maps import render_map
from flowmap.report.words import method_notes, summary_sentences
from flowmap.simulation.change import Change
from flowmap.spc.charts import chart_figure, coarsen_series, pseudonymise_series, run_chart, target_series

__all__ = ["report_html", "write_report"]


def _svg(data: bytes) -> Markup:
    text = data.decode("utf-8")
    start = text.find("<svg")
    return Markup(text[start:])  # flowmap's own SVG: every text in it was escaped when it was written


def _cell(v: Any, *, count: bool, threshold: int | None) -> tuple[str, bool]:
    if v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return "", False
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat(), False
    if isinstance(v, bool):
        return ("yes" if v else "no"), False
    if isinstance(v, (int, float)):
        if count:
            return suppress(int(v), threshold), True
        f = float(v)
        return (str(int(f)) if f.is_integer() else f"{f:.1f}"), True
    return str(v), False


def _table(df: pd.DataFrame, *, counts: Sequence[str] = (), threshold: int | Protected | None = None,
           rates: Sequence[str] = (), cells: Any = None, rate_cells: Any = None) -> Markup:  # fmt: skip
    """An HTML table. ``cells(row number, column)``, when given, names the count a cell shows (for
    complementary suppression: ``threshold`` is then a :class:`Protected`); a rate column is blank in a row
    where a count ``rate_cells(row number)`` names (its numerator and denominator) is hidden."""
    head = "".join(f"<th>{escape(str(c))}</th>" for c in df.columns)
    rows = []
    shown: Protected | None = threshold if isinstance(threshold, Protected) else None
    for i, rec in enumerate(df.to_dict("records")):
        out = []
        row_hidden = shown is not None and rate_cells is not None and shown.hidden(*rate_cells(i))
        for c in df.columns:
            v = rec[c]
            name = cells(i, c) if cells is not None and c in counts else None
            if c in rates and row_hidden:
                text, num = "", True
            elif c in rates and v is not None and not (isinstance(v, float) and math.isnan(v)):
                text, num = f"{100 * float(v):.0f}%", True
            elif shown is not None and name is not None and name in shown.values:
                text, num = shown.text(name), True
            else:
                below = threshold if isinstance(threshold, int) else None
                text, num = _cell(v, count=c in counts, threshold=below)
            cls = ' class="num"' if num else ""
            out.append(f"<td{cls}>{escape(text)}</td>")
        rows.append("<tr>" + "".join(out) + "</tr>")
    return Markup(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _hidden_note(shown: Protected | None, below: int | None) -> str:
    """The note under the tables: what * and (where it matters) <N stand for."""
    if shown is None:
        return ""
    notes = [SECONDARY_NOTE.format(n=below) if shown.secondary else "", shown.small_note]
    return "; ".join(n for n in notes if n)


def report_html(
    result: Replay,
    *,
    pdsa: PdsaLog | None = None,
    changes: Sequence[Change] = (),
    suppress_below: int | None = None,
    key: str | None = None,
    runs: int = 300,
    seed: int = 1,
    renderer: Renderer = "auto",
    due_within: float | None = None,
    coarsen: str | None = None,
    animate: bool = False,
) -> str:
    """The report as HTML text.

    Parameters
    ----------
    result
        A replay (:func:`flowmap.replay`).
    pdsa
        A PDSA log to mark on charts and list.
    changes
        Change files to simulate against the baseline fitted on this data.
    suppress_below
        Counts below this show as ``<N`` in every aggregate (Scottish disclosure
        practice is 5, or 10 for small populations).
    key
        Replace case ids with keyed pseudonyms.
    due_within
        The "Due in the next N days" table's N, in each target's clock
        (default: 10 on a working-day process clock, else 14).
    animate
        Embed the animated map (``flowmap animate``) inline: the cases moving
        on the map, with no script.
    coarsen
        ``month`` or ``quarter``: case-level dates (the open-case tables, each
        case's point on a run chart, the data's first and last events) shown
        as a month or quarter only.
    """
    from jinja2 import Environment, PackageLoader, select_autoescape

    process = result.process
    d = drift(result)
    t = suppress_below
    shown = protected_counts(result, t) if t else None
    step_ids = [str(s) for s in d.steps["step"]]
    steps = d.steps.drop(columns=["step"]).rename(columns={"label": "step"})
    audit_rows = coarsen_dates(pseudonymise(audit(result), key), coarsen)
    due_days = due_within if due_within is not None else (10.0 if process.clock == "working_days" else 14.0)
    due_rows = coarsen_dates(pseudonymise(audit(result, due_within=due_days), key), coarsen)[
        ["case_id", "current_step", "next_due_target", "due_date", "days_left"]
    ]
    target_ids = [str(x) for x in d.targets["target"]]
    targets = d.targets.drop(columns=["target"]).rename(columns={"label": "target"})
    subtitle = f"As of {result.as_of.date()}" + (f" · {result.window_text()}" if result.window_text() else "")
    if result.first_event is not None and result.last_event is not None:
        subtitle += coarsen_text(f" · events {result.first_event.date()} to {result.last_event.date()}", coarsen)
    env = Environment(loader=PackageLoader("flowmap.report", "templates"), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)  # fmt: skip
    return env.get_template("report.html.j2").render(
        version=__version__,
        title=process.title,
        subtitle=subtitle,
        summary=summary_sentences(result, d, shown=shown),
        warnings=_warnings(result),
        map_svg=_svg(
            render_map(
                process, replace(map_metrics(result), shown=shown), metric="drift", renderer=renderer, coarsen=coarsen
            )
        ),
        drift_table=_table(
            steps,
            counts=("visits", "cases", "breaches"),
            threshold=shown or t,
            rates=("breach_rate",),
            cells=lambda i, col: f"{col}:{step_ids[i]}",
            rate_cells=lambda i: (f"breaches:{step_ids[i]}", f"visits:{step_ids[i]}"),
        ),
        audit_rows=len(audit_rows),
        audit_table=_table(audit_rows.head(60)),
        due_days=f"{due_days:g} {days_word(process.clock)}",
        due_rows=len(due_rows),
        due_table=_table(due_rows.head(60)),
        targets_table=_table(
            targets,
            counts=("met", "missed", "overdue", "running", "void"),
            threshold=shown or t,
            rates=("met_rate",),
            cells=lambda i, col: f"t:{target_ids[i]}:{col}",
            rate_cells=lambda i: (f"t:{target_ids[i]}:met", f"t:{target_ids[i]}:judged"),
        ),
        hidden_note=_hidden_note(shown, t),
        charts=_charts(result, pdsa, key, t, coarsen),
        pdsa=list(pdsa.cycles) if pdsa else [],
        study=_study(result, pdsa, suppress_below=t) if pdsa else [],
        simulation=_simulation(result, changes, runs=runs, seed=seed),
        forecast=_forecast(result, key=key, coarsen=coarsen, below=t, seed=seed),
        flow=_flow(result, pdsa, below=t),
        animation=_animation(result, renderer, key) if animate else None,
        ledger=result.ledger.lines(),
        problems=_problem_rows(result.ledger, key),
        method=method_notes(result, suppress_below=t, pseudonymised=bool(key)),
    )


def _warnings(result: Replay) -> list[str]:
    n = result.counts["cases"]
    return [f"Only {n} cases: figures and charts say little at this size."] if n < 10 else []


def _charts(result: Replay, pdsa: PdsaLog | None, key: str | None, below: int | None = None,
            coarsen: str | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """A run chart per span target, with its reading in words."""
    charts = []
    for target in result.process.targets:
        series = target_series(result, target.id)
        if not series.values:
            continue
        chart = run_chart(coarsen_series(pseudonymise_series(series, key), coarsen), pdsa=pdsa)
        charts.append({
            "monthly": _monthly(result, target.id, pdsa, below),
            "label": target.display_label,
            "detail": f"{target.from_step} to {target.to_step}, {target.bound_text}; one point per case, dated "
                      f"when its clock stopped. Source: {target.source or 'not given'}.",
            "svg": _svg(chart_figure(chart, fmt="svg")),
            "reading": chart.reading(),
        })  # fmt: skip
    return charts


def _monthly(result: Replay, target_id: str, pdsa: PdsaLog | None, below: int | None = None) -> dict[str, Any] | None:
    """The met rate month by month as a p-chart, with the aim line and PDSA marks; None under 2 months.

    With ``below``, a month whose cases judged, met or missed number 1 to below-1 would show a rate built
    on a small count (its limits give its n away): then the chart is left out and the report says why.
    """
    from flowmap.errors import ChartError
    from flowmap.spc.periods import p_chart, period_series

    try:
        series = period_series(result, target_id, per="month", measure="met_rate")
        chart = p_chart(series, pdsa=pdsa)
    except ChartError:
        return None
    if below:
        small = [0 < k < below for n, m in zip(series.n, series.met, strict=True) for k in (n, m, n - m)]
        if any(small):
            return {"svg": "", "reading": f"The met rate month by month is not shown: some months have fewer "
                                          f"than {below} cases judged, met or missed, and a rate would reveal "
                                          "them (--suppress-below)."}  # fmt: skip
    return {"svg": _svg(chart_figure(chart, fmt="svg")), "reading": chart.reading()}


def _study(result: Replay, pdsa: PdsaLog, *, suppress_below: int | None) -> list[dict[str, Any]]:
    """Per PDSA cycle: before against during, and its predictions scored (docs/compare.md)."""
    from flowmap.spc.compare import compare
    from flowmap.spc.predictions import score_predictions

    scores = score_predictions(result, pdsa)
    out = []
    for c in pdsa.cycles:
        entry: dict[str, Any] = {"id": c.id, "title": c.title,
                                 "predictions": [s.sentence(suppress_below=suppress_below) for s in scores
                                                 if s.cycle == c.id]}  # fmt: skip
        try:
            comparison = compare(result, c.start, end=c.end, cycle=c.id)
        except FlowmapError as e:
            entry["error"] = f"No comparison: {e}."
        else:
            entry["sentences"] = comparison.sentences(suppress_below=suppress_below)
            entry["table"] = _table(_study_rows(comparison, suppress_below))
        out.append(entry)
    return out


def _study_rows(comparison: Any, threshold: int | None) -> pd.DataFrame:
    from flowmap.spc.compare import pair_counts

    """The comparison's span-target rows for reading: rates as percentages, days to one decimal, and no
    figure that would reveal a count hidden by suppression."""

    def shown(v: float | None, rate: bool) -> str:
        if v is None or v != v:
            return "–"
        return f"{100 * v:.0f}%" if rate else f"{v:.1f}"

    rows = []
    for c in comparison.changes:
        if c.kind != "target":
            continue
        rate = c.measure == "met_rate"
        pair = pair_counts(c, threshold)
        hidden = bool(pair.primary or pair.secondary)
        interval = "–" if c.ci_low is None or c.ci_high is None else (
            f"{shown(c.ci_low, rate)} to {shown(c.ci_high, rate)}")  # fmt: skip
        rows.append({
            "target": c.label, "measure": "met rate" if rate else "median days",
            "before": "–" if hidden else shown(c.before, rate), "after": "–" if hidden else shown(c.after, rate),
            "difference": "–" if hidden else shown(c.difference, rate), "95% CI": "–" if hidden else interval,
            "p": "–" if c.p_value is None else f"{c.p_value:.2g}",
            "n before": pair.text("n_before"), "n after": pair.text("n_after"),
        })  # fmt: skip
    return pd.DataFrame(rows)


def _simulation(result: Replay, changes: Sequence[Change], *, runs: int, seed: int) -> dict[str, Any] | None:
    """The simulated changes against the baseline fitted on this data, or None without changes."""
    if not changes:
        return None
    from flowmap.simulation.simulate import fit, simulate

    res = simulate(fit(result), changes, runs=runs, seed=seed)
    return {
        "note": f"{res.runs} simulated runs of {res.cases} cases each, seed {res.seed}; figures are averages "
                "over runs, with 95% intervals. See docs/what-if.md for what the model assumes.",
        "table": _table(res.summary()),
        "sentences": res.sentences(result.process),
    }  # fmt: skip


def _forecast(result: Replay, *, key: str | None, coarsen: str | None, below: int | None,
              seed: int) -> dict[str, Any]:  # fmt: skip
    """Which open cases will probably miss their timescale (docs/forecast.md): sentences and the 20 most at risk."""
    from flowmap.simulation.forecast import forecast

    try:
        fc = forecast(result, runs=300, seed=seed)
    except FlowmapError as e:
        return {"sentences": [f"No forecast: {e}."], "table": None}
    top = coarsen_dates(pseudonymise(fc.at_risk(20), key), coarsen)
    return {"sentences": fc.sentences(shown=below), "table": _table(top, rates=("p_met",)) if len(top) else None,
            "note": f"Each open case carried forward {fc.runs} times by the model fitted on this data; p_met is the "
                    "share of those futures in which the target is met."}  # fmt: skip


def _flow(result: Replay, pdsa: PdsaLog | None, *, below: int | None) -> dict[str, Any]:
    """Work in progress over time (weekly for under a year of data, else monthly) and the ten most common
    paths, their counts protected as the rest of the report's are."""
    from flowmap.analysis.variants import fold_path, variants
    from flowmap.analysis.wip import wip
    from flowmap.privacy import Relation, protect
    from flowmap.render.wip import wip_figure

    out: dict[str, Any] = {"wip": None, "paths": None}
    if len(result.visits):
        span = (result.as_of - pd.Timestamp(result.visits["entered"].min())).days
        per: Literal["week", "month"] = "week" if span < 365 else "month"
        out["wip"] = _svg(wip_figure(result.process, wip(result, per=per), pdsa=pdsa))
        out["wip_note"] = (f"Open cases at each step at the end of each {per}, stacked in step order; the darker, "
                           "hatched part of a band is over the step's target.")  # fmt: skip
    table = variants(result)
    if not len(table):
        return out
    top = table.head(10)
    shown = top.assign(path=[fold_path(p) for p in top["path"]])
    if below:
        values = {f"p{i}": int(c) for i, c in enumerate(table["cases"])} | {"cases": int(table["cases"].sum())}
        values |= {f"c{i}": int(c) for i, c in enumerate(table["complete"])}
        values |= {"complete": int(table["complete"].sum())}
        rels = [Relation("cases", tuple(f"p{i}" for i in range(len(table)))),
                Relation("complete", tuple(f"c{i}" for i in range(len(table))))]  # fmt: skip
        hidden = [f"p{i}" for i in range(10, len(table))] + [f"c{i}" for i in range(10, len(table))]
        prot = protect(values, rels, below, unpublished=hidden, exact={"cases", "complete"})
        rate_cols = [c for c in shown.columns if c.startswith("met_rate") or c == "share"]
        keep = pd.Series([not prot.hidden(f"p{i}") for i in range(len(shown))], index=shown.index)
        shown = shown.assign(cases=[prot.text(f"p{i}") for i in range(len(shown))],
                             complete=[_complete_shown(prot, i, bool(keep.iloc[i]), values) for i in range(len(shown))],
                             **{c: shown[c].where(keep) for c in rate_cols})  # fmt: skip
    rates = tuple(c for c in shown.columns if c.startswith("met_rate") or c == "share")
    out["paths"] = _table(shown, rates=rates)
    out["paths_note"] = (f"The {min(10, len(table))} most common of {len(table)} paths through the process "
                         "(flowmap variants): loops folded as (a → b) ×2; met rates over each path's "
                         "cases.")  # fmt: skip
    return out


def _animation(result: Replay, renderer: Renderer, key: str | None) -> Markup | None:
    """``report --animate``: the animated map, inline (SVG animation, no script)."""
    from flowmap.render.animate import animate_svg
    from flowmap.render.layout import layout

    if not len(result.visits):
        return None
    return _svg(animate_svg(result, layout(result.process, renderer=renderer), key=key).encode("utf-8"))


def _complete_shown(prot: Protected, i: int, cases_shown: bool, values: dict[str, int]) -> str:
    """A path's complete count: it is at most the path's cases, so where those are hidden it is hidden too
    (a 0 tells nothing and is shown)."""
    cell = f"c{i}"
    if cases_shown or values[cell] == 0 or prot.hidden(cell):
        return prot.text(cell)
    return "*"


def _problem_rows(ledger: Any, key: str | None, first: int = 20) -> dict[str, Any]:
    """The first problems with their addresses, for the ledger section (the full list is ``--problems``)."""
    from flowmap.privacy import pseudonymise

    table = ledger.problems()
    shown = pseudonymise(table.head(first), key)
    rows = [
        {
            "place": (f"{r['sheet']} " if r["sheet"] else "") + (r["cell"] or ledger.place(int(r["row"]), r["column"])),
            "column": r["column"],
            "case_id": r["case_id"],
            "value": r["value"],
            "reason": r["reason"],
        }
        for r in shown.to_dict("records")
    ]
    return {"rows": rows, "total": len(table)}


def write_report(path: str | Path, result: Replay, **options: Any) -> Path:
    """Write :func:`report_html` to ``path``, whole or not at all."""
    from flowmap.io import write_text

    p = Path(path)
    if p.suffix.lower() not in (".html", ".htm"):
        raise FlowmapError(f"cannot write a report to {p}: use .html")
    write_text(p, report_html(result, **options))
    return p

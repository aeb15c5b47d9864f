"""Which counts a shared output may show: the cells a replay's outputs print, and the sums that tie them.

Every count the report, the map and drift's tables print is a named cell
here, with the sums a reader could use to work a hidden one out:

- cases = complete + open;
- each step's visits = the moves into it + the cases that started there, and
  = the moves out of it + the cases whose last visit it is (open ones there,
  which the open-case table lists, and complete ones);
- each span target: judged = met + missed + overdue, and the cases that
  reached its start step = met + missed + overdue + running + void.

A sum is used only when it holds in the data (a window can break one). Then
:func:`flowmap.privacy.protect` hides small counts and enough others that
none can be recovered. docs/report.md shows a worked table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from flowmap.analysis.metrics import Drift, edge_table, target_table
from flowmap.analysis.replay import Replay
from flowmap.privacy import Protected, Relation, protect

__all__ = ["cell_values", "protect_drift", "protected_counts"]


def cell_values(result: Replay) -> tuple[dict[str, int], list[Relation], set[str], set[str]]:
    """The counts (cell name -> value), the sums that hold among them, the unpublished quantities in those
    sums, and the cells a reader knows exactly from a case-level list (never hidden)."""
    from flowmap.analysis.metrics import map_metrics

    process = result.process
    counts = result.counts
    values: dict[str, int] = {k: int(v) for k, v in counts.items()}
    relations = [Relation("cases", ("complete", "open"))]
    unpublished: set[str] = set()
    known: set[str] = set()
    steps = map_metrics(result).steps
    for s, vis, cas, br in zip(steps["step"], steps["visits"], steps["cases"], steps["breaches"], strict=True):
        values[f"visits:{s}"], values[f"cases:{s}"], values[f"breaches:{s}"] = int(vis), int(cas), int(br)
    edges = edge_table(result)
    ins: dict[str, list[str]] = {s: [] for s in process.step_ids}
    outs: dict[str, list[str]] = {s: [] for s in process.step_ids}
    for a, b, c in zip(edges["from"], edges["to"], edges["count"], strict=True):
        name = f"edge:{a}>{b}"
        values[name] = int(c)
        outs[str(a)].append(name)
        ins[str(b)].append(name)
    for t in process.transitions:  # declared moves no case made are shown as 0
        values.setdefault(f"edge:{t.from_step}>{t.to_step}", 0)
    # Where cases start and end: from the visits, first and last per case.
    v = result.visits
    if len(v):
        case = v["case_id"].astype(str).to_numpy()
        first = np.r_[True, case[1:] != case[:-1]]
        last = np.r_[case[1:] != case[:-1], True]
        step = v["step"].astype(str).to_numpy()
        status = result.cases.set_index(result.cases["case_id"].astype(str))["status"]
        done = status.reindex(case[last]).to_numpy() == "complete"
        for s in process.step_ids:
            values[f"start:{s}"] = int((first & (step == s)).sum())
            at = step[last] == s
            values[f"open_at:{s}"] = int((at & ~done).sum())
            values[f"complete_at:{s}"] = int((at & done).sum())
            values[f"last:{s}"] = values[f"open_at:{s}"] + values[f"complete_at:{s}"]
            unpublished |= {f"start:{s}", f"last:{s}", f"complete_at:{s}"}
            known.add(f"open_at:{s}")
            relations.append(Relation(f"visits:{s}", (*ins[s], f"start:{s}")))
            relations.append(Relation(f"visits:{s}", (*outs[s], f"last:{s}")))
            relations.append(Relation(f"last:{s}", (f"open_at:{s}", f"complete_at:{s}")))
        relations.append(Relation("cases", tuple(f"start:{s}" for s in process.step_ids)))
        relations.append(Relation("complete", tuple(f"complete_at:{s}" for s in process.step_ids)))
        relations.append(Relation("open", tuple(f"open_at:{s}" for s in process.step_ids)))
    for r in target_table(result).to_dict("records"):
        p = f"t:{r['target']}:"
        for k in ("met", "missed", "overdue", "running", "void"):
            values[p + k] = int(r[k])
        values[p + "judged"] = values[p + "met"] + values[p + "missed"] + values[p + "overdue"]
        relations.append(Relation(p + "judged", (p + "met", p + "missed", p + "overdue")))
        start = process.target(str(r["target"])).from_step
        relations.append(Relation(f"cases:{start}", tuple(p + k for k in ("met", "missed", "overdue", "running",
                                                                         "void"))))  # fmt: skip
    holds = [r for r in relations if all(c in values for c in (r.total, *r.parts))
             and values[r.total] == sum(values[c] for c in r.parts)]  # fmt: skip
    return values, holds, unpublished, known


def protected_counts(result: Replay, below: int | None) -> Protected:
    """Every count a replay's outputs print, suppressed for sharing (see the module notes)."""
    values, relations, unpublished, known = cell_values(result)
    return protect(values, relations, below, unpublished=unpublished, exact=known)


def protect_drift(d: Drift, shown: Protected) -> Drift:
    """Drift's tables for sharing: each count as ``shown`` says (a number, ``<N`` or ``*``, as text), and each
    rate blank where its numerator or denominator is hidden."""

    def counts(table: pd.DataFrame, names: dict[str, Any], rate: tuple[str, tuple[str, str]] | None) -> pd.DataFrame:
        out = table.copy()
        for col, name in names.items():
            out[col] = [shown.text(name(r, col)) if name(r, col) in shown.values else v
                        for r, v in zip(table.to_dict("records"), table[col], strict=True)]  # fmt: skip
        if rate is not None:
            col, (num, den) = rate
            keep = [not shown.hidden(names[num](r, num), names[den](r, den)) for r in table.to_dict("records")]
            out[col] = table[col].where(pd.Series(keep, index=table.index))
        return out

    def step(r: dict[Any, Any], col: str) -> str:
        return f"{col}:{r['step']}"

    def target(r: dict[Any, Any], col: str) -> str:
        return f"t:{r['target']}:{col}"

    def edge(r: dict[Any, Any], col: str) -> str:
        return f"edge:{r['from']}>{r['to']}"

    steps = counts(
        d.steps, dict.fromkeys(("visits", "cases", "breaches"), step), ("breach_rate", ("breaches", "visits"))
    )
    targets = counts(d.targets, dict.fromkeys(("met", "missed", "overdue", "running", "void"), target), None)
    if len(d.targets):
        keep = [not shown.hidden(target(r, "met"), target(r, "judged")) for r in d.targets.to_dict("records")]
        targets["met_rate"] = d.targets["met_rate"].where(pd.Series(keep, index=d.targets.index))
    targets = targets[list(d.targets.columns)]
    edges = counts(d.edges, {"count": edge}, None)
    return Drift(steps=steps, targets=targets, edges=edges)

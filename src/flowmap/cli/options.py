"""Option bundles, each declared once and shared by every command that takes them."""

from __future__ import annotations

from typing import Any

import click

from flowmap.cli.common import F, out_path
from flowmap.errors import FlowmapError

__all__ = [
    "READ_KEYS",
    "SHARE",
    "as_of_option",
    "event_options",
    "json_option",
    "output_option",
    "problems_option",
    "pseudonymise_option",
    "read_options",
    "replay_options",
    "since_option",
    "where_option",
    "window_options",
]


def _delimiter(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:  # nothing to check: and the readers (pandas, pyarrow) stay unimported until needed
        return None
    from flowmap.events.readers import normalise_delimiter

    try:
        return normalise_delimiter(value)
    except FlowmapError as e:
        raise click.BadParameter(str(e).removeprefix("--delimiter "), ctx=ctx, param=param) from None


class _Share(click.ParamType[float]):
    """A share of cases: ``5%`` or ``0.05``."""

    name = "share"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        text = str(value).strip()
        try:
            share = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            self.fail(f"'{value}' is not a share; write it as a percentage (5%) or a fraction (0.05)", param, ctx)
        if not 0.0 <= share <= 1.0:
            hint = f" (for {text}%, write {text}%)" if not text.endswith("%") and 1 < share <= 100 else ""
            self.fail(f"'{value}' is not between 0% and 100%{hint}", param, ctx)
        return share


SHARE = _Share()


def _params(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in value:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"'{item}' is not NAME=VALUE", ctx=ctx, param=param)
        out[name.strip()] = text
    return out


def _timezone(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from flowmap.events.dates import check_timezone

    try:
        return None if value is None else check_timezone(value)
    except FlowmapError as e:
        raise click.BadParameter(str(e), ctx=ctx, param=param) from None


def event_options(fn: F) -> F:
    """Options for reading an event file, shared by every command that reads one."""
    opts = [
        click.option("--case-col", metavar="NAME", help="Column holding the case id (default: detected)."),
        click.option("--event-col", metavar="NAME", help="Column holding the event name (default: detected)."),
        click.option("--time-col", metavar="NAME", help="Column holding the date or timestamp (default: detected)."),
        click.option("--sheet", metavar="NAME", help="Excel sheet to read (default: the first)."),
        click.option(
            "--header-row",
            "header_row",
            type=click.IntRange(min=1),
            metavar="N",
            help="Row number of the header in the sheet or file (default: found in the top 30 rows, "
            "below any title rows).",
        ),
        click.option("--monthfirst", is_flag=True, help="Read 03/04/2025 as 4 March (US); default is day first."),
        click.option(
            "--not-yet",
            "not_yet",
            multiple=True,
            metavar="WORD",
            help="A word that means 'no date yet' in a date cell, beside N/A, tbc, awaiting, pending, ... "
            "(repeatable).",
        ),
        click.option("--encoding", default="utf-8", show_default=True, help="CSV text encoding, e.g. cp1252."),
        click.option(
            "--delimiter",
            metavar="CHAR",
            callback=_delimiter,
            help="CSV separator: one character, or \\t, tab, comma, semicolon, pipe (default: detected).",
        ),
        click.option(
            "--timezone",
            "timezone",
            metavar="TZ",
            callback=_timezone,
            help="The time zone dates are counted in, and times without an offset are read in (an IANA name; "
            "default: the process's, else Europe/London).",
        ),
        click.option(
            "--lifecycle-col",
            "lifecycle_col",
            metavar="NAME",
            help="Column holding lifecycle transitions: start, complete, schedule, ... (default: "
            "lifecycle:transition, if there is one).",
        ),
        click.option(
            "--start-col",
            "start_col",
            metavar="NAME",
            help="Column holding when work on each event started, beside the time column (default: "
            "start_timestamp, start_time or start, if there is one).",
        ),
        click.option(
            "--lifecycle",
            "lifecycle",
            type=click.Choice(["intervals", "complete"]),
            default="intervals",
            show_default=True,
            help="With start and complete times: 'intervals' splits time at a step into waiting and "
            "working; 'complete' uses completes only, as pm4py does by default.",
        ),
        click.option(
            "--db",
            "db",
            metavar="URL",
            help="Read events from a database instead of a file (a SQLAlchemy URL with no password in it, e.g. "
            "postgresql+psycopg://reader@host/db; the password comes from FLOWMAP_DB_PASSWORD or ~/.pgpass).",
        ),
        click.option("--query", "sql", metavar="SQL", help="With --db: the query whose rows are the events."),
        click.option("--table", "table", metavar="NAME", help="With --db: read every row of this table or view."),
        click.option(
            "--param",
            "params",
            multiple=True,
            metavar="NAME=VALUE",
            callback=_params,
            help="A value for :NAME in --query (repeatable): parameters, never text pasted into the SQL.",
        ),
        click.option(
            "--keep-duplicates",
            "keep_duplicates",
            is_flag=True,
            help="Keep rows that exactly repeat an earlier one as events of their own (default: set aside, "
            "as a tracker pasted twice needs; a process-mining log may mean them).",
        ),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


READ_KEYS = ("case_col", "event_col", "time_col", "sheet", "header_row", "monthfirst", "encoding", "delimiter",
             "not_yet", "timezone", "keep_duplicates", "lifecycle_col", "start_col", "lifecycle", "db", "sql", "table",
             "params")  # fmt: skip


def read_options(opts: dict[str, Any]) -> dict[str, Any]:
    """The read_events keyword arguments among a command's options."""
    out = {k: opts.get(k) for k in READ_KEYS}
    out["monthfirst"] = bool(out["monthfirst"])
    out["encoding"] = out["encoding"] or "utf-8"
    out["not_yet"] = tuple(out["not_yet"] or ())
    out["keep_duplicates"] = bool(out["keep_duplicates"])
    out["lifecycle"] = out["lifecycle"] or "intervals"
    out["params"] = dict(out["params"] or {})
    return out


problems_option = click.option(
    "--problems",
    "problems_path",
    type=out_path(),
    help="Write every row or cell set aside, with its address (sheet, row, column, A1 cell), to .csv or .xlsx.",
)


as_of_option = click.option(
    "--to",
    "--as-of",
    "as_of",
    metavar="DATE",
    help="The as-of date: open cases are measured to it and later events are set aside (default: the latest event).",
)

since_option = click.option(
    "--from",
    "since",
    metavar="DATE",
    help="Keep what began on or after DATE: visits by entry, span targets by the start of their clock, cases by "
    "their first event.",
)


where_option = click.option(
    "--where",
    "where",
    multiple=True,
    metavar="COLUMN=VALUE",
    help="Only the cases whose COLUMN (a case attribute such as team or age band) is VALUE; also COLUMN!=VALUE. "
    "Repeatable: every condition must hold.",
)


def window_options(fn: F) -> F:
    """--from, --to and --where: the window and the cases every analysis command takes."""
    return since_option(as_of_option(where_option(fn)))


_pseudonymise = click.option(
    "--pseudonymise",
    metavar="KEY",
    envvar="FLOWMAP_PSEUDONYM_KEY",
    help="Replace case ids in every output by keyed pseudonyms (HMAC-SHA256); a case may be named by its "
    "pseudonym too. Also read from FLOWMAP_PSEUDONYM_KEY.",
)
_pseudonym_key = click.option(
    "--pseudonym-key",
    "pseudonym_key",
    type=out_path(),
    metavar="FILE",
    help="With --pseudonymise: also write each real case id beside its pseudonym to FILE (.csv or .xlsx), "
    "for the team to keep; no other output holds the real ids.",
)


def pseudonymise_option(fn: F) -> F:
    """--pseudonymise KEY, and --pseudonym-key FILE for the mapping the team keeps."""
    return _pseudonymise(_pseudonym_key(fn))


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON to standard output instead of text.")


def replay_options(fn: F) -> F:
    """As-of date, privacy, JSON and engine options for commands that replay events."""
    opts = [
        since_option,
        as_of_option,
        where_option,
        pseudonymise_option,
        json_option,
        click.option(
            "--engine",
            type=click.Choice(["in-process", "dask"]),
            default="in-process",
            show_default=True,
            help="dask: replay a Parquet dataset (file or folder) on a Dask cluster.",
        ),
        click.option(
            "--scheduler",
            metavar="ADDRESS",
            help="With --engine dask: a running scheduler (tcp://host:8786); default: a local cluster.",
        ),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


output_option = click.option("-o", "--output", type=out_path(), help="Write the table (.csv, .json, .xlsx).")

suppress_option = click.option(
    "--suppress-below", "suppress_below", type=click.IntRange(min=2), metavar="N",
    help="For sharing: show counts below N as <N, and hide enough others (*) that none can be worked out by "
         "adding or subtracting; no rate built on a hidden count (e.g. 5, or 10 for small populations).",
)  # fmt: skip

coarsen_option = click.option(
    "--coarsen-dates", "coarsen", type=click.Choice(["month", "quarter"]),
    help="For sharing: show each case's dates as a month (2025-03) or quarter (2025-Q1) only.",
)  # fmt: skip

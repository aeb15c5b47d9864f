"""Events from a database, through SQLAlchemy: a query or a table, read as any other event file.

``--db URL --query SQL`` (or ``--table NAME``) on every command that reads
events, and ``read_events(db=..., sql=...)`` in the library. The rows then go
through the same column detection, ledger and tracker handling as a CSV.

The password never comes from the command line: a URL with a password in it
is refused. It comes from ``FLOWMAP_DB_PASSWORD``, or for PostgreSQL from
libpq's own ``PGPASSWORD`` or ``~/.pgpass`` (``PGPASSFILE``). Every message
shows the URL with the password hidden. docs/events.md, "Databases".
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from flowmap.errors import EventDataError, did_you_mean
from flowmap.events.readers import RawTable

__all__ = ["PASSWORD_ENV", "read_database"]

PASSWORD_ENV = "FLOWMAP_DB_PASSWORD"


def _sqlalchemy() -> Any:
    try:
        import sqlalchemy
    except ImportError:
        raise EventDataError("reading from a database needs SQLAlchemy: pip install 'flowmap[db]'") from None
    return sqlalchemy


def _url(db: Any, sa: Any) -> Any:
    if not isinstance(db, str):
        return db
    try:
        url = sa.engine.make_url(db)
    except (sa.exc.ArgumentError, ValueError):
        raise EventDataError(f"--db '{db}' is not a database URL; write it as dialect+driver://user@host:port/"
                             "database, e.g. postgresql+psycopg://reader@localhost/casework or "
                             "sqlite:///tracker.db") from None  # fmt: skip
    if url.password:
        raise EventDataError(f"--db {url.render_as_string(hide_password=True)}: the URL has a password in it, "
                             "which would show in shell history and process lists; take it out and put it in "
                             f"the {PASSWORD_ENV} environment variable (or, for PostgreSQL, ~/.pgpass)")  # fmt: skip
    if url.drivername.startswith("sqlite") and url.database not in (None, "", ":memory:"):
        # SQLite would create a missing file: flowmap writes nothing it was not asked to write.
        from pathlib import Path

        if not Path(url.database).is_file():
            raise EventDataError(f"--db {url.render_as_string(hide_password=True)}: no such SQLite file "
                                 f"'{url.database}'; check the path (three slashes and a relative path, or four "
                                 "and an absolute one)")  # fmt: skip
    secret = os.environ.get(PASSWORD_ENV)
    if secret:
        url = url.set(password=secret)
    return url


def _hidden(url: Any) -> str:
    return str(url.render_as_string(hide_password=True)) if hasattr(url, "render_as_string") else "the database"


def _clean(message: str, url: Any) -> str:
    """The first line of a driver's message, with the password (if any) taken out."""
    first = str(message).strip().splitlines()[0] if str(message).strip() else "no reason given"
    password = getattr(url, "password", None)
    return first.replace(str(password), "***") if password else first


def read_database(
    db: Any, *, sql: str | None = None, table: str | None = None, params: Mapping[str, Any] | None = None
) -> tuple[str, RawTable]:
    """Rows of a query (or a whole table) as a raw table, and the source's name for messages.

    ``db`` is a SQLAlchemy URL (text, with no password in it) or an Engine.
    ``sql`` may use named parameters (``:team``), given in ``params``.
    """
    if (sql is None) == (table is None):
        raise EventDataError("with --db, give exactly one of --query SQL or --table NAME")
    sa = _sqlalchemy()
    url = _url(db, sa)
    try:
        engine = url if isinstance(url, sa.engine.Engine) else sa.create_engine(url)
    except ImportError as e:
        raise EventDataError(f"--db {_hidden(url)}: its driver is not installed ({e}); for PostgreSQL, "
                             "pip install 'flowmap[db]' (psycopg)") from None  # fmt: skip
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as e:
        raise EventDataError(f"--db {_hidden(url)}: {_clean(str(e), url)}") from None
    name = f"{_hidden(engine.url)} ({'query' if sql is not None else f'table {table}'})"
    try:
        conn = engine.connect()
    except sa.exc.SQLAlchemyError as e:
        engine.dispose()
        raise EventDataError(f"{name}: cannot connect: {_clean(str(getattr(e, 'orig', None) or e), engine.url)}. "
                             "Check the host, port, user and database in the URL, and the password in "
                             f"{PASSWORD_ENV} or ~/.pgpass") from None  # fmt: skip
    try:
        stmt = _table(sa, conn, table, name) if table is not None else sa.text(sql)
        result = conn.execute(stmt, dict(params or {}))
        columns = list(result.keys())
        rows = result.fetchall()
    except sa.exc.SQLAlchemyError as e:
        raise EventDataError(f"{name}: the query failed: {_clean(str(getattr(e, 'orig', None) or e), engine.url)}"
                             ) from None  # fmt: skip
    finally:
        conn.close()
        if not isinstance(url, sa.engine.Engine):
            engine.dispose()
    frame = pd.DataFrame.from_records(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
    frame.columns = [str(c) for c in frame.columns]
    return name, RawTable(frame=frame, positions=np.arange(1, len(frame) + 1, dtype=np.int64), unit="row")


def _table(sa: Any, conn: Any, table: str, name: str) -> Any:
    schema, _, bare = table.rpartition(".")
    inspector = sa.inspect(conn)
    known = inspector.get_table_names(schema=schema or None) + inspector.get_view_names(schema=schema or None)
    if bare not in known:
        listed = ", ".join(sorted(known)[:20]) or "none"
        hint = did_you_mean(bare, known)
        raise EventDataError(f"{name}: there is no table or view '{table}'{hint}{' It' if hint else '; it'} has: "
                             f"{listed}")  # fmt: skip
    return sa.select(sa.text("*")).select_from(sa.table(bare, schema=schema or None))

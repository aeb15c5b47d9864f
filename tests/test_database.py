"""Events from a database: SQLite (a file the test makes) and a real PostgreSQL server the test starts.

The PostgreSQL server runs from Debian's binaries (.ci/run installs them) on a
loopback port with its own data directory; where it cannot be started the
test says so loudly and skips.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from flowmap.analysis.replay import replay
from flowmap.cli import cli
from flowmap.errors import EventDataError
from flowmap.events.read import read_events
from flowmap.files.process import load_process

pytest.importorskip("sqlalchemy", reason="LOUD SKIP: SQLAlchemy is not installed (`make test` installs flowmap[db])")

ROOT = Path(__file__).resolve().parent.parent
LEGAL = ROOT / "processes" / "legal-advice.yaml"
TRACKER = ROOT / "examples" / "data" / "legal-advice-tracker.csv"
EVENTS = ROOT / "examples" / "data" / "permanence-events.csv"
PERMANENCE = ROOT / "processes" / "permanence-order.yaml"


@pytest.fixture
def sqlite_db(tmp_path: Path) -> str:
    path = tmp_path / "casework.db"
    with sqlite3.connect(path) as con:
        pd.read_csv(TRACKER).to_sql("tracker", con, index=False)
        pd.read_csv(EVENTS).to_sql("events", con, index=False)
    return f"sqlite:///{path}"


def test_a_tracker_in_sqlite_reads_as_the_csv_does(sqlite_db: str) -> None:
    process = load_process(LEGAL)
    from_csv = replay(process, read_events(TRACKER, process=process))
    from_db = replay(process, read_events(db=sqlite_db, table="tracker", process=process))
    pd.testing.assert_frame_equal(from_db.cases_table(), from_csv.cases_table())
    assert from_db.ledger.not_yet == from_csv.ledger.not_yet and from_db.ledger.source.endswith("(table tracker)")


def test_a_parameterised_query_on_the_command_line(sqlite_db: str, tmp_path: Path) -> None:
    out = tmp_path / "cases.csv"
    r = CliRunner().invoke(cli, ["replay", str(PERMANENCE), "--db", sqlite_db, "--query",
                                 "select * from events where child_ref <> :skip", "--param", "skip=PO-001",
                                 "-o", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    cases = pd.read_csv(out)
    whole = replay(load_process(PERMANENCE), read_events(EVENTS, process=load_process(PERMANENCE)))
    assert len(cases) == len(whole.cases) - 1 and "PO-001" not in set(cases["case_id"])


@pytest.mark.parametrize(("args", "message"), [
    (["--table", "trackr"], "there is no table or view 'trackr'; did you mean 'tracker'?"),
    (["--query", "select nope from tracker"], "the query failed: no such column: nope"),
    (["--query", "select * from tracker where 1 = 0"], "no rows of data"),
    (["--query", "select 1 as x, 2 as y"], "no case column found"),
    (["--query", "select * from tracker", "--table", "tracker"], "exactly one of --query SQL or --table NAME"),
])  # fmt: skip
def test_bad_queries_say_what_is_wrong(args: list[str], message: str, sqlite_db: str) -> None:
    r = CliRunner().invoke(cli, ["check", "--db", sqlite_db, *args])
    assert r.exit_code == 1, r.output
    assert message in r.output and "Traceback" not in r.output


def test_a_password_in_the_url_is_refused_and_never_printed() -> None:
    with pytest.raises(EventDataError) as info:
        read_events(db="postgresql+psycopg://reader:hunter2@localhost/casework", table="events")
    assert "hunter2" not in str(info.value) and "FLOWMAP_DB_PASSWORD" in str(info.value)


def test_an_unreachable_server_says_why() -> None:
    pytest.importorskip("psycopg", reason="LOUD SKIP: psycopg is not installed (`make test` installs flowmap[db])")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # a port nothing listens on
    r = CliRunner().invoke(cli, ["check", "--db", f"postgresql+psycopg://reader@127.0.0.1:{port}/casework",
                                 "--table", "events"], env={"FLOWMAP_DB_PASSWORD": "s3cret-pw"})  # fmt: skip
    assert r.exit_code == 1 and "cannot connect" in r.output and "Connection refused" in r.output
    assert "s3cret-pw" not in r.output and "Traceback" not in r.output


# --- a real PostgreSQL ------------------------------------------------------------------


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture(scope="module")
def postgres() -> Iterator[dict[str, str]]:
    pytest.importorskip("psycopg", reason="LOUD SKIP: psycopg is not installed (`make test` installs flowmap[db])")
    import psycopg

    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("LOUD SKIP: PostgreSQL's server programs are not installed (.ci/run installs Debian's "
                    "postgresql), so the real-server test did not run")  # fmt: skip
    base = Path(tempfile.mkdtemp(prefix="flowmap-pg-"))  # outside pytest's private folder, for the server's user
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    run_as: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root: run it as the postgres user
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("LOUD SKIP: running as root and there is no postgres user to run the server as")
        for p in (base, sock):
            os.chown(p, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "admin", "--auth-local=trust",
                    "--auth-host=scram-sha-256", "-E", "UTF8"], check=True, capture_output=True)  # fmt: skip
    started = subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w",
                              "-o", f"-p {port} -k {sock} -c listen_addresses=127.0.0.1", "start"],
                             capture_output=True, text=True)  # fmt: skip
    if started.returncode != 0:
        pytest.skip(f"LOUD SKIP: PostgreSQL would not start: {started.stderr.strip()[:300]}")
    try:
        for _ in range(50):
            try:
                admin = psycopg.connect(host=str(sock), port=port, user="admin", dbname="postgres", autocommit=True)
                break
            except psycopg.OperationalError:
                time.sleep(0.1)
        with admin:
            admin.execute("CREATE DATABASE casework")
        with psycopg.connect(host=str(sock), port=port, user="admin", dbname="casework", autocommit=True) as con:
            con.execute("CREATE ROLE reader LOGIN PASSWORD 'reader-pw'")  # a read-only user, as docs/events.md says
            con.execute("CREATE TABLE events (case_id text, event text, date date, team text)")
            frame = pd.read_csv(EVENTS)
            with con.cursor() as cur:
                cur.executemany("INSERT INTO events (case_id, event, date, team) VALUES (%s, %s, %s, %s)",
                                [(str(r.child_ref), str(r.event_type), str(r.event_date), "north")
                                 for r in frame.itertuples()])  # fmt: skip
            con.execute("GRANT SELECT ON events TO reader")
        yield {"url": f"postgresql+psycopg://reader@127.0.0.1:{port}/casework", "password": "reader-pw",
               "port": str(port)}  # fmt: skip
    finally:
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_events_from_a_real_postgresql_server(postgres: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    process = load_process(PERMANENCE)
    monkeypatch.setenv("FLOWMAP_DB_PASSWORD", postgres["password"])
    from_db = replay(process, read_events(db=postgres["url"], table="events", process=process))
    from_csv = replay(process, read_events(EVENTS, process=process))
    pd.testing.assert_frame_equal(from_db.cases_table(), from_csv.cases_table())
    query = read_events(db=postgres["url"], sql="SELECT case_id, event, date FROM events WHERE team = :team",
                        params={"team": "north"}, process=process)  # fmt: skip
    assert len(query.events) == len(read_events(EVENTS, process=process).events)


def test_the_password_can_come_from_a_pgpass_file(postgres: dict[str, str], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{postgres['port']}:casework:reader:{postgres['password']}\n")
    pgpass.chmod(0o600)
    monkeypatch.delenv("FLOWMAP_DB_PASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    r = CliRunner().invoke(cli, ["check", "--db", postgres["url"], "--table", "events"])
    assert r.exit_code == 0, r.output
    assert "(table events)" in r.output


def test_a_wrong_password_is_a_clear_error_that_does_not_show_it(postgres: dict[str, str]) -> None:
    r = CliRunner().invoke(cli, ["check", "--db", postgres["url"], "--table", "events"],
                           env={"FLOWMAP_DB_PASSWORD": "not-the-pw", "PGPASSFILE": "/nonexistent"})  # fmt: skip
    assert r.exit_code == 1 and "cannot connect" in r.output and "password authentication failed" in r.output
    assert "not-the-pw" not in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(cli, ["check", "--db", postgres["url"], "--query", "SELECT nope FROM events"],
                           env={"FLOWMAP_DB_PASSWORD": postgres["password"]})  # fmt: skip
    assert r.exit_code == 1 and 'the query failed: column "nope" does not exist' in r.output


@pytest.mark.parametrize("command", [["map", "-o", "MAP"], ["simulate", "--runs", "10"], ["audit"], ["wip"],
                                     ["variants"], ["forecast", "--runs", "20"]])  # fmt: skip
def test_every_reading_command_takes_a_database(command: list[str], sqlite_db: str, tmp_path: Path) -> None:
    args = [str(tmp_path / "m.svg") if a == "MAP" else a for a in command]
    r = CliRunner().invoke(cli, [args[0], str(PERMANENCE), *args[1:], "--db", sqlite_db, "--table", "events"])
    assert r.exit_code == 0, r.output
    if command[0] == "map":  # the data's figures are on it: the map was not drawn from the process alone
        assert "as of" in r.output
    if command[0] == "simulate":  # fitted on the 48 cases in the table, not the process file's defaults
        assert "runs of 48 cases" in r.output


def test_a_missing_sqlite_file_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    r = CliRunner().invoke(cli, ["check", "--db", f"sqlite:///{missing}", "--table", "events"])
    assert r.exit_code == 1 and "no such SQLite file" in r.output and "Traceback" not in r.output
    assert not missing.exists()

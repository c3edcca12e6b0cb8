"""The database layer: the backend asked for, SQLite's settings, and migrations that match the tables."""
import pytest
from sqlalchemy import inspect, text

from assessment.core.errors import AssessmentError
from assessment.firm import db
from assessment.firm.tables import Base

from conftest import ON_POSTGRES, owner_engine

sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="SQLite settings (this run is on PostgreSQL)")


def test_the_suite_runs_on_the_database_it_was_asked_for():
    assert db.engine().dialect.name == ("postgresql" if ON_POSTGRES else "sqlite")


@sqlite_only
def test_sqlite_runs_in_wal_mode_with_busy_timeout_and_foreign_keys():
    with db.engine().connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.BUSY_TIMEOUT_MS
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2          # FULL


def test_one_engine_per_database():
    assert db.engine() is db.engine()


def test_foreign_keys_are_enforced():
    from sqlalchemy.exc import IntegrityError
    with pytest.raises(IntegrityError):
        with db.session() as s:
            s.execute(text("INSERT INTO matter_access (matter_id, user_id, granted_at) VALUES (999, 999, "
                           "CURRENT_TIMESTAMP)"))


def test_migrations_match_the_tables_alembic_check():
    db.check(db.engine())          # raises when a table changed without a migration
    names = set(inspect(db.engine()).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= names and "alembic_version" in names


def test_migrations_go_down_and_up_again():
    from alembic import command
    owner = owner_engine()                # migrations run as the owner
    cfg = db.alembic_config(owner)
    command.downgrade(cfg, "base")
    assert set(inspect(owner).get_table_names()) <= {"alembic_version"}
    command.upgrade(cfg, "head")
    db.check(owner)


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL roles (this run is on SQLite)")
def test_the_app_runs_as_a_role_that_may_only_read_and_append_to_the_log():
    from sqlalchemy.orm import Session
    db.startup_checks()                                   # the app role: passes
    with Session(db.engine()) as s:
        assert db.role_problems(s) == []
        privileges = s.execute(text("SELECT privilege_type FROM information_schema.role_table_grants "
                                    "WHERE table_name = 'access_log' AND grantee = current_user")).scalars().all()
    assert sorted(privileges) == ["INSERT", "SELECT"]


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL roles (this run is on SQLite)")
def test_the_app_refuses_to_start_as_the_owner_of_the_log(monkeypatch):
    import os
    db.engine()
    monkeypatch.setenv("CLETS_DATABASE_URL", os.environ["CLETS_TEST_OWNER_URL"])
    with pytest.raises(AssessmentError) as err:
        db.startup_checks()
    problem = err.value.problems[0]
    assert problem.code == "DB002" and "superuser" in problem.message and "CLETS_DATABASE_OWNER_URL" in problem.hint


def test_the_app_refuses_to_start_with_the_owners_connection_in_its_environment(monkeypatch):
    monkeypatch.setenv("CLETS_DATABASE_OWNER_URL", "postgresql+psycopg://owner@db.example/clets")
    with pytest.raises(AssessmentError) as err:
        db.startup_checks()
    assert err.value.problems[0].code == "DB004"


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL is migrated by its owner only (this run is on SQLite)")
def test_the_app_role_never_migrates_and_says_how_to(monkeypatch):
    from alembic import command
    owner = owner_engine()
    command.downgrade(db.alembic_config(owner), "0001")
    db.dispose_all()
    with pytest.raises(AssessmentError) as err:
        db.engine()
    assert err.value.problems[0].code == "DB003" and "db upgrade" in err.value.problems[0].hint
    from assessment.firm import keys

    from conftest import as_owner
    keys.path().unlink()            # going down to 0001 dropped the database's id: it is a new database now
    as_owner(monkeypatch)
    db.engine()                     # `clets-assess db upgrade`: the owner migrates and grants
    monkeypatch.delenv("CLETS_DATABASE_OWNER_URL")
    db.dispose_all()
    db.startup_checks()


@sqlite_only
def test_a_damaged_database_file_stops_the_app_with_a_located_error():
    from assessment.firm import access_log
    with db.session() as s:
        for _ in range(300):
            access_log.record(s, actor="1:ann", event="search", reason="x" * 150)
    path = db.engine().url.database
    db.dispose_all()
    with open(path, "r+b") as fh:          # scribble over pages in the middle of the file
        fh.seek(4096 * 5)
        fh.write(b"\xff" * 4096 * 3)
    with pytest.raises(AssessmentError) as err:
        db.startup_checks()
    assert err.value.problems[0].code == "DB001" and err.value.problems[0].file == path


@sqlite_only
def test_the_data_folder_and_its_files_are_closed_to_other_users(tmp_path, monkeypatch):
    import os
    import stat

    from assessment.firm import datadir
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    (data / "old-memo.docx").write_bytes(b"x")
    os.chmod(data / "old-memo.docx", 0o644)
    monkeypatch.setenv("CLETS_DATA_DIR", str(data))
    old = os.umask(0o022)
    try:
        datadir.harden()
        db.engine()
        from assessment.firm import access_log
        with db.session() as s:
            access_log.record(s, actor="1:ann", event="view")
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in [data, *data.rglob("*")]}
    finally:
        os.umask(old)
    assert modes.pop("data") == 0o700
    assert modes and all(m & 0o077 == 0 for m in modes.values()), modes       # clets.db, -wal, -shm included
    assert {"clets.db", "clets.db-wal", "old-memo.docx"} <= set(modes)

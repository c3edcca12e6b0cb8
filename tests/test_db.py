"""The database layer: the backend asked for, SQLite's settings, and migrations that match the tables."""
import pytest
from sqlalchemy import inspect, text

from assessment import db
from assessment.tables import Base
from conftest import ON_POSTGRES

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
    cfg = db.alembic_config(db.engine())
    command.downgrade(cfg, "base")
    assert set(inspect(db.engine()).get_table_names()) <= {"alembic_version"}
    command.upgrade(cfg, "head")
    db.check(db.engine())

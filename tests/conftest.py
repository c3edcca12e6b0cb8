from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo"
SHARED_EXAMPLES = ROOT.parent / "shared" / "examples"


PASSWORD = "correct horse battery staple"
ON_POSTGRES = os.environ.get("CLETS_TEST_DB") == "postgres"      # ./dev test runs the suite both ways
_pg: dict = {}


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL server for the whole run (only when CLETS_TEST_DB=postgres)."""
    if not ON_POSTGRES:
        yield None
        return
    import pgserver
    server = pgserver.start()
    _pg["server"] = server
    yield server
    pgserver.stop(server)


def new_database(monkeypatch) -> None:
    """Point the app at a new, empty database: on PostgreSQL runs a new database on the test
    server, made when the test first asks for the database's URL (most tests never do); on
    SQLite, the clets.db of the data folder the caller has just set."""
    if not ON_POSTGRES:
        return
    from assessment.firm import db

    import pgserver
    monkeypatch.delenv("CLETS_DATABASE_URL", raising=False)

    def lazy_url() -> str:
        if not os.environ.get("CLETS_DATABASE_URL"):
            app, owner = pgserver.create_database(_pg["server"])
            monkeypatch.setenv("CLETS_DATABASE_URL", app)
            monkeypatch.setenv("CLETS_TEST_OWNER_URL", owner)      # not the app's: it never holds the owner's URL
        return os.environ["CLETS_DATABASE_URL"]
    monkeypatch.setattr(db, "url", lazy_url)


def owner_engine():
    """The database as its owner sees it (on PostgreSQL runs the app's own role may not touch the
    access log's triggers or rows): what an insider with the owner's rights could do."""
    from sqlalchemy import create_engine

    from assessment.firm import db
    db.engine()
    owner = os.environ.get("CLETS_TEST_OWNER_URL")
    return create_engine(owner) if owner else db.engine()


def as_owner(monkeypatch) -> None:
    """Give this process (and the commands it runs) the owner's connection, as `clets-assess db
    upgrade` has it on a firm server (PostgreSQL runs; nothing to do on SQLite)."""
    from assessment.firm import db
    db.url()
    if os.environ.get("CLETS_TEST_OWNER_URL"):
        monkeypatch.setenv("CLETS_DATABASE_OWNER_URL", os.environ["CLETS_TEST_OWNER_URL"])


@pytest.fixture(scope="session", autouse=True)
def never_home(tmp_path_factory):
    """Module- and session-scoped fixtures run before each test's own folders are set: they too get
    a data folder and a key file of the test run, never the user's ~/.clets-defense or ~/.config."""
    base = tmp_path_factory.mktemp("session")
    names = {"CLETS_DATA_DIR": base / "data", "CLETS_KEY_FILE": base / "keys" / "keys.json",
             "CLETS_LOG_HEADS": base / "keys" / "log-heads.jsonl", "XDG_CONFIG_HOME": base / "config"}
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update({k: str(v) for k, v in names.items()})
    yield
    for k, v in saved.items():
        os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path_factory, monkeypatch, pg_server):
    """Saved column mappings, memos and the database go to a temporary folder, never to ~; on
    PostgreSQL runs each test gets a database of its own."""
    monkeypatch.setenv("CLETS_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    keys = tmp_path_factory.mktemp("keys")            # the key file and log heads live outside the data folder
    monkeypatch.setenv("CLETS_KEY_FILE", str(keys / "keys.json"))
    monkeypatch.setenv("CLETS_LOG_HEADS", str(keys / "log-heads.jsonl"))
    monkeypatch.delenv("CLETS_DATABASE_URL", raising=False)
    monkeypatch.delenv("CLETS_DATABASE_OWNER_URL", raising=False)
    monkeypatch.delenv("CLETS_TEST_OWNER_URL", raising=False)
    new_database(monkeypatch)
    yield
    from assessment.firm import db
    db.dispose_all()
    if ON_POSTGRES:
        import pgserver
        pgserver.drop_databases(pg_server)


def make_user(username: str = "ann", role: str = "admin", *, demo: bool = True, **kw):
    """An account (and, with `demo`, the demo matters listed for it)."""
    from assessment.cli import firstrun
    from assessment.firm import accounts, db
    with db.session() as s:
        user = accounts.add(s, username, PASSWORD, role, by=None, display_name=username.title(), **kw)
        if demo:
            firstrun.seed_demo(s, user)
    return user


def sign_in(at, username: str = "ann", password: str = PASSWORD):
    """Put a signed-in session's token into an AppTest, as the sign-in form would."""
    from assessment.firm import db, logins
    with db.session() as s:
        result = logins.sign_in(s, username, password)
    assert result.ok, result.message
    at.session_state["auth_token"] = result.token
    return at


@pytest.fixture(scope="session")
def kb():
    from assessment.law import kb as kbmod
    return kbmod.load()


@pytest.fixture
def kb_copy(tmp_path):
    """A copy of the repository's knowledge base that a test may break."""
    target = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", target)
    return target


def spec_counts(truth: dict) -> dict[str, int]:
    """The five clets-assessment/1 finding counts a truth.json states."""
    return {
        "subject-queries": sum(truth["subject_queries"].values()),
        "off-duty-subject-queries": truth["subject_queries_off_duty"],
        "subject-queries-without-case-number": truth["subject_queries_without_case_number"],
        "unassigned-terminal-queries": truth["client_queries_on_unassigned_terminals"],
        "queries-before-training": truth["client_queries_before_training"],
    }


def case_text(**sections: str) -> str:
    """A minimal valid case file; pass whole YAML sections to replace or add them."""
    base = {
        "format": "format: clets-case/1",
        "matter": 'matter:\n  id: "T-1"\n  title: "People v. Test"\n  stage: charged',
        "client": "client:\n  name: Sam Test\n  role: peace_officer\n  operator_ids: [OP1]\n  terminal_ids: [T1]",
    }
    base.update(sections)
    return "\n".join(v for v in base.values() if v) + "\n"


def run_cli(*args: str):
    import subprocess

    from assessment.firm import db
    db.url()          # on PostgreSQL runs: the test's database exists and is in the environment
    return subprocess.run([sys.executable, "-m", "assessment.cli", *args], capture_output=True, text=True, cwd=ROOT)


def app_session(username: str = "ann", page: str | None = None, timeout: int = 60):
    """The app in AppTest for a signed-in `username` (made beforehand), run once, on `page` (a file in
    assessment/app/pages, without .py) if given."""
    from streamlit.testing.v1 import AppTest
    at = sign_in(AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=timeout), username)
    at.run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(f"assessment/app/pages/{page}.py").run()
        assert not at.exception, at.exception
    return at


def saved_case(at):
    """The open matter's case file of an AppTest session as the database holds it (what another
    session would open)."""
    from sqlalchemy import select

    from assessment.core import casefile
    from assessment.firm import db
    from assessment.firm.tables import Matter
    with db.session() as s:
        row = s.execute(select(Matter).where(Matter.id == at.session_state.matter_pk)).scalar_one()
        return casefile.loads(row.casefile)


def stored_memos(at) -> list:
    """The memos kept with the open matter of an AppTest session, newest first: [(record, .docx bytes)]."""
    from assessment.firm import db, matters
    from assessment.memo import archive as memo_archive
    with db.session() as s:
        c = matters.Ctx(s, at.session_state.user, "test", "test")
        pk = at.session_state.matter_pk
        return [(r, memo_archive.read(c, pk, r.id, log=False)) for r in memo_archive.records(c, pk)]

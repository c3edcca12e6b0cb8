"""The CLETS_* settings: read when asked for, the default when unset or empty, and a value of the
wrong form refused with ENV001 naming the variable, never quietly replaced by the default."""
import ast
import datetime as dt
from pathlib import Path

import pytest

from assessment.core import settings
from assessment.core.errors import AssessmentError
from assessment.firm import sessions, startup

from conftest import ROOT


def _refusal(setting):
    with pytest.raises(AssessmentError) as exc:
        setting.get()
    [p] = exc.value.problems
    return p


@pytest.mark.parametrize("setting, text", [
    (settings.IDLE_MINUTES, "abc"), (settings.IDLE_MINUTES, "0"), (settings.IDLE_MINUTES, "-1"),
    (settings.IDLE_MINUTES, "nan"), (settings.IDLE_MINUTES, "inf"),
    (settings.RENDER_CPU_SECONDS, "soon"), (settings.RENDER_MEMORY_MB, "-5"),
    (settings.LOG_HEAD_EVERY, "ten"), (settings.LOG_HEAD_EVERY, "0"), (settings.LOG_HEAD_EVERY, "2.5"),
    (settings.LOG_SYSLOG, "udp:logs.example"), (settings.LOG_SYSLOG, "udp:logs.example:99999"),
    (settings.LOCAL_TZ, "America/Los_Angeles'); DROP TABLE t; --"),
])
def test_a_value_of_the_wrong_form_is_refused_naming_the_variable(monkeypatch, setting, text):
    monkeypatch.setenv(setting.name, text)
    p = _refusal(setting)
    assert (p.code, p.file, p.field) == ("ENV001", "environment", setting.name)
    assert str(p).startswith(f"environment: ENV001 at {setting.name}: {text!r} is not {setting.takes} (")


def test_settings_are_read_when_asked_for_and_unset_or_empty_gives_the_default(monkeypatch, tmp_path):
    monkeypatch.delenv("CLETS_IDLE_MINUTES", raising=False)
    assert settings.IDLE_MINUTES.get() == 30
    monkeypatch.setenv("CLETS_IDLE_MINUTES", "2.5")
    assert settings.IDLE_MINUTES.get() == 2.5
    monkeypatch.setenv("CLETS_IDLE_MINUTES", "")
    assert settings.IDLE_MINUTES.get() == 30
    monkeypatch.setenv("CLETS_DATA_DIR", str(tmp_path))                   # one default follows another
    monkeypatch.delenv("CLETS_DATABASE_URL", raising=False)
    assert settings.DATABASE_URL.get() == f"sqlite:///{tmp_path / 'clets.db'}"
    monkeypatch.setenv("CLETS_LOG_SYSLOG", "udp:logs.example:514")
    assert settings.LOG_SYSLOG.get() == ("logs.example", 514)
    monkeypatch.setenv("CLETS_LOG_SYSLOG", "/dev/log")
    assert settings.LOG_SYSLOG.get() == "/dev/log"
    monkeypatch.setenv("CLETS_TRUSTED_PROXIES", " 10.0.0.1, ,10.0.0.2")
    assert settings.TRUSTED_PROXIES.get() == {"10.0.0.1", "10.0.0.2"}
    monkeypatch.setenv("CLETS_RENDER_CPU_SECONDS", "2.2")                   # whole seconds, rounded up
    assert settings.RENDER_CPU_SECONDS.get() == 3


def test_a_malformed_idle_limit_is_refused_not_taken_as_thirty_minutes(monkeypatch):
    monkeypatch.setenv("CLETS_IDLE_MINUTES", "45")
    assert sessions.idle_limit() == dt.timedelta(minutes=30)              # longer than the policy: the policy
    monkeypatch.setenv("CLETS_IDLE_MINUTES", "abc")
    with pytest.raises(AssessmentError, match="ENV001 at CLETS_IDLE_MINUTES"):
        sessions.idle_limit()


def test_the_server_does_not_start_with_a_setting_of_the_wrong_form(monkeypatch):
    """check() reads every setting and lists each one of the wrong form; the start-up runs it first."""
    monkeypatch.setenv("CLETS_IDLE_MINUTES", "abc")
    monkeypatch.setenv("CLETS_LOG_HEAD_EVERY", "0")
    with pytest.raises(AssessmentError) as exc:
        settings.check()
    assert sorted(p.field for p in exc.value.problems) == ["CLETS_IDLE_MINUTES", "CLETS_LOG_HEAD_EVERY"]
    monkeypatch.setattr(startup, "_done", {})
    with pytest.raises(AssessmentError) as exc:
        startup.run()
    assert {p.code for p in exc.value.problems} == {"ENV001"} and startup._done == {}


def test_the_template_worker_imports_nothing_of_the_package_and_reads_no_setting():
    """sandbox.py runs as `python -I sandbox.py`: the package is not importable there, and the limits
    reach it on its command line (memo/runner.py reads them)."""
    path = ROOT / "assessment" / "memo" / "sandbox.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert modules and [m for m in modules if m.split(".")[0] == "assessment"] == []
    text = path.read_text(encoding="utf-8")
    assert "CLETS_" not in text and "os.environ" not in text and "getenv" not in text


def test_every_setting_is_declared_once_with_what_it_takes_a_default_and_one_line():
    for name, s in settings.DECLARED.items():
        assert name.startswith("CLETS_") and s.takes and s.description.endswith(".") and "\n" not in s.description
    with pytest.raises(ValueError, match="declared twice"):
        settings.Setting("CLETS_DATA_DIR", "a folder", Path.cwd, "Again.", Path)

"""Accounts, sign-in, lockout, second factor and sessions (logins.py, accounts.py)."""
import datetime as dt

import pyotp
import pytest
from sqlalchemy import select

from assessment import access_log, accounts, db, gate, logins
from assessment.tables import LoginFailure, LoginSession, User
from conftest import PASSWORD, make_user


def sign_in(name="ann", password=PASSWORD, code=""):
    with db.session() as s:
        return logins.sign_in(s, name, password, code, source="test")


def events(event=None):
    with db.session() as s:
        return [(r.event, r.outcome, r.reason) for r in reversed(access_log.query(s, event=event or ""))]


@pytest.mark.parametrize("password, ok", [
    ("short", False),                              # under 8
    ("password123", False),                        # on the common list
    ("Password123", False),                        # case does not help
    ("ann", False),
    ("eight ch", True),                            # 8 with a space: spaces allowed
    ("correct horse battery staple", True),
    ("x" * 256, True),
    ("x" * 257, False),
])
def test_password_rules(password, ok):
    assert (accounts.password_problems(password, "ann") == []) is ok


def test_passwords_are_stored_as_argon2id():
    make_user("ann", demo=False)
    with db.session() as s:
        h = accounts.find(s, "ann").password_hash
    assert h.startswith("$argon2id$") and PASSWORD not in h


def test_five_failures_lock_until_an_admin_unlocks_and_every_refusal_reads_the_same():
    make_user("root", "admin", demo=False)
    make_user("ann", "attorney", demo=False)
    unknown = sign_in("nobody-here", "whatever it is")
    for _ in range(5):
        wrong = sign_in("ann", "not the password at all")
    locked = sign_in("ann", PASSWORD)                          # the right password, sixth attempt
    assert not locked.ok
    assert unknown.message == wrong.message == locked.message  # no user-name probing
    with db.session() as s:
        assert accounts.find(s, "ann").locked_at is not None
    assert ("lockout", "success", "5 failures within 15 minutes") in events("lockout")
    with db.session() as s:
        accounts.unlock(s, accounts.find(s, "root"), accounts.find(s, "ann"))
    assert sign_in("ann").ok
    with db.session() as s:   # a success clears the count
        assert s.execute(select(LoginFailure)).first() is None


def test_failures_older_than_15_minutes_do_not_count():
    make_user("ann", "attorney", demo=False)
    with db.session() as s:
        uid = accounts.find(s, "ann").id
        old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=16)
        s.add_all(LoginFailure(user_id=uid, time=old) for _ in range(4))
    sign_in("ann", "not the password at all")
    assert sign_in("ann").ok


def test_a_non_admin_cannot_unlock_or_change_roles():
    make_user("ann", "attorney", demo=False)
    make_user("bob", "paralegal", demo=False)
    from assessment.permissions import Forbidden
    with db.session() as s, pytest.raises(Forbidden):
        accounts.set_role(s, accounts.find(s, "bob"), accounts.find(s, "ann"), "admin")


def test_totp_code_needed_not_reusable_and_recovery_codes_work_once():
    make_user("ann", "admin", demo=False)
    secret = accounts.totp_new_secret()
    with db.session() as s:
        user = accounts.find(s, "ann")
        with pytest.raises(accounts.AccountError):
            accounts.totp_enable(s, user, secret, "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    with db.session() as s:
        codes = accounts.totp_enable(s, accounts.find(s, "ann"), secret, pyotp.TOTP(secret).now())
    assert len(codes) == 10
    assert not sign_in("ann").ok                                     # the password alone is not enough
    step = int(dt.datetime.now(dt.timezone.utc).timestamp()) // 30 + 1
    next_code = pyotp.TOTP(secret).at(step * 30)                      # the next window: not used yet
    assert sign_in("ann", code=next_code).ok
    assert not sign_in("ann", code=next_code).ok                       # the same code twice: refused
    assert sign_in("ann", code=codes[0]).ok
    assert not sign_in("ann", code=codes[0]).ok                        # each recovery code once


def _age(token, **delta):
    with db.session() as s:
        row = s.get(LoginSession, logins._sha(token))
        for field, minutes in delta.items():
            setattr(row, field, getattr(row, field) - dt.timedelta(minutes=minutes))


@pytest.mark.parametrize("field, minutes, works, reason", [
    ("last_seen_at", 29, True, ""),
    ("last_seen_at", 31, False, "idle"),
    ("created_at", 11 * 60, True, ""),
    ("created_at", 12 * 60 + 1, False, "absolute"),
])
def test_idle_and_absolute_session_limits(field, minutes, works, reason):
    make_user("ann", "attorney", demo=False)
    token = sign_in("ann").token
    _age(token, **{field: minutes})
    with db.session() as s:
        user, why = logins.check(s, token)
    assert (user is not None) is works
    if not works:
        with db.session() as s:
            assert s.get(LoginSession, logins._sha(token)).end_reason == reason
        with db.session() as s:        # and it stays ended
            assert logins.check(s, token)[0] is None


def test_sign_out_and_role_change_end_sessions():
    make_user("root", "admin", demo=False)
    make_user("ann", "attorney", demo=False)
    t1, t2 = sign_in("ann").token, sign_in("ann").token
    with db.session() as s:
        logins.sign_out(s, t1)
    with db.session() as s:
        assert logins.check(s, t1)[0] is None and logins.check(s, t2)[0] is not None
        accounts.set_role(s, accounts.find(s, "root"), accounts.find(s, "ann"), "paralegal")
    with db.session() as s:
        assert logins.check(s, t2)[0] is None
    assert ("role-change", "success", "attorney -> paralegal") in events("role-change")


def test_oidc_identity_maps_to_a_local_account_and_only_a_fresh_token_signs_in():
    make_user("ann@firm.example", "attorney", demo=False)
    with db.session() as s:
        assert logins.sign_in_oidc(s, "sub-1", "ann@firm.example").ok
    with db.session() as s:           # linked by subject from now on, even if the e-mail changes
        assert logins.sign_in_oidc(s, "sub-1", "other@firm.example").user.username == "ann@firm.example"
        assert not logins.sign_in_oidc(s, "sub-2", "stranger@firm.example").ok
    now = dt.datetime.now(dt.timezone.utc)
    assert gate.oidc_fresh({"iat": now.timestamp() - 30}, now)
    assert not gate.oidc_fresh({"iat": now.timestamp() - 3600 * 24 * 20}, now)   # the 30-day cookie
    assert not gate.oidc_fresh({}, now)


def test_first_start_makes_one_admin_and_the_demo_matters_only_once():
    from assessment import firstrun, matters
    creds = firstrun.ensure()
    assert creds[0] == "admin" and len(creds[1]) >= 20
    assert firstrun.ensure() is None
    with db.session() as s:
        admin = accounts.find(s, "admin")
        rows = matters.listing(matters.Ctx(s, admin))
    assert admin.role == "admin" and {r.ref for r in rows} == {"DEMO-001", "DEMO-002"}
    assert rows[0].title == "People v. Riley Tran"          # the newest: opened first


def test_user_add_command_and_unlock_command(tmp_path, monkeypatch):
    import os
    import subprocess
    import sys
    from conftest import ROOT
    db.url()                                   # on PostgreSQL runs: make the test's database first
    env = {**os.environ, "PW": PASSWORD}
    run = lambda *a: subprocess.run([sys.executable, "-m", "assessment.cli", *a], capture_output=True, text=True,
                                    cwd=ROOT, env=env)
    out = run("user", "add", "chief", "--role", "admin", "--password-env", "PW")
    assert out.returncode == 0, out.stderr
    assert run("user", "add", "weak", "--role", "staff", "--password-env", "NOPE").returncode == 2
    for _ in range(5):
        sign_in("chief", "wrong wrong wrong")
    assert "locked" in run("user", "list").stdout
    assert run("user", "unlock", "chief").returncode == 0
    assert sign_in("chief").ok
    with db.session() as s:
        assert s.execute(select(User)).scalars().one().username == "chief"

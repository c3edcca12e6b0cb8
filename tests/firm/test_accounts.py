"""Accounts, sign-in, lockout, second factor and sessions (logins.py, accounts.py, sessions.py)."""
import datetime as dt

import pyotp
import pytest
from sqlalchemy import func, select

from assessment.app import gate
from assessment.firm import access_log, accounts, db, logins, sessions
from assessment.firm.context import Actor, cli_actor, command_line
from assessment.firm.permissions import Forbidden
from assessment.firm.tables import LoginFailure, LoginSession, User

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
        old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16)
        s.add_all(LoginFailure(user_id=uid, time=old) for _ in range(4))
    sign_in("ann", "not the password at all")
    assert sign_in("ann").ok


def test_a_non_admin_cannot_unlock_or_change_roles():
    make_user("ann", "attorney", demo=False)
    make_user("bob", "paralegal", demo=False)
    from assessment.firm.permissions import Forbidden
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
    step = int(dt.datetime.now(dt.UTC).timestamp()) // 30 + 1
    next_code = pyotp.TOTP(secret).at(step * 30)                      # the next window: not used yet
    assert sign_in("ann", code=next_code).ok
    assert not sign_in("ann", code=next_code).ok                       # the same code twice: refused
    assert sign_in("ann", code=codes[0]).ok
    assert not sign_in("ann", code=codes[0]).ok                        # each recovery code once


def _age(token, **delta):
    with db.session() as s:
        row = s.get(LoginSession, sessions.token_sha(token))
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
        user, why = sessions.check(s, token)
    assert (user is not None) is works
    if not works:
        with db.session() as s:
            assert s.get(LoginSession, sessions.token_sha(token)).end_reason == reason
        with db.session() as s:        # and it stays ended
            assert sessions.check(s, token)[0] is None


def test_sign_out_and_role_change_end_sessions():
    make_user("root", "admin", demo=False)
    make_user("ann", "attorney", demo=False)
    t1, t2 = sign_in("ann").token, sign_in("ann").token
    with db.session() as s:
        sessions.sign_out(s, t1)
    with db.session() as s:
        assert sessions.check(s, t1)[0] is None and sessions.check(s, t2)[0] is not None
        accounts.set_role(s, accounts.find(s, "root"), accounts.find(s, "ann"), "paralegal")
    with db.session() as s:
        assert sessions.check(s, t2)[0] is None
    assert ("role-change", "success", "attorney -> paralegal") in events("role-change")


def _claims(sub="sub-1", email="ann@firm.example", verified=True, **more) -> dict:
    """An identity token's claims as st.user holds them (synthetic)."""
    return {"sub": sub, "email": email, "email_verified": verified,
            "iat": dt.datetime.now(dt.UTC).timestamp(), **more}


def oidc(claims, code=None):
    with db.session() as s:
        return logins.sign_in_oidc(s, claims, code, source="test")


def prebind(name, email):
    with db.session() as s:
        accounts.set_oidc_binding(s, accounts.find(s, "root"), accounts.find(s, name), email)


def oidc_failures():
    with db.session() as s:
        return [r.reason for r in reversed(access_log.query(s, event="login", outcome="failure"))]


def test_oidc_identity_maps_to_a_local_account_and_only_a_fresh_token_signs_in():
    make_user("root", "admin", demo=False)
    make_user("ann", "attorney", demo=False)
    prebind("ann", "Ann@Firm.example")
    first = oidc(_claims(email="ANN@firm.example"))                  # e-mails compare without case
    assert first.ok and first.user.username == "ann"
    with db.session() as s:
        ann = accounts.find(s, "ann")
        assert (ann.oidc_subject, ann.oidc_bind_email) == ("sub-1", None)        # bound; the pre-binding used up
        assert access_log.query(s, event="oidc-bind")[0].reason == "subject sub-1"
    assert oidc(_claims(email="other@firm.example", verified=False)).user.username == "ann"   # by subject now
    assert not oidc(_claims(sub="sub-2")).ok              # the same e-mail again: the pre-binding is gone
    now = dt.datetime.now(dt.UTC)
    assert gate.oidc_fresh({"iat": now.timestamp() - 30}, now)
    assert not gate.oidc_fresh({"iat": now.timestamp() - 3600 * 24 * 20}, now)   # the 30-day cookie
    assert not gate.oidc_fresh({}, now)


def test_oidc_user_name_equal_to_the_email_no_longer_binds_without_a_pre_binding():
    """M4: before, any identity whose e-mail equalled a user name took that account over."""
    make_user("ann@firm.example", "attorney", demo=False)
    refused = oidc(_claims(email="ann@firm.example"))
    assert not refused.ok and refused.message == logins.OIDC_REFUSED
    with db.session() as s:
        assert accounts.find(s, "ann@firm.example").oidc_subject is None
    assert oidc_failures() == ["no account pre-bound to ann@firm.example"]


@pytest.mark.parametrize("verified", [False, None, "false", "no", 1])
def test_oidc_first_binding_needs_the_provider_to_have_verified_the_email(verified):
    """M4: `email_verified: false` (or missing) never binds, even to a pre-bound account."""
    make_user("root", "admin", demo=False)
    make_user("ann", "attorney", demo=False)
    prebind("ann", "ann@firm.example")
    claims = _claims(verified=verified)
    if verified is None:
        del claims["email_verified"]
    refused = oidc(claims)
    assert not refused.ok and refused.message == logins.OIDC_REFUSED
    with db.session() as s:
        ann = accounts.find(s, "ann")
        assert ann.oidc_subject is None and ann.oidc_bind_email == "ann@firm.example"    # still waiting
    assert oidc_failures() == ["e-mail ann@firm.example not verified by the identity provider"]
    assert oidc(_claims(verified="true")).ok                     # a provider sending the string "true"


def test_every_oidc_refusal_reads_the_same_and_the_log_says_why():
    make_user("root", "admin", demo=False)
    make_user("ann", "attorney", demo=False)
    make_user("bob", "attorney", demo=False)
    prebind("ann", "ann@firm.example")
    prebind("bob", "bob@firm.example")
    with db.session() as s:
        accounts.set_disabled(s, accounts.find(s, "root"), accounts.find(s, "bob"), True)
    results = [oidc(_claims(sub="")), oidc(_claims(sub="x", email="")),
               oidc(_claims(sub="y", email="eve@evil.example")), oidc(_claims(sub="z", email="bob@firm.example"))]
    assert {r.message for r in results} == {logins.OIDC_REFUSED} and not any(r.ok for r in results)
    assert oidc_failures() == ["identity token without a subject", "unbound identity without an e-mail address",
                               "no account pre-bound to eve@evil.example", "account disabled"]
    with db.session() as s:
        assert accounts.find(s, "bob").oidc_subject is None


def test_only_an_admin_pre_binds_one_account_per_email_and_it_is_logged():
    from assessment.firm.permissions import Forbidden
    make_user("root", "admin", demo=False)
    make_user("ann", "attorney", demo=False)
    make_user("bob", "attorney", demo=False)
    with db.session() as s, pytest.raises(Forbidden):
        accounts.set_oidc_binding(s, accounts.find(s, "bob"), accounts.find(s, "bob"), "bob@firm.example")
    prebind("ann", "ann@firm.example")
    for bad in ("ANN@firm.example", "not an address", "a@b@c", "@firm.example", "x" * 250 + "@firm.example"):
        with db.session() as s, pytest.raises(accounts.AccountError):
            accounts.set_oidc_binding(s, accounts.find(s, "root"), accounts.find(s, "bob"), bad)
    prebind("ann", "")                                                  # removed
    with db.session() as s:
        assert accounts.find(s, "ann").oidc_bind_email is None
        rows = [(r.actor, r.object_id, r.reason) for r in reversed(access_log.query(s, event="oidc-prebind"))]
        ann = accounts.find(s, "ann")
    assert [r[2] for r in rows] == ["- -> ann@firm.example", "ann@firm.example -> -"]
    assert all(r[0].endswith(":root") and r[1] == str(ann.id) for r in rows)


def test_oidc_sign_in_still_asks_for_the_totp_code_of_an_account_that_has_one():
    """M4: the identity provider alone used to skip the second factor."""
    make_user("root", "admin", demo=False)
    make_user("ann", "attorney", demo=False)
    prebind("ann", "ann@firm.example")
    secret = accounts.totp_new_secret()
    with db.session() as s:
        codes = accounts.totp_enable(s, accounts.find(s, "ann"), secret, pyotp.TOTP(secret).now())
    pending = oidc(_claims())
    assert not pending.ok and pending.needs_code and pending.token is None
    with db.session() as s:                      # nothing bound nor started before the code
        assert accounts.find(s, "ann").oidc_subject is None
        assert s.execute(select(LoginSession)).first() is None
    wrong = "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
    assert oidc(_claims(), wrong).message == logins.OIDC_REFUSED
    assert oidc_failures()[-1] == "wrong or reused second-factor code"
    with db.session() as s:                      # a wrong code counts towards the lockout
        assert s.execute(select(LoginFailure)).scalars().one().user_id == accounts.find(s, "ann").id
    step = int(dt.datetime.now(dt.UTC).timestamp()) // 30 + 1
    signed = oidc(_claims(), pyotp.TOTP(secret).at(step * 30))
    assert signed.ok and signed.user.username == "ann"
    with db.session() as s:
        assert s.get(LoginSession, sessions.token_sha(signed.token)).method == "oidc+totp"
        assert accounts.find(s, "ann").oidc_subject == "sub-1"
    assert oidc(_claims()).needs_code                                  # bound now, and still asked
    assert oidc(_claims(), codes[0]).ok and not oidc(_claims(), codes[0]).ok      # a recovery code, once


def test_oidc_sign_in_of_a_required_but_not_enrolled_account_goes_on_to_enrolment():
    make_user("root", "admin", demo=False)
    make_user("ann", "attorney", demo=False, totp_required=True)
    prebind("ann", "ann@firm.example")
    result = oidc(_claims())
    assert result.ok and result.user.totp_required and not result.user.totp_secret   # the gate's enrol() follows


def test_changing_ones_own_password_ends_ones_other_sessions_but_not_this_one():
    """M2: a session left open elsewhere (perhaps by whoever learnt the old password) ended only
    at its idle limit."""
    make_user("ann", "attorney", demo=False)
    make_user("bob", "attorney", demo=False)
    here, elsewhere, bobs = sign_in("ann").token, sign_in("ann").token, sign_in("bob").token
    with db.session() as s:
        ended = accounts.change_password(s, accounts.find(s, "ann"), PASSWORD, "a brand new pass phrase",
                                         keep_session=sessions.token_sha(here))
    assert ended == 1
    with db.session() as s:
        assert sessions.check(s, here)[0] is not None
        assert sessions.check(s, elsewhere)[0] is None and sessions.check(s, bobs)[0] is not None
        assert s.get(LoginSession, sessions.token_sha(elsewhere)).end_reason == "password changed"
    with db.session() as s, pytest.raises(accounts.AccountError):    # a wrong current password ends nothing
        accounts.change_password(s, accounts.find(s, "ann"), "not it at all", "another pass phrase")
    with db.session() as s:
        assert sessions.check(s, here)[0] is not None


def test_five_concurrent_wrong_passwords_lock_and_no_more_are_checked():
    """M3: 50 attempts at once (each its own connection, as from 50 browsers). On PostgreSQL
    they all read locked_at and the failure count before any had committed, so 18-21 passwords
    were checked and the right one still worked after the lockout. The user's row is now locked
    while an attempt decides (SQLite serialises whole transactions)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor
    make_user("ann", "attorney", demo=False)
    start = threading.Barrier(50)

    def attempt(i: int) -> bool:
        start.wait()
        return sign_in("ann", f"wrong guess number {i}").ok

    with ThreadPoolExecutor(50) as pool:
        assert not any(pool.map(attempt, range(50)))
    assert not sign_in("ann").ok                                       # the right password, after the lockout
    reasons = oidc_failures()
    assert reasons.count("wrong password") == logins.LOCK_AFTER        # only five checked against the account
    assert reasons.count("account locked") == 51 - logins.LOCK_AFTER
    with db.session() as s:
        assert len(access_log.query(s, event="lockout")) == 1
        assert s.execute(select(func.count()).select_from(LoginFailure)).scalar_one() == logins.LOCK_AFTER


def test_the_idle_watch_reads_the_session_without_keeping_it_alive():
    """M1: the page's timer asks sessions.expiry; it is not activity."""
    make_user("ann", "attorney", demo=False)
    token = sign_in("ann").token
    _age(token, last_seen_at=29)
    with db.session() as s:
        seen = s.get(LoginSession, sessions.token_sha(token)).last_seen_at
        assert sessions.expiry(s, token) == ""
    with db.session() as s:
        assert s.get(LoginSession, sessions.token_sha(token)).last_seen_at == seen      # not touched
    _age(token, last_seen_at=2)
    with db.session() as s:
        assert sessions.expiry(s, token) == "idle"
    with db.session() as s:                      # the watch ends nothing itself: the gate's check does
        row = s.get(LoginSession, sessions.token_sha(token))
        assert row.ended_at is None and row.last_seen_at == seen - dt.timedelta(minutes=2)
        assert sessions.check(s, token)[0] is None
    with db.session() as s:
        assert sessions.expiry(s, token) == "signed out" and sessions.expiry(s, None) == "signed out"


@pytest.mark.parametrize("setting, minutes", [
    (None, 30), ("5", 5), ("0.5", 0.5), ("30", 30), ("45", 30),     # malformed ones: tests/core/test_settings.py
])
def test_the_idle_limit_can_be_shortened_never_lengthened(monkeypatch, setting, minutes):
    if setting is None:
        monkeypatch.delenv("CLETS_IDLE_MINUTES", raising=False)
    else:
        monkeypatch.setenv("CLETS_IDLE_MINUTES", setting)
    assert sessions.idle_limit() == dt.timedelta(minutes=minutes)


def test_a_shortened_idle_limit_locks_sooner(monkeypatch):
    monkeypatch.setenv("CLETS_IDLE_MINUTES", "2")
    make_user("ann", "attorney", demo=False)
    token = sign_in("ann").token
    _age(token, last_seen_at=3)
    with db.session() as s:
        assert sessions.expiry(s, token) == "idle"
        assert sessions.check(s, token) == (None, "Locked after 2 minutes without activity: sign in again.")


def test_first_start_makes_one_admin_and_the_demo_matters_only_once():
    from assessment.cli import firstrun
    from assessment.firm import matters
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
    def run(*a):
        return subprocess.run([sys.executable, "-m", "assessment.cli", *a], capture_output=True, text=True,
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
    assert run("user", "role", "chief", "staff").stdout.strip() == "chief: admin -> staff"
    assert run("user", "role", "nobody", "staff").returncode == 1
    with db.session() as s:                    # the command line named one way, as the access log names it
        rows = [(r.actor, r.event) for r in reversed(access_log.query(s))
                if r.event in ("user-create", "unlock", "role-change")]
    assert rows == [(cli_actor(), "user-create"), (cli_actor(), "unlock"), (cli_actor(), "role-change")]


def test_every_administrators_change_works_from_the_command_line_and_is_logged_as_it():
    """update_user with the command line's actor: each of ADMIN_CHANGES applies (none asks for a
    signed-in administrator) and logs "cli:<os user>" with the command line's source."""
    make_user("bob", "attorney", demo=False)
    with db.session() as s:
        bob = accounts.find(s, "bob").id
    cli = command_line()
    accounts.update_user(cli, bob, accounts.require_totp, True)
    accounts.update_user(cli, bob, accounts.reset_password, "a new long passphrase")
    accounts.update_user(cli, bob, accounts.totp_disable)
    accounts.update_user(cli, bob, accounts.set_disabled, True)
    with db.session() as s:
        u = accounts.find(s, "bob")
        rows = [(r.actor, r.event, r.source) for r in reversed(access_log.query(s, object_id=str(bob)))
                if r.object_type == "user"]
        assert u.disabled and u.totp_required and accounts.verify_password(u, "a new long passphrase")
    assert [e for _, e, _ in rows][-4:] == ["mfa-required", "password-reset", "mfa-reset", "disable"]
    assert {(a, src) for a, _, src in rows[-4:]} == {(cli_actor(), cli.source)}
    with pytest.raises(accounts.AccountError, match="no account has the id 9999"):
        accounts.update_user(cli, 9999, accounts.unlock)


@pytest.mark.parametrize("call, event", [
    (lambda who, uid: accounts.list_users(who), "user-list"),
    (lambda who, uid: accounts.add_user(who, "eve", PASSWORD, "admin"), "user-create"),
    (lambda who, uid: accounts.update_user(who, uid, accounts.set_role, "admin"), "user-change"),
    (lambda who, uid: accounts.update_user(who, uid, accounts.unlock), "user-change"),
], ids=["list", "add", "role", "unlock"])
@pytest.mark.parametrize("signed_in", [True, False], ids=["attorney", "nobody"])
def test_the_account_services_refuse_a_non_administrator_and_log_the_refusal_once(call, event, signed_in):
    """Nobody signed in is refused too: no None stands for the command line in the services."""
    ann = make_user("ann", "attorney", demo=False)
    who = Actor(ann if signed_in else None, "test", "Users")
    with pytest.raises(Forbidden):
        call(who, ann.id)
    with db.session() as s:
        denied = [(r.actor, r.event, r.place) for r in access_log.query(s, outcome="denied")]
        assert accounts.find(s, "ann").role == "attorney" and accounts.find(s, "eve") is None
    assert denied == [(access_log.actor_id(ann) if signed_in else "-", event, "Users")]

"""The app behind sign-in, in AppTest: the form, pages by role with each page checking again,
the idle lock, and two sessions saving the same matter."""
import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from assessment.firm import access_log, db, logins, sessions
from assessment.firm.tables import LoginSession, Matter

from conftest import PASSWORD, ROOT, make_user, sign_in

APP = str(ROOT / "streamlit_app.py")


def app():
    return AppTest.from_file(APP, default_timeout=90)


def listed_user(name: str, role: str) -> None:
    """`name` with `role`, listed on the demo matters (which an administrator made)."""
    from sqlalchemy import select

    from assessment.firm import matters
    from assessment.firm.tables import User
    make_user("root", "admin")
    make_user(name, role, demo=False)
    with db.session() as s:
        user = {u.username: u for u in s.execute(select(User)).scalars()}
        for pk in s.execute(select(Matter.id)).scalars():
            matters.grant(matters.Ctx(s, user["root"]), pk, user[name])


def test_the_sign_in_form_refuses_a_wrong_password_and_lets_the_right_one_in():
    make_user("ann", "attorney")
    at = app()
    at.run()
    assert at.subheader[0].value == "Sign in" and "case" not in at.session_state
    at.text_input(key="signin_user").input("ann")
    at.text_input(key="signin_password").input("not the password")
    at.button[0].click().run()
    assert "Sign-in failed" in at.error[0].value and "user" not in at.session_state
    at.text_input(key="signin_password").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception and at.title[0].value == "Matters"
    assert at.session_state.case.matter.id == "DEMO-001"


@pytest.mark.parametrize("role, page, allowed", [
    ("staff", "users_view", False), ("staff", "log_view", False), ("staff", "facts", False),
    ("paralegal", "templates_view", False), ("paralegal", "users_view", False), ("attorney", "log_view", False),
    ("staff", "templates_view", True), ("admin", "log_view", True), ("paralegal", "memo_view", True),
])
def test_pages_are_built_per_role_and_each_checks_the_role_itself(role, page, allowed):
    listed_user("who", role)
    at = sign_in(app(), "who")
    at.run()
    if allowed:
        at.switch_page(f"assessment/app/pages/{page}.py")
        at.run()
        assert not at.exception and not any("may not" in e.value for e in at.error)
        return
    with pytest.raises(ValueError, match="Could not find a navigation page"):     # not in this role's menu
        at.switch_page(f"assessment/app/pages/{page}.py")
    # and were the page reached anyway, it refuses by itself (and logs the refusal)
    direct = AppTest.from_file(str(ROOT / "assessment" / "app" / "pages" / f"{page}.py"), default_timeout=60)
    for key in ("user", "auth_token"):
        direct.session_state[key] = at.session_state[key]
    direct.run()
    assert not direct.exception, direct.exception
    assert any("may not" in e.value for e in direct.error)
    with db.session() as s:
        assert access_log.query(s, outcome="denied")[0].actor.endswith(":who")


def test_a_paralegal_sees_the_attorneys_judgments_read_only():
    listed_user("pat", "paralegal")
    at = sign_in(app(), "pat")
    at.run()
    at.switch_page("assessment/app/pages/review_view.py")
    at.run()
    assert any("read-only" in i.value for i in at.info)
    grid = f"case-review-{at.session_state.case_form_gens['review'][0]}-defenses"
    at.session_state[grid] = {"edited_rows": {0: {"your judgment": "weak", "reason": "mine"}}, "added_rows": [],
                              "deleted_rows": []}
    at.run()
    assert at.session_state.review.overrides == []                     # nothing a paralegal types is kept


def test_thirty_idle_minutes_lock_the_session():
    make_user("ann", "attorney")
    at = sign_in(app())
    at.run()
    assert at.title[0].value == "Matters"
    with db.session() as s:
        row = s.get(LoginSession, sessions.token_sha(at.session_state.auth_token))
        row.last_seen_at -= dt.timedelta(minutes=31)
    at.run()
    assert at.subheader[0].value == "Sign in" and "30 minutes" in at.info[0].value
    assert "case" not in at.session_state                          # nothing of the matter stays on screen


def test_two_sessions_saving_one_matter_the_later_is_told_and_nothing_is_overwritten():
    from sqlalchemy import select

    from assessment.firm import matters
    from assessment.firm.tables import User
    make_user("ann", "attorney")
    make_user("bea", "attorney", demo=False)
    make_user("root", "admin", demo=False)
    with db.session() as s:
        user = {u.username: u for u in s.execute(select(User)).scalars()}
        pk = s.execute(select(Matter.id).where(Matter.ref == "DEMO-001")).scalar_one()
        matters.grant(matters.Ctx(s, user["root"]), pk, user["bea"])
    first, second = sign_in(app(), "ann"), sign_in(app(), "bea")
    first.run()
    second.run()
    for at, value in ((first, "yes"), (second, "no")):
        at.switch_page("assessment/app/pages/facts.py")
        at.run()
        next(s for s in at.selectbox if s.label.startswith("Results disclosed")).set_value(value).run()
        assert not at.exception, at.exception
    assert "Ann saved this matter" in second.error[0].value
    assert any(b.label == "Download my unsaved copy (case file)" for b in second.get("download_button"))
    with db.session() as s:
        row = s.get(Matter, pk)
        assert "information_disclosed: yes" in row.casefile
    next(b for b in second.button if b.label == "Reopen the saved matter").click().run()
    assert second.session_state.case.facts.information_disclosed == "yes" and not second.session_state.get("save_conflict")


def test_withdrawn_access_closes_the_open_matter_at_the_next_run():
    from sqlalchemy import select

    from assessment.firm import matters
    from assessment.firm.tables import User
    listed_user("ann", "attorney")
    at = sign_in(app(), "ann")
    at.run()
    pk = at.session_state.matter_pk
    with db.session() as s:
        user = {u.username: u for u in s.execute(select(User)).scalars()}
        matters.revoke(matters.Ctx(s, user["root"]), pk, user["ann"])
    at.run()
    assert "case" not in at.session_state and "withdrawn" in at.warning[0].value
    with db.session() as s:
        assert access_log.query(s, event="access-revoke")[0].object_id == str(pk)


def test_an_attorney_reads_the_knowledge_base_and_its_history_but_cannot_edit():
    listed_user("ann", "attorney")
    at = sign_in(app(), "ann")
    at.run()
    at.switch_page("assessment/app/pages/knowledge_view.py")
    at.run()
    assert not at.exception, at.exception
    assert any(e.label.startswith("PC 92: Bribery") for e in at.expander)
    assert any("staff and administrators edit it" in i.value for i in at.info)
    assert at.selectbox(key="kb_history_file").value and not any(b.label == "Save" for b in at.button)


def _idle_watch_script():
    """The idle watch alone, in a script that counts its runs (a rerun it asks for is a second run)."""
    import streamlit as st

    from assessment.app import gate
    st.session_state.runs = st.session_state.get("runs", 0) + 1
    if st.session_state.runs == 1:
        gate.idle_watch()


def test_the_idle_watch_reruns_the_app_once_the_session_is_idle_and_touches_nothing():
    """M1: the page stayed on screen past the idle limit until the next click. The watch (a
    fragment the browser reruns every 20 s) reruns the app, whose gate then shows the sign-in form."""
    make_user("ann", "attorney", demo=False)
    with db.session() as s:
        token = logins.sign_in(s, "ann", PASSWORD).token
    watch = AppTest.from_function(_idle_watch_script, default_timeout=60)
    watch.session_state["auth_token"] = token
    watch.run()
    assert not watch.exception and watch.session_state.runs == 1          # a live session: nothing happens
    with db.session() as s:
        row = s.get(LoginSession, sessions.token_sha(token))
        row.last_seen_at -= dt.timedelta(minutes=31)
        aged = row.last_seen_at
    watch.session_state["runs"] = 0
    watch.run()
    assert not watch.exception and watch.session_state.runs == 2          # idle: the whole app reran
    with db.session() as s:
        row = s.get(LoginSession, sessions.token_sha(token))
        assert row.last_seen_at == aged and row.ended_at is None            # read, not touched


def test_the_app_places_the_idle_watch_and_a_shortened_limit_shows_the_sign_in_form(monkeypatch):
    monkeypatch.setenv("CLETS_IDLE_MINUTES", "1")
    make_user("ann", "attorney")
    at = sign_in(app())
    at.run()
    assert at.title[0].value == "Matters" and not at.exception
    with db.session() as s:
        row = s.get(LoginSession, sessions.token_sha(at.session_state.auth_token))
        row.last_seen_at -= dt.timedelta(seconds=70)
    at.run()
    assert at.subheader[0].value == "Sign in" and "1 minute without activity" in at.info[0].value
    assert "case" not in at.session_state


def test_changing_the_password_on_the_account_page_signs_out_the_other_sessions():
    """M2, as the user does it: the session that changes the password stays, the other ends."""
    make_user("ann", "attorney")
    with db.session() as s:
        elsewhere = logins.sign_in(s, "ann", PASSWORD).token
    at = sign_in(app())
    at.run()
    at.switch_page("assessment/app/pages/account.py")
    at.run()
    at.text_input[0].input(PASSWORD)
    at.text_input[1].input("a brand new pass phrase")
    at.text_input[2].input("a brand new pass phrase")
    next(b for b in at.button if b.label == "Change password").click().run()
    assert not at.exception, at.exception
    assert "Your other sessions (1) are signed out" in at.success[0].value
    with db.session() as s:
        assert sessions.check(s, elsewhere)[0] is None
    at.run()
    assert at.title[0].value == "Account"                                  # this session goes on


def _provider(at, **claims):
    """The firm's identity provider configured and signed in (synthetic claims, issued now)."""
    at.secrets = {"auth": {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "test only",
                           "client_id": "clets", "client_secret": "test only",
                           "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}}
    at.user = {"is_logged_in": True, "sub": "sub-ann", "email": "ann@firm.example", "email_verified": True,
               "iat": dt.datetime.now(dt.UTC).timestamp(), **claims}
    return at


def _prebound_ann(totp: bool):
    import pyotp

    from assessment.firm import accounts
    make_user("ann", "attorney")
    make_user("root", "admin", demo=False)
    with db.session() as s:
        accounts.set_oidc_binding(s, accounts.find(s, "root"), accounts.find(s, "ann"), "ann@firm.example")
    if not totp:
        return None
    secret = accounts.totp_new_secret()
    with db.session() as s:
        accounts.totp_enable(s, accounts.find(s, "ann"), secret, pyotp.TOTP(secret).now())
    return pyotp.TOTP(secret)


def test_identity_provider_sign_in_asks_for_the_second_factor_before_the_app_opens():
    """M4 in the app: after the provider, an account with TOTP gives its code (a wrong one is refused)."""
    totp = _prebound_ann(totp=True)
    at = _provider(app())
    at.run()
    assert not at.exception, at.exception
    assert "second factor" in at.markdown[0].value and "user" not in at.session_state
    assert at.session_state.oidc_pending["claims"]["sub"] == "sub-ann"
    wrong = "000000" if totp.now() != "000000" else "111111"
    at.text_input(key="oidc_code").input(wrong)
    next(b for b in at.button if b.label == "Continue").click().run()
    assert "identity provider failed" in at.error[0].value and "user" not in at.session_state
    step = int(dt.datetime.now(dt.UTC).timestamp()) // 30 + 1
    at.text_input(key="oidc_code").input(totp.at(step * 30))
    next(b for b in at.button if b.label == "Continue").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Matters" and at.session_state.user.username == "ann"
    assert "oidc_pending" not in at.session_state


def test_identity_provider_sign_in_without_second_factor_and_a_refused_identity():
    _prebound_ann(totp=False)
    stranger = _provider(app(), sub="sub-eve", email="eve@firm.example")
    stranger.run()
    assert "identity provider failed" in stranger.error[0].value and "user" not in stranger.session_state
    unverified = _provider(app(), email_verified=False)
    unverified.run()
    assert "identity provider failed" in unverified.error[0].value and "user" not in unverified.session_state
    at = _provider(app())
    at.run()
    assert not at.exception and at.title[0].value == "Matters" and at.session_state.user.username == "ann"


def test_the_identity_waits_for_its_code_a_short_time_only():
    _prebound_ann(totp=True)
    at = _provider(app())
    at.run()
    pending = at.session_state.oidc_pending
    at.session_state["oidc_pending"] = {**pending, "until": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)}
    at.user = {**at.user, "iat": at.user["iat"] - 200}                  # by then the provider's token is stale
    at.run()
    assert not at.exception, at.exception
    assert "oidc_pending" not in at.session_state and "No code was given within 3 minutes" in at.info[0].value
    assert not any(t.key == "oidc_code" for t in at.text_input) and "user" not in at.session_state


def test_an_administrator_pre_binds_an_account_on_the_users_page():
    from assessment.firm import accounts
    make_user("root", "admin")
    make_user("ann", "attorney", demo=False)
    at = sign_in(app(), "root")
    at.run()
    at.switch_page("assessment/app/pages/users_view.py")
    at.run()
    at.selectbox(key="users_pick").set_value("ann").run()
    with db.session() as s:
        ann_id = accounts.find(s, "ann").id
    at.text_input(key=f"oidc_bind_{ann_id}").input(" Ann@Firm.example ")
    next(b for b in at.button if b.label == "Save the pre-binding").click().run()
    assert not at.exception, at.exception
    from assessment.app.state import md_escape
    assert md_escape("Saved the pre-binding of ann") in at.success[0].value            # shown escaped
    with db.session() as s:
        assert accounts.find(s, "ann").oidc_bind_email == "ann@firm.example"
        row = access_log.query(s, event="oidc-prebind")[0]
    assert row.actor.endswith(":root") and row.object_id == str(ann_id) and row.reason == "- -> ann@firm.example"
    at.text_input(key=f"oidc_bind_{ann_id}").input("not an address")
    next(b for b in at.button if b.label == "Save the pre-binding").click().run()
    assert "name@domain" in at.error[0].value


def test_the_access_log_page_logs_each_reading_once_and_each_verification():
    """The page reads and verifies the log through access_log's readers: a reading is logged once
    per filter, not on every rerun, and a verification is logged with its result."""
    make_user("root", "admin", demo=False)
    at = sign_in(app(), "root")
    at.run()
    at.switch_page("assessment/app/pages/log_view.py")
    at.run()
    at.run()                                                    # a rerun with the same filters
    next(b for b in at.button if b.label == "Verify the log").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value.startswith("Intact:")
    with db.session() as s:
        reads = access_log.query(s, event="log-read")
        verified = access_log.query(s, event="log-verify")
    assert len(reads) == 1 and reads[0].actor.endswith(":root") and reads[0].place == "Access log"
    assert len(verified) == 1 and verified[0].outcome == "success" and verified[0].actor.endswith(":root")

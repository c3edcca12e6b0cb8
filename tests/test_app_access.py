"""The app behind sign-in, in AppTest: the form, pages by role with each page checking again,
the idle lock, and two sessions saving the same matter."""
import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from assessment import access_log, db, logins
from assessment.tables import LoginSession, Matter
from conftest import PASSWORD, ROOT, make_user, sign_in

APP = str(ROOT / "streamlit_app.py")


def app():
    return AppTest.from_file(APP, default_timeout=90)


def listed_user(name: str, role: str) -> None:
    """`name` with `role`, listed on the demo matters (which an administrator made)."""
    from sqlalchemy import select
    from assessment import matters
    from assessment.tables import User
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
        at.switch_page(f"assessment/pages/{page}.py")
        at.run()
        assert not at.exception and not any("may not" in e.value for e in at.error)
        return
    with pytest.raises(ValueError, match="Could not find a navigation page"):     # not in this role's menu
        at.switch_page(f"assessment/pages/{page}.py")
    # and were the page reached anyway, it refuses by itself (and logs the refusal)
    direct = AppTest.from_file(str(ROOT / "assessment" / "pages" / f"{page}.py"), default_timeout=60)
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
    at.switch_page("assessment/pages/review_view.py")
    at.run()
    assert any("read-only" in i.value for i in at.info)
    assert next(b for b in at.button if b.label == "Save review").disabled


def test_thirty_idle_minutes_lock_the_session():
    make_user("ann", "attorney")
    at = sign_in(app())
    at.run()
    assert at.title[0].value == "Matters"
    with db.session() as s:
        row = s.get(LoginSession, logins._sha(at.session_state.auth_token))
        row.last_seen_at -= dt.timedelta(minutes=31)
    at.run()
    assert at.subheader[0].value == "Sign in" and "30 minutes" in at.info[0].value
    assert "case" not in at.session_state                          # nothing of the matter stays on screen


def test_two_sessions_saving_one_matter_the_later_is_told_and_nothing_is_overwritten():
    from sqlalchemy import select
    from assessment import matters
    from assessment.tables import User
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
        at.switch_page("assessment/pages/facts.py")
        at.run()
        next(s for s in at.selectbox if s.label.startswith("Results disclosed")).set_value(value)
        at.button[0].click().run()
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
    from assessment import matters
    from assessment.tables import User
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
    at.switch_page("assessment/pages/knowledge_view.py")
    at.run()
    assert not at.exception, at.exception
    assert any(e.label.startswith("PC 92: Bribery") for e in at.expander)
    assert any("staff and administrators edit it" in i.value for i in at.info)
    assert at.selectbox(key="kb_history_file").value and not any(b.label == "Save" for b in at.button)

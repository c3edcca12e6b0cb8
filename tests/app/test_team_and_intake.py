"""The Matters page: a new matter from its form (the role as words, the title made from the client's
name, the narrative kept, a refusal keeping what was typed), the team a responsible attorney keeps
(paralegals added and removed, logged; nothing else), and a new user told whom to ask (AppTest)."""
import secrets

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from assessment.firm import access_log, db, matters
from assessment.firm.permissions import Forbidden
from assessment.firm.tables import Matter, MatterAccess, User

from conftest import ROOT, app_session, make_user

APP = str(ROOT / "streamlit_app.py")


def app(username: str) -> AppTest:
    return app_session(username)


def user(username: str) -> User:
    with db.session() as s:
        u = s.execute(select(User).where(User.username == username)).scalar_one()
        s.expunge(u)
        return u


def demo_pk(ref: str = "DEMO-001") -> int:
    with db.session() as s:
        return s.execute(select(Matter.id).where(Matter.ref == ref)).scalar_one()


def listed(pk: int, username: str) -> bool:
    with db.session() as s:
        return s.get(MatterAccess, (pk, user(username).id)) is not None


def test_a_new_matter_from_the_form_gets_a_title_and_keeps_its_narrative_and_a_refusal_keeps_what_was_typed():
    make_user("ann", "attorney")
    at = app("ann")
    next(t for t in at.text_input if t.label.startswith("Matter id")).input("F-2026-0001")
    next(t for t in at.text_input if t.label == "Client's name").input("Pat Quinlan")
    next(t for t in at.text_area if t.label.startswith("Narrative")).input("Quinlan ran the plate. PC 502(c)(7).")
    next(b for b in at.button if b.label == "Create").click().run()
    assert "the client's role is needed" in at.error[0].value
    assert next(t for t in at.text_input if t.label == "Client's name").value == "Pat Quinlan"      # kept
    role = next(r for r in at.radio if r.label == "Client's role")
    assert "records staff" in role.options and "records_staff" not in role.options                  # words
    role.set_value("dispatcher")
    next(b for b in at.button if b.label == "Create").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    case = at.session_state.case
    assert (case.matter.id, case.matter.title, case.client.role) == ("F-2026-0001", "In re Pat Quinlan", "dispatcher")
    assert case.facts.narrative == "Quinlan ran the plate. PC 502(c)(7)."


def test_the_responsible_attorney_adds_and_removes_a_paralegal_and_nothing_else():
    make_user("ann", "attorney")
    make_user("pat", "paralegal", demo=False)
    make_user("bea", "attorney", demo=False)
    make_user("sam", "staff", demo=False)
    at = app("ann")
    pk = at.session_state.matter_pk
    box = next(s for s in at.selectbox if s.label == "Add a paralegal to this matter's team")
    assert [o for o in box.options] == ["Pat (pat)"]                        # paralegals only, not yet listed
    box.set_value(user("pat").id).run()
    next(b for b in at.button if b.label == "Add to the team").click().run()
    assert not at.exception, at.exception
    assert listed(pk, "pat")
    assert "Pat (paralegal)" in next(m.value for m in at.markdown if m.value.startswith("Listed on this matter"))
    next(b for b in at.button if b.key == f"team-remove-{user('pat').id}").click().run()
    assert not listed(pk, "pat")
    with db.session() as s:
        reasons = [(r.event, r.reason) for r in access_log.query(s, actor=":ann") if r.event.startswith("access-")]
    assert ("access-grant", f"user {user('pat').id}, by a member of the matter's team") in reasons
    assert ("access-revoke", f"user {user('pat').id}, by a member of the matter's team") in reasons

    who = matters.Actor(user("ann"), "t", "t")
    for other in ("bea", "sam"):                                           # an attorney or staff: the administrator's
        with pytest.raises(Forbidden):
            matters.change_team(who, pk, user(other).id, True)
        assert not listed(pk, other)
    with pytest.raises(Forbidden):                                         # a matter ann is not on: the wall
        matters.change_team(matters.Actor(user("bea"), "t", "t"), pk, user("pat").id, True)
    with pytest.raises(Forbidden):                                         # a paralegal keeps no team
        matters.change_team(matters.Actor(user("pat"), "t", "t"), pk, user("pat").id, True)


def test_a_new_paralegal_with_no_matter_is_told_whom_to_ask():
    make_user("root", "admin", demo=False)
    make_user("pat", "paralegal", demo=False)
    at = app("pat")
    shown = "\n".join(i.value for i in at.info)
    assert "No matter is listed for you yet" in shown and "responsible for a matter to add you" in shown
    assert "Root" in shown                                                  # the administrator, by name


def test_a_refused_new_account_keeps_what_the_administrator_typed_and_an_added_one_clears_the_form():
    make_user("root", "admin", demo=False)
    at = app("root")
    at.switch_page("assessment/app/pages/users_view.py").run()
    assert not at.exception, at.exception

    def field(label):
        return next(t for t in at.text_input if t.label == label and (t.key is None or "add_user" in str(t.id)))
    field("User name").input("newbie")
    field("Full name").input("New Paralegal")
    field("First password").input("short")
    next(b for b in at.button if b.label == "Add").click().run()
    assert any("Not added" in e.value for e in at.error)
    assert field("User name").value == "newbie" and field("Full name").value == "New Paralegal"     # kept
    field("First password").input("a long enough first passphrase")
    next(b for b in at.button if b.label == "Add").click().run()
    assert not at.error, [e.value for e in at.error]
    assert field("User name").value == ""                                                           # a new form
    with db.session() as s:
        assert s.execute(select(User).where(User.username == "newbie")).scalar_one().display_name == "New Paralegal"


def form_sign_in(at: AppTest, username: str) -> AppTest:
    from conftest import PASSWORD
    next(t for t in at.text_input if t.label == "User name").input(username)
    next(t for t in at.text_input if t.label == "Password").input(PASSWORD)
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert not at.exception, at.exception
    return at


def test_one_browser_holds_one_user_a_reload_keeps_it_and_sign_out_ends_it_for_every_tab(monkeypatch):
    """The reload cookie (webguard): the tabs of one browser share it. A tab signed in takes the browser
    with it (another tab of it is signed in too, as on any web application); a reload keeps the user;
    signing out in one tab signs every tab out, and the next user's session is never handed to a tab
    of the one before."""
    from assessment.app import state
    make_user("ann", "admin")
    make_user("pat", "paralegal", demo=False)
    browser = secrets.token_urlsafe(32)                         # the guard's memory is the process's
    monkeypatch.setattr(state, "own_browser", lambda: browser)
    first = AppTest.from_file(APP, default_timeout=60)
    first.run()
    second = AppTest.from_file(APP, default_timeout=60)        # a second tab, opened before anyone signed in
    second.run()
    form_sign_in(first, "ann")
    assert first.title[0].value == "Matters"
    reload = AppTest.from_file(APP, default_timeout=60)        # a reload of ann's tab: still ann
    reload.run()
    assert reload.session_state.user.username == "ann" and reload.title[0].value == "Matters"
    second.run()
    assert second.session_state.user.username == "ann"          # the browser's other tab

    next(b for b in reload.button if b.label == "Sign out").click().run()
    first.run()
    second.run()
    assert "user" not in first.session_state and "user" not in second.session_state     # every tab signed out
    form_sign_in(second, "pat")
    assert second.session_state.user.username == "pat"
    first.run()                                                 # ann's old tab is not turned into pat's
    assert "user" not in first.session_state or first.session_state.user.username == "pat"
    fresh = AppTest.from_file(APP, default_timeout=60)
    fresh.run()
    assert fresh.session_state.user.username == "pat"
    with db.session() as s:                                     # ann's session ended with her sign-out
        assert access_log.query(s, event="logout", actor=":ann") != []

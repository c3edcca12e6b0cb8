"""The Review page saves as the user works: a judgment once it has its reason; a judgment waiting for a
new reason keeps the saved one; a judgment on a conclusion not on screen is kept until the attorney
drops it (AppTest)."""

from assessment.core import review

from conftest import app_session, make_user


def review_page():
    make_user("ann", "attorney")
    return app_session("ann", "review_view")


def edit(at, rows: dict) -> None:
    grid = f"case-review-{at.session_state.case_form_gens['review'][0]}-defenses"
    at.session_state[grid] = {"edited_rows": rows, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception, at.exception


def test_a_judgment_waiting_for_a_new_reason_keeps_the_saved_one():
    at = review_page()
    top = at.session_state.result.defenses[0]
    edit(at, {0: {"your judgment": "weak", "reason": "the ORI mismatch is explained"}})
    saved = review.Override(kind="defense", target=top.id, value="weak", reason="the ORI mismatch is explained")
    assert at.session_state.review.overrides == [saved]
    edit(at, {0: {"your judgment": "weak", "reason": ""}})               # the reason cleared while retyping it
    assert any("Not saved yet" in w.value for w in at.warning)
    assert at.session_state.review.overrides == [saved]


def test_a_judgment_on_a_conclusion_not_on_screen_is_kept_until_dropped():
    at = review_page()
    gone = review.Override(kind="defense", target="no-longer-there", value="strong", reason="old reason")
    at.session_state.review = review.Review(overrides=[gone])
    at.run()
    edit(at, {0: {"your judgment": "weak", "reason": "a reason"}})
    assert gone in at.session_state.review.overrides and len(at.session_state.review.overrides) == 2
    next(b for b in at.button if b.label == "Drop the judgments that no longer fit").click().run()
    assert gone not in at.session_state.review.overrides

"""The Facts page: facts saved as they are chosen (nothing lost on leaving the page), what the
narrative names added to the case file with one click, contradictory suggestions shown as one
choice, and a rejected suggestion restored (AppTest)."""
import datetime as dt

import pytest

from conftest import app_session, make_user, saved_case

NARRATIVE = ("On March 3, 2025 the client ran the plate of her former husband Mark Reyes in violation of "
             "PC 530.5(a). {client} disclosed the address to a neighbor. "
             "{client} never disclosed the results to anyone.")


@pytest.fixture
def at():
    make_user("ann", "admin")
    return app_session("ann")


def facts_page(at, narrative: str | None = None):
    if narrative is not None:
        case = at.session_state.case
        text = narrative.format(client=case.client.name)
        at.session_state.case = case.model_copy(update={"facts": case.facts.model_copy(update={"narrative": text})})
    at.switch_page("assessment/app/pages/facts.py").run()
    assert not at.exception, at.exception
    return at


def button(at, label=None, key_start=None):
    return next(b for b in at.button if (label is None or b.label == label)
                and (key_start is None or (b.key or "").startswith(key_start)))


def test_a_fact_chosen_is_saved_at_once_and_still_there_after_leaving_the_page(at):
    facts_page(at)
    box = next(s for s in at.selectbox if s.label.startswith("Results disclosed"))
    new = "no" if box.value != "no" else "yes"
    box.set_value(new).run()
    assert saved_case(at).facts.information_disclosed == new           # no button to forget
    at.switch_page("assessment/app/pages/evidence.py").run()
    facts_page(at)
    assert next(s for s in at.selectbox if s.label.startswith("Results disclosed")).value == new


def test_a_narrative_typed_is_saved_without_a_button(at):
    facts_page(at)
    at.text_area[0].input("Dispatcher notes: nothing further.").run()
    assert saved_case(at).facts.narrative == "Dispatcher notes: nothing further."


def test_a_statute_a_person_and_a_date_in_the_narrative_are_added_with_one_click_each(at):
    facts_page(at, NARRATIVE)
    before = saved_case(at)
    assert "PC 530.5(a)" not in [a.citation for a in before.allegations]
    button(at, "Add as allegation").click().run()
    assert not at.exception, at.exception
    after = saved_case(at)
    assert after.allegations[-1].citation == "PC 530.5(a)" and after.allegations[-1].status == "alleged"
    assert not any(b.label == "Add as allegation" for b in at.button)        # now "already an allegation"

    button(at, "Add as subject").click().run()
    subject = saved_case(at).subjects[-1]
    assert (subject.name, subject.relationship) == ("Mark Reyes", "ex_partner")
    assert not any(b.label == "Add as subject" for b in at.button)           # a subject is not offered again

    field = next(s for s in at.selectbox if (s.key or "").startswith("ent-date-field-"))
    assert button(at, "Set date").disabled                                    # choose which date first
    field.set_value("first_query").run()
    button(at, "Set date").click().run()
    assert saved_case(at).dates.first_query == dt.date(2025, 3, 3)


def test_contradictory_suggestions_are_one_choice_and_a_rejected_one_can_be_restored(at):
    facts_page(at, NARRATIVE)
    assert any("the narrative suggests 2 answers" in m.value for m in at.markdown)
    choices = [b for b in at.button if b.label.startswith("Choose ")]
    assert [b.label for b in choices] == ["Choose A: yes", "Choose B: no"]
    button(at, "Neither").click().run()
    assert not any(b.label.startswith("Choose ") for b in at.button)
    assert at.session_state.case.facts.information_disclosed == saved_case(at).facts.information_disclosed
    restores = [b for b in at.button if b.label == "Restore"]
    assert len(restores) == 2
    restores[0].click().run()
    assert not any(b.label.startswith("Choose ") for b in at.button)           # one left: a single suggestion
    at.toggle(key="show-low-suggestions").set_value(True).run()               # a single one stated both ways is low
    assert any((b.key or "").startswith("accept-information_disclosed-") for b in at.button)
    button(at, "Restore").click().run()
    button(at, "Choose B: no").click().run()
    assert saved_case(at).facts.information_disclosed == "no"


def test_a_date_is_set_on_the_date_chosen_even_after_the_list_above_it_changed(at):
    facts_page(at, "Her neighbor Mark Reyes was queried on March 3, 2025 and again on April 9, 2025 by {client}.")
    first = next(s for s in at.selectbox if (s.key or "").startswith("ent-date-field-"))
    first.set_value("first_query").run()                     # beside 2025-03-03
    button(at, "Add as subject").click().run()                # the list above the dates changes
    target = next(s for s in at.selectbox if (s.key or "").startswith("ent-date-field-") and s.value == "first_query")
    row = target.key.rsplit("-", 1)[-1]
    next(b for b in at.button if b.key == f"ent-set-date-{row}").click().run()
    assert saved_case(at).dates.first_query == dt.date(2025, 3, 3)


def test_a_narrative_changed_in_the_same_round_trip_as_an_accept_is_kept(at):
    facts_page(at, NARRATIVE)
    box = at.text_area[0]
    box.set_value(box.value + " Nothing else was found.")      # typed, not yet sent ...
    button(at, "Choose A: yes").click().run()                  # ... and sent with the click
    assert not at.exception, at.exception
    assert saved_case(at).facts.narrative.endswith("Nothing else was found.")
    assert any("The narrative changed" in s.value for s in at.success)

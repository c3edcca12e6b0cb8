"""The Case page: every field of the case file entered and changed in forms, saved as the user
works, a refused value said and kept as typed (AppTest); and the rules that turn its rows into the
case file (table-driven)."""
import datetime as dt

import pytest

from assessment.app import caseforms, labels

from conftest import app_session, make_user, saved_case


@pytest.fixture
def at():
    make_user("ann", "admin")
    return app_session("ann", "case_view")


def widget(at, kind, label_start):
    return next(w for w in getattr(at, kind) if w.label.startswith(label_start))


def errors(at) -> str:
    return "\n".join(e.value for e in at.error)


def test_client_fields_are_saved_as_typed_and_a_bad_ori_is_refused_and_kept(at):
    widget(at, "text_input", "Agency ORI").input("CA019").run()
    assert "ORI is two letters and seven" in errors(at) and "pattern" not in errors(at)
    assert widget(at, "text_input", "Agency ORI").value == "CA019"       # kept as typed, to be corrected
    before = saved_case(at).client.ori
    assert at.session_state.case.client.ori == before

    widget(at, "text_input", "Agency ORI").input("ca0190000").run()
    widget(at, "text_area", "Operator ids").input("OP4471, OP4471\nop-9;T77").run()
    widget(at, "date_input", "Hire date").set_value(dt.date(2015, 3, 2)).run()
    assert not at.error
    client = saved_case(at).client
    assert client.ori == "CA0190000"
    assert client.operator_ids == ["OP4471", "op-9", "T77"]
    assert client.hire_date == dt.date(2015, 3, 2)


def test_role_stage_and_status_are_words_not_codes(at):
    role = widget(at, "selectbox", "Client's role")
    assert "peace officer" in role.options and "peace_officer" not in role.options
    widget(at, "selectbox", "Client's role").set_value("records_staff").run()
    assert saved_case(at).client.role == "records_staff"
    status = widget(at, "selectbox", "Status")
    assert "charged (complaint filed)" in status.options


def test_an_empty_client_name_is_refused_and_the_saved_name_stays(at):
    name = at.session_state.case.client.name
    widget(at, "text_input", "Client's name").input("   ").run()
    assert "the client's name cannot be empty" in errors(at)
    assert saved_case(at).client.name == name


def test_the_citation_picker_offers_only_what_the_knowledge_base_resolves_sorted_by_section(at, kb):
    offered = widget(at, "selectbox", "Citation").options
    plain = [o.split(" · ")[0] for o in offered]
    assert plain == labels.citation_options(kb)
    assert all(not kb.resolve(c).problem for c in plain)
    pc = [c for c in plain if c.startswith("PC ") and "(" not in c]
    assert pc.index("PC 92") < pc.index("PC 484") < pc.index("PC 502") < pc.index("PC 11142")
    sections = [labels.section_key(*c.split("(")[0].rsplit(" ", 1)) for c in plain]       # every entry, in order
    assert sections == sorted(sections)
    assert pc.index("PC 488") < pc.index("PC 490") < pc.index("PC 490.2") < pc.index("PC 502")
    assert labels.section_key("VC", "1808.45") < labels.section_key("VC", "1808.5")
    assert labels.section_key("GC", "6250") < labels.section_key("GC", "7920.000")


def test_an_allegation_is_added_from_the_picker_and_saved(at):
    before = list(at.session_state.case.allegations)
    widget(at, "selectbox", "Citation").set_value("PC 530.5(a)")
    widget(at, "selectbox", "Status").set_value("charged")
    widget(at, "number_input", "Counts").set_value(3)
    next(b for b in at.button if b.label == "Add allegation").click().run()
    assert not at.exception and not at.error, errors(at)
    added = saved_case(at).allegations
    assert len(added) == len(before) + 1
    assert (added[-1].citation, added[-1].status, added[-1].counts) == ("PC 530.5(a)", "charged", 3)
    assert widget(at, "selectbox", "Citation").value is None            # a fresh form for the next one


def test_a_subject_without_a_name_is_refused_and_the_form_keeps_what_was_typed(at):
    count = len(at.session_state.case.subjects)
    widget(at, "text_input", "Plate").input("8ABC123")
    next(b for b in at.button if b.label == "Add subject").click().run()
    assert "A subject needs a name" in errors(at)
    assert widget(at, "text_input", "Plate").value == "8ABC123"
    assert len(saved_case(at).subjects) == count

    widget(at, "text_input", "Name").input("Jordan Vale")
    widget(at, "selectbox", "Relationship to the client").set_value("ex_partner")
    widget(at, "selectbox", "Protective order").set_value("protects_subject")
    widget(at, "date_input", "Date of birth").set_value(dt.date(1990, 5, 17))
    next(b for b in at.button if b.label == "Add subject").click().run()
    assert not at.error, errors(at)
    subject = saved_case(at).subjects[-1]
    assert (subject.name, subject.relationship, subject.protective_order, subject.dob, subject.plate) == (
        "Jordan Vale", "ex_partner", "protects_subject", dt.date(1990, 5, 17), "8ABC123")


def test_dates_are_saved_marked_when_a_rule_needs_them_and_checked_for_order(at):
    first = widget(at, "date_input", "First query at issue")
    assert first.label.endswith("a rule needs it")
    assert not widget(at, "date_input", "Charges filed").label.endswith("a rule needs it")
    first.set_value(dt.date(2025, 6, 1)).run()
    widget(at, "date_input", "Last query at issue").set_value(dt.date(2025, 5, 1)).run()
    dates = saved_case(at).dates
    assert (dates.first_query, dates.last_query) == (dt.date(2025, 6, 1), dt.date(2025, 5, 1))   # kept as entered
    assert any("Date of the last query (2025-05-01) is before date of the first query (2025-06-01)" in w.value.replace("\\", "")
               for w in at.warning)
    widget(at, "date_input", "Last query at issue").set_value(None).run()
    assert saved_case(at).dates.last_query is None


def test_a_change_made_elsewhere_shows_on_the_case_page(at):
    """The widgets are made again from the case when it changed on another page (no stale value
    written back over it)."""
    case = at.session_state.case
    at.switch_page("assessment/app/pages/facts.py").run()
    at.session_state.case = case.model_copy(update={"client": case.client.model_copy(update={"agency": "Elsewhere PD"})})
    at.switch_page("assessment/app/pages/case_view.py").run()
    assert widget(at, "text_input", "Agency").value == "Elsewhere PD"
    assert saved_case(at).client.agency == "Elsewhere PD"


# ---- the rules behind the grids --------------------------------------------------------------------
@pytest.mark.parametrize("rows, want, problem", [
    ([{"citation": "PC 502(c)(7)", "status": "charged", "counts": 2}], [("PC 502(c)(7)", "charged", 2)], None),
    ([{"citation": None, "status": None, "counts": None}], [], None),                      # a new row, not filled in
    ([{"citation": " VC 1808.45 ", "status": None, "counts": None}], [("VC 1808.45", "alleged", 1)], None),
    ([{"citation": "PC 999", "status": "charged", "counts": 1}], [], "row 1: 'PC 999' is not in the knowledge base"),
    ([{"citation": "PC 502(c)(99)", "status": "charged", "counts": 1}], [], "no subdivision (c)(99)"),
    ([{"citation": "PC 502", "status": "charged", "counts": 2.5}], [], "counts must be a whole number"),
    ([{"citation": "PC 502", "status": "charged", "counts": 0}], [], "row 1: counts"),
    ([{"citation": None, "status": "charged", "counts": 3}], [], "row 1: choose a citation"),
    ([{"citation": "PC 502", "status": "charged"}, {"citation": "PC 502", "status": "alleged"}],
     [("PC 502", "charged", 1), ("PC 502", "alleged", 1)], "PC 502 is listed twice; raise its counts instead"),
])
def test_allegation_rows(kb, rows, want, problem):
    got, bad = caseforms.allegations_from_rows(rows, kb)
    assert [(a.citation, a.status, a.counts) for a in got] == want
    assert (problem is None and not bad) or (problem and any(problem in b for b in bad)), bad


@pytest.mark.parametrize("rows, want, problem", [
    ([{"name": "A. Person", "relationship": "friend", "plate": "8abc123"}], [("A. Person", "friend", "8ABC123")], None),
    ([{"name": None, "relationship": None}], [], None),
    ([{"name": "", "plate": "8ABC123"}], [], "row 1: a subject needs a name"),
    ([{"name": "A. Person", "relationship": "cousin"}], [], "Subjects: row 1: relationship"),
    ([{"name": "A. Person"}, {"name": "a. person"}], [("A. Person", "unknown", None), ("a. person", "unknown", None)],
     "listed twice"),
    ([{"name": "A. Person", "dob": "1990-13-40"}], [], "date of birth"),
])
def test_subject_rows(rows, want, problem):
    got, bad = caseforms.subjects_from_rows(rows)
    assert [(s.name, s.relationship, s.plate) for s in got] == want
    assert (problem is None and not bad) or (problem and any(problem in b for b in bad)), bad


def test_ids_are_split_trimmed_and_kept_once():
    assert caseforms.ids(" A1, B2;\nA1\n\n C3 ") == ["A1", "B2", "C3"]


def test_enrolling_the_second_factor_shows_the_key_as_a_qr_code(at):
    """The Account page: a QR code of the otpauth:// key beside the key itself (a PNG drawn on the server)."""
    import segno

    from assessment.app import gate
    from assessment.firm import accounts
    at.switch_page("assessment/app/pages/account.py").run()
    assert len([e for e in at.main if getattr(e, "type", "") == "image"]) == 1
    secret = at.session_state.totp_new
    uri = accounts.totp_uri(at.session_state.user, secret)
    png = gate.totp_qr(uri)
    # the image's modules, read back from its pixels, are the QR code of the key's address
    import io

    from PIL import Image
    image = Image.open(io.BytesIO(png)).convert("L")
    matrix = segno.make(uri, error="m").matrix
    size, scale, border = len(matrix), 6, 4
    assert image.size == ((size + 2 * border) * scale,) * 2
    read = [[image.getpixel(((x + border) * scale + scale // 2, (y + border) * scale + scale // 2)) < 128
             for x in range(size)] for y in range(size)]
    assert read == [[bool(v) for v in row] for row in matrix]
    assert "secret=" + secret in uri
    assert any(" ".join(secret[i:i + 4] for i in range(0, len(secret), 4)) in c.value for c in at.code)


@pytest.mark.parametrize("code, shown", [
    ("%m/%d/%Y %I:%M %p", "MM/DD/YYYY hh:mm AM/PM, e.g. 03/09/2025 02:05 PM (12-hour clock)"),
    ("%Y-%m-%d %H:%M:%S", "YYYY-MM-DD hh:mm:ss, e.g. 2025-03-09 14:05:30 (24-hour clock)"),
    ("%d-%b-%y", "DD-Mon-YY, e.g. 09-Mar-25"),
])
def test_date_format_codes_are_shown_as_a_pattern_and_an_example(code, shown):
    assert labels.date_format(code) == shown


def test_enum_values_and_mapped_columns_read_as_words():
    assert labels.enum("peace_officer") == "peace officer" and labels.enum("protects_subject").startswith("protects")
    assert labels.meaning("oln") == "licence number" and labels.meaning("case_number") == "case number"

"""Clean generated prose (core/text.py)."""
import pytest

from assessment.core.text import first_sentence, plural, reflow, sentence, unend


@pytest.mark.parametrize("n, word, out", [(1, "query", "1 query"), (2, "query", "2 queries"), (0, "count", "0 counts"),
                                          (2, "y", "2 ys"), (2, "day", "2 days"),
                                          (1, "authority", "1 authority"), (3, "day", "3 days"), (21, "row", "21 rows")])
def test_plural(n, word, out):
    assert plural(n, word) == out


@pytest.mark.parametrize("text, out", [("Up to $5,000.", "Up to $5,000"), ("(364 days, § 18.5).", "(364 days, § 18.5)"),
                                       ("and more ...", "and more ..."), ("none", "none"), ("  x.  ", "x")])
def test_unend_drops_one_closing_full_stop_and_keeps_an_ellipsis(text, out):
    assert unend(text) == out


@pytest.mark.parametrize("text, out", [("It ran", "It ran."), ("It ran.", "It ran."), ("Is it?", "Is it?"),
                                       ("It ran..", "It ran."), ('He said "no."', 'He said "no."'), ("", ""),
                                       ("a list,", "a list."), ("so:", "so.")])
def test_sentence_ends_once(text, out):
    assert sentence(text) == out


def test_reflow_does_not_break_at_a_wrapped_year_or_number():
    assert reflow("On May 2,\n2025. She called.") == ["On May 2, 2025. She called."]
    assert reflow("Items:\n1) first\n2) second") == ["Items:", "1) first", "2) second"]
    assert reflow("(a) one;\n(b) two.") == ["(a) one;", "(b) two."]


def test_reflow_joins_hard_line_breaks_and_keeps_paragraphs_and_bullets():
    typed = "One line\nbroken here.\n\nA second\r\nparagraph.\n- a bullet\n- another\n  continued"
    assert reflow(typed) == ["One line broken here.", "A second paragraph.", "- a bullet", "- another continued"]
    assert reflow("") == [] and reflow("   \n\n") == []


@pytest.mark.parametrize("text, out", [
    ("Pen. Code § 29800(a)(1) makes it a felony. A second sentence.", "Pen. Code § 29800(a)(1) makes it a felony."),
    ("People v. Childs (2013) 164 Cal.Rptr.3d 287 holds so. Then more.", "People v. Childs (2013) 164 Cal.Rptr.3d 287 holds so."),
    ("See 18 U.S.C. § 2724. More.", "See 18 U.S.C. § 2724."),
    ("No full stop at all", "No full stop at all"),
    ("Is it barred? Then more.", "Is it barred?"),
])
def test_first_sentence_is_not_cut_inside_a_citation(text, out):
    assert first_sentence(text) == out


def test_first_sentence_cuts_a_long_sentence_at_a_word_and_says_so():
    out = first_sentence("word " * 100, limit=50)
    assert out.endswith(" ...") and len(out) <= 54 and "wor ..." not in out

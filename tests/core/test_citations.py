import pytest

from assessment.core.citations import parse_citation


@pytest.mark.parametrize("text, expected", [
    ("PC 502(c)(7)", "PC 502(c)(7)"),
    ("pc 502 (c) (2)", "PC 502(c)(2)"),
    ("PC §502(C)(7)", "PC 502(c)(7)"),
    ("VC 1808.45", "VC 1808.45"),
    ("GC 15153", "GC 15153"),
    ("18 USC 1030(a)(2)", "18 USC 1030(a)(2)"),
    ("18 U.S.C. 1030(a)(2)", "18 USC 1030(a)(2)"),
    ("PC 146G", "PC 146g"),
    ("PC 538d(b)(1)", "PC 538d(b)(1)"),
])
def test_short_forms_normalise(text, expected):
    assert str(parse_citation(text)) == expected


@pytest.mark.parametrize("text", ["Penal Code 502", "PC", "502(c)(7)", "PC 502(c", "XX 12"])
def test_non_citations_are_rejected(text):
    assert parse_citation(text) is None

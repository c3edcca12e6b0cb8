import pytest

from assessment.law import conditions


@pytest.mark.parametrize("text, kind, key, op, value", [
    ("fact:stated_purpose=personal", "fact", "stated_purpose", "=", "personal"),
    ("finding:subject-queries", "finding", "subject-queries", ">=", "1"),
    ("finding:subject-queries=0", "finding", "subject-queries", "=", "0"),
    ("finding:subject-queries>=3", "finding", "subject-queries", ">=", "3"),
    ("client.role=dispatcher", "client.role", "role", "=", "dispatcher"),
    ("subject.protective_order=protects_subject", "subject.protective_order", "protective_order", "=", "protects_subject"),
    ("charge:PC 502 (c)(7)", "charge", "PC 502(c)(7)", "", ""),
    ("computed:training-late", "computed", "training-late", "", ""),
])
def test_parse(text, kind, key, op, value):
    c = conditions.parse(text)
    assert (c.kind, c.key, c.op, c.value) == (kind, key, op, value)


@pytest.mark.parametrize("text, error", [
    ("facts:stated_purpose=personal", ValueError),
    ("fact:stated_purpose=curious", LookupError),
    ("fact:mood=yes", LookupError),
    ("finding:everything", LookupError),
    ("client.role=sheriff", LookupError),
    ("computed:moon-phase", LookupError),
])
def test_bad_conditions_say_why(text, error):
    with pytest.raises(error):
        conditions.parse(text)


def test_the_engine_must_give_exactly_the_computed_values_the_conditions_accept():
    every = {name: False for name in conditions.COMPUTED}
    assert conditions.computed_values(every) == every
    with pytest.raises(ValueError, match="training-late"):
        conditions.computed_values({k: v for k, v in every.items() if k != "training-late"})
    with pytest.raises(ValueError, match="moon-phase"):
        conditions.computed_values(every | {"moon-phase": True})

"""The literal prefilter must never change what a pattern finds: it only skips text where the
pattern cannot match."""
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assessment.law import nlp
from assessment.narrative import prefilter, rules


@pytest.mark.parametrize("pattern, flags, want", [
    (r"\b(?:paid|was\s+paid)\b", re.I, {"paid"}),
    (r"\bshares?\s+(?:his|her)\s+password", re.I, {"password"}),
    (r"(?:gave|handed)\s+(?:the\s+)?(?:printout|results)", re.I, {"printout", "results"}),   # the rarer
    (r"(?:gave|handed)\s+(?:it|them)", re.I, {"gave", "handed"}),
    (r"\b(?:he|she)\b", re.I, None),                 # only short strings: scan everything
    (r"\d{2}-\d{5}", 0, None),                       # no literal at all
    (r"(?:colou?r)\s+of", re.I, {"colo"}),
    (r"(?:x)?(?:abc)+d", 0, {"abc"}),                # an optional part is never required
])
def test_required_literals(pattern, flags, want):
    got = prefilter.required_literals(re.compile(pattern, flags))
    assert got == (frozenset(want) if want else None)


WORDS = ["paid", "Paid", "PAID", "was", "paid.", "password", "he", "shared", "her", "the", "client",
         "Dispatcher", "Lee", "Kim", "ſhared", "İstanbul", "\n\n", ",", "(", "Officer", "sgt.", "K"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=300), st.sampled_from([1, 3, 40, 200]))
def test_prefiltered_scans_find_exactly_what_a_full_scan_finds(words, reach):
    text = " ".join(words)
    low = prefilter.lowered(text)
    old = prefilter.REACH
    prefilter.REACH = max(reach, 40)
    try:
        patterns = [rx for *_, rx, _n, lits in rules.entity_patterns(str(nlp.nlp_dir()))]
        patterns += [t[3] for t in rules.compiled(str(nlp.nlp_dir())).triggers[:30]]
        for rx in patterns:
            lits = prefilter.required_literals(rx)
            assert [m.span() for m in prefilter.finditer(rx, text, low, lits)] == [m.span() for m in rx.finditer(text)]
    finally:
        prefilter.REACH = old


def test_text_that_lower_casing_would_shift_or_fold_differently_is_scanned_in_full():
    assert prefilter.lowered("Paid IN cash") == "paid in cash"
    assert prefilter.lowered("İstanbul") is None         # lower() adds a combining dot: offsets shift
    assert prefilter.lowered("ſhared") is None           # re folds the long s to s; lower() keeps it

import datetime as dt
import json

import pytest

from assessment.core import casefile
from assessment.evidence import analyse as evidence
from assessment.law import engine, limitations
from assessment.law.kb import DEFENSE_IDS, Factor, LimitationRule

from conftest import DEMO, case_text, run_cli

AS_OF = dt.date(2026, 11, 30)


def assess_text(kb, text, as_of=AS_OF):
    """The published JSON (as a dict) of a case with no audit log."""
    return engine.assess(casefile.loads(text, "t.yaml", kb), kb, None, as_of).model_dump(mode="json")


def demo(kb, name, as_of=AS_OF):
    """The published JSON (as a dict) of a demo case, its evidence analysed as the CLI does."""
    folder = DEMO / name
    case = casefile.load(folder / "case.yaml", kb)
    return engine.assess(case, kb, evidence.analyse(case, folder), as_of).model_dump(mode="json")


def by_id(items, key="id"):
    return {x[key]: x for x in items}


def test_output_is_byte_identical_across_runs():
    args = ("assess", str(DEMO / "off-duty-lookups" / "case.yaml"), "--json", "--as-of", "2026-11-30")
    first, second = run_cli(*args), run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    data = json.loads(first.stdout)
    assert data["format"] == "clets-assessment/1" and data["as_of"] == "2026-11-30"


def test_the_engine_assesses_the_evidence_it_is_given_and_reads_nothing(kb, monkeypatch):
    """The caller analyses; the engine only computes: with the analysis and DuckDB made to fail, an
    assessment still comes from an evidence result handed in, and its findings are that result's."""
    folder = DEMO / "front-counter-login"
    case = casefile.load(folder / "case.yaml", kb)
    ev = evidence.analyse(case, folder)

    def refuse(*args, **kwargs):
        raise AssertionError("the engine must not analyse evidence or open DuckDB")
    monkeypatch.setattr(evidence, "analyse", refuse)
    monkeypatch.setattr(evidence.duckdb, "connect", refuse)
    result = engine.assess(case, kb, ev, AS_OF)
    assert result.finding_counts() == {fid: f.count for fid, f in ev.findings.items()}
    assert result.evidence.client_queries == ev.client_queries
    without = engine.assess(case, kb, None, AS_OF)          # None: no audit log loaded, whatever the case file names
    assert without.findings == [] and without.evidence is None
    assert any("No audit log is loaded" in q for q in without.open_questions)


def test_every_defense_appears_ranked(kb):
    r = demo(kb, "off-duty-lookups")
    assert sorted(d["id"] for d in r["defenses"]) == sorted(DEFENSE_IDS)
    order = ["strong", "moderate", "weak", "not-supported"]
    ranks = [order.index(d["strength"]) for d in r["defenses"]]
    assert ranks == sorted(ranks)


def test_findings_carry_rows_in_spec_order(kb):
    r = demo(kb, "front-counter-login")
    assert [f["id"] for f in r["findings"]][:5] == ["subject-queries", "off-duty-subject-queries",
                                               "subject-queries-without-case-number",
                                               "unassigned-terminal-queries", "queries-before-training"]
    truth = json.loads((DEMO / "front-counter-login" / "truth.json").read_text())
    assert by_id(r["findings"])["subject-queries"]["rows"] == truth["subject_query_rows"]


def test_shared_login_case_makes_mistaken_identity_moderate_by_its_strongest_factor(kb):
    d = by_id(demo(kb, "front-counter-login")["defenses"])
    mi = d["mistaken-identity"]
    # shared credentials and unassigned terminals make reasonable doubt likely (substantial), but no
    # evidence excludes the client: moderate, however many such factors hold
    assert mi["strength"] == "moderate" and len(mi["reasons_for"]) >= 2
    assert mi["summary"].startswith("Moderate: ") and "(substantial" in mi["summary"]
    assert {"fact:credentials_shared", "finding:unassigned-terminal-queries"} <= set(mi["basis"])
    assert d["administrative-limitations"]["strength"] == "not-supported"  # a dispatcher, not a peace officer


def test_charged_officer_case(kb):
    r = demo(kb, "off-duty-lookups")
    st = by_id(r["statutes"], "citation")
    assert st["PC 502(c)(2)"]["source"] == "charged" and st["PC 502(c)(2)"]["classification"] == "wobbler"
    assert st["VC 1808.45"]["classification"] == "misdemeanor"
    assert st["PC 502(c)(7)"]["source"] == "suggested" and st["PC 502(c)(7)"]["why"]
    assert st["VC 1808.45"]["limitation"]["status"] == "running"  # charged within a year of the first query
    d = by_id(r["defenses"])
    assert d["mistaken-identity"]["strength"] == "not-supported"
    assert d["constitutional"]["strength"] in {"moderate", "strong"}
    # the year would have run on 2026-05-02, but the prosecution pending since 2025-08-14 tolls it
    assert d["administrative-limitations"]["strength"] == "not-supported"
    assert r["computed"]["pobr"]["status"] == "tolled" and r["computed"]["pobr"]["tolled_from"] == "2025-08-14"
    assert any(a["id"] == "teran-2025" and not a["verified"] for a in r["authorities"])
    assert any(u["id"] == "teran-2025" for u in r["unverified"])


@pytest.mark.parametrize("facts, element, status", [
    ("facts:\n  information_disclosed: yes", "take-copy-use", "supported"),
    ("facts:\n  information_disclosed: no", "take-copy-use", "contested"),
    ("", "take-copy-use", "unknown"),
    ("facts:\n  stated_purpose: personal\n  supervisor_authorized: yes", "without-permission", "contested"),
    ("facts:\n  stated_purpose: personal", "without-permission", "supported"),
])
def test_element_status_follows_the_facts(kb, facts, element, status):
    text = case_text(allegations='allegations:\n  - {citation: "PC 502(c)(2)", status: charged}', facts=facts)
    (st,) = [s for s in assess_text(kb, text)["statutes"] if s["citation"] == "PC 502(c)(2)"]
    el = by_id(st["elements"])[element]
    assert el["status"] == status
    assert el["basis"]


def test_unknown_facts_become_open_questions(kb):
    r = assess_text(kb, case_text())
    assert any("purpose" in q for q in r["open_questions"])
    assert any("No audit log is loaded" in q for q in r["open_questions"])
    known = assess_text(kb, case_text(facts="facts:\n  stated_purpose: official"))
    assert len(known["open_questions"]) == len(r["open_questions"]) - 1


def test_facts_suggest_statutes_with_reasons(kb):
    r = assess_text(kb, case_text(facts="facts:\n  communications_recorded: yes\n  impersonation: yes"))
    st = by_id(r["statutes"], "citation")
    assert set(st) == {"PC 632(a)", "PC 529(a)"}
    assert all(s["source"] == "suggested" and s["why"][0]["basis"] for s in st.values())


def test_pc_92_cited_as_obstruction_is_corrected(kb):
    r = assess_text(kb, case_text(allegations='allegations:\n  - {citation: "PC 92", status: alleged}'))
    (st,) = r["statutes"]
    assert st["classification"] == "felony"
    assert "obstruction" in st["misdescriptions"][0]["claim"].lower()


@pytest.mark.parametrize("years, starts, cap, dates, status", [
    (1, "commission", None, {"first_query": "2025-01-10", "last_query": "2025-03-01", "charges_filed": "2025-12-01"}, "running"),
    (1, "commission", None, {"first_query": "2025-01-10", "last_query": "2025-03-01", "charges_filed": "2026-02-01"},
     "partly-expired"),
    (1, "commission", None, {"first_query": "2025-01-10", "last_query": "2025-03-01", "charges_filed": "2026-03-02"}, "expired"),
    (1, "commission", None, {"first_query": "2025-01-10"}, "expired"),  # compared with as_of 2026-11-30
    (3, "discovery", 6, {"first_query": "2019-01-10", "agency_discovered": "2024-06-01", "charges_filed": "2025-06-01"},
     "expired"),
    (3, "discovery", 6, {"first_query": "2024-01-10", "agency_discovered": "2024-06-01", "charges_filed": "2025-06-01"},
     "running"),
    (3, "discovery", None, {"first_query": "2024-01-10"}, "unknown"),
    (4, "later_of_discovery_or_completion", None, {"first_query": "2020-01-10", "last_query": "2020-02-01",
                                                    "agency_discovered": "2021-01-05", "charges_filed": "2025-01-06"}, "expired"),
    (4, "later_of_discovery_or_completion", None, {"first_query": "2020-01-10", "last_query": "2020-02-01",
                                                    "agency_discovered": "2021-01-05", "charges_filed": "2025-01-04"}, "running"),
])
def test_limitation_periods(kb, years, starts, cap, dates, status):
    rule = LimitationRule(id="t", authority="test", text="t", codes=["PC"], years=years, starts=starts, cap_years=cap,
                          source="test", verified=False)
    text = case_text(dates="dates:\n" + "\n".join(f"  {k}: {v}" for k, v in dates.items()))
    res = limitations.compute(rule, "felony", casefile.loads(text, "t.yaml", kb), AS_OF)
    assert res.status == status


def test_latest_expiring_period_governs(kb):
    # PC 530.5(c)(1), a misdemeanor: § 802(a) runs from the query, § 803.5 from discovery; the later one governs
    text = case_text(allegations='allegations:\n  - {citation: "PC 530.5(c)(1)", status: charged}',
                     dates="dates:\n  first_query: 2024-01-10\n  agency_discovered: 2025-06-01\n  charges_filed: 2026-03-01")
    (st,) = assess_text(kb, text)["statutes"]
    lim = st["limitation"]
    assert {c["rule"] for c in lim["candidates"]} == {"pc-802a", "pc-803-5"}
    assert lim["rule"] == "pc-803-5" and lim["status"] == "running" and "803.6(a)" in lim["explanation"]


@pytest.mark.parametrize("first, last, filed, pc_801, pc_801_7, governing", [
    # § 801.7(b): acts before 2022 whose § 801 period had not elapsed on 2022-01-01 are reached
    ("2019-05-01", "2019-06-01", "2023-03-01", "expired", "running", "running"),
    # ... and acts already barred by then are not revived
    ("2018-05-01", "2018-06-01", "2023-03-01", "expired", "not-applicable", "expired"),
    # only the latest act is reached: the earliest keeps its § 801 deadline (2021-12-01)
    ("2018-12-01", "2019-02-01", "2023-03-01", "expired", "partly-expired", "partly-expired"),
])
def test_pc_801_7_reaches_earlier_acts_not_yet_barred_on_1_january_2022(kb, first, last, filed, pc_801, pc_801_7,
                                                                          governing):
    text = case_text(allegations='allegations:\n  - {citation: "PC 502(c)(2)", status: charged}',
                     dates=f"dates:\n  first_query: {first}\n  last_query: {last}\n  agency_discovered: 2021-06-01\n"
                           f"  charges_filed: {filed}")
    (st,) = [s for s in assess_text(kb, text)["statutes"] if s["citation"] == "PC 502(c)(2)"]
    by_rule = {c["rule"]: c["status"] for c in st["limitation"]["candidates"]}
    assert by_rule == {"pc-801": pc_801, "pc-801-7": pc_801_7}
    assert st["limitation"]["status"] == governing


def test_leap_day_and_six_month_rule():
    assert limitations.add_years(dt.date(2024, 2, 29), 1) == dt.date(2025, 2, 28)
    assert limitations.add_months(dt.date(2025, 8, 31), 6) == dt.date(2026, 2, 28)


def test_late_training_supports_lack_of_training(kb):
    client = ("client:\n  name: A\n  role: dispatcher\n  operator_ids: [OP1]\n  assignment_date: 2023-01-09\n"
              "  clets_training_date: 2023-09-15")
    d = by_id(assess_text(kb, case_text(client=client))["defenses"])
    # late training is mitigation only (supporting): weak, never a defense to knowing access
    assert d["lack-of-training"]["strength"] == "weak"
    assert "Training came more than six months" in d["lack-of-training"]["reasons_for"][0]["reason"]


def test_assess_command_reports_errors_with_exit_code(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text(case_text(allegations='allegations:\n  - {citation: "PC 502(c)(99)", status: charged}'))
    out = run_cli("assess", str(bad), "--json")
    assert out.returncode == 1 and "CF005" in out.stderr and out.stdout == ""


def _f(weight, scope="every-count", contested=False):
    return Factor(when=["fact:financial_gain=no"], reason=f"{weight} {scope}.", weight=weight, scope=scope,
                  contested=contested)


@pytest.mark.parametrize("held_for, held_against, strength", [
    ([], [], "not-supported"),
    ([], [_f("dispositive")], "not-supported"),
    ([_f("dispositive")], [], "strong"),
    ([_f("dispositive", contested=True)], [], "moderate"),                # a contested bar
    ([_f("dispositive", "some-counts")], [], "moderate"),
    ([_f("dispositive", "some-acts")], [], "weak"),                       # a bar on some acts only
    ([_f("substantial")], [], "moderate"),
    ([_f("supporting")] * 5, [], "weak"),                                 # five supporting factors are still weak
    ([_f("substantial"), _f("substantial"), _f("substantial")], [], "moderate"),   # no counting
    ([_f("dispositive")], [_f("supporting")], "strong"),                  # a weaker factor against does not lower it
    ([_f("substantial")], [_f("substantial")], "weak"),                   # as strong against: one band lower
    ([_f("dispositive")], [_f("dispositive")], "weak"),                   # dispositive against: at most weak
    ([_f("substantial")], [_f("dispositive")], "weak"),
    ([_f("supporting")], [_f("dispositive")], "not-supported"),           # outweighed by two bands
    ([_f("supporting")], [_f("substantial")], "weak"),
])
def test_strength_follows_the_legal_effect_of_the_strongest_factor(held_for, held_against, strength):
    got, why = engine.strength_of(held_for, held_against)
    assert got == strength
    assert ".." not in why and why.startswith("Not supported, outweighed: " if strength == "not-supported" and held_for
                                              else "No fact" if strength == "not-supported"
                                              else strength.capitalize() + ": ")

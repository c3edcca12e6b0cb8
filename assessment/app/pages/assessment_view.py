"""The Assessment page: the bottom line first (the memo's brief answer), then the details behind
collapsed expanders. Every conclusion shows its basis in words, each piece a link to the page it
comes from (the Evidence page for audit rows, the Facts page for facts and the narrative, the
Knowledge base page for its entries); every unverified item is marked where it is used and listed
at the end. All case and knowledge-base text is shown through md_escape."""
from collections import Counter

import pandas as pd
import streamlit as st

from assessment.app import state as ui
from assessment.app.state import md_escape as esc
from assessment.core.errors import AssessmentError
from assessment.core.text import plural, sentence
from assessment.law.model import Assessment, Authority, Defense
from assessment.memo import brief
from assessment.memo.render import DEFENSE_RULE
from assessment.memo.words import Source, Words

PAGES = {"audit": ("assessment/app/pages/evidence.py", ":material/table_rows:"),     # where each kind of basis lives
         "fact": ("assessment/app/pages/facts.py", ":material/edit_note:"),
         "narrative": ("assessment/app/pages/facts.py", ":material/notes:"),
         "kb": ("assessment/app/pages/knowledge_view.py", ":material/menu_book:"),
         "computed": ("assessment/app/pages/chronology_view.py", ":material/timeline:")}
CASE_PAGE_FACTS = {"client", "dates", "allegations", "subjects", "matter"}   # what the Case page holds
SCOPE = {"some-counts": "on some counts only", "some-acts": "on some acts only"}
KINDS = {"heading": "code heading", "discovery": "discovery item", "penalty": "penalty tier",
         "limitation": "limitation rule"}
ORDER = {"not-supported": 0, "weak": 1, "moderate": 2, "strong": 3}


def strength(value: str) -> str:
    return value.replace("-", " ")


def links(parts: list[Source], lead: str = "Basis") -> None:
    """The pieces of a basis in a row, each a link to the page it comes from (plain where the app
    has no such page)."""
    if not parts:
        return
    with st.container(horizontal=True, gap="small", vertical_alignment="center"):
        st.caption(f"{lead}:", width="content")
        for part in parts:
            page, icon = PAGES.get(part.kind, (None, None))
            if part.kind == "fact" and any(i.split(":", 1)[-1].split(".")[0].split("[")[0] in CASE_PAGE_FACTS
                                           for i in part.ids):
                page = "assessment/app/pages/case_view.py"        # entered on the Case page, not Facts
            if page:
                st.page_link(page, label=esc(part.text), icon=icon)
            else:
                st.caption(esc(part.text), width="content")


def authority_status(a: Authority | None) -> str:
    """As the memo states it: verified, or UNVERIFIED with what is not."""
    if a is None:
        return ":red[**UNVERIFIED:** not in this assessment's list of authorities]"
    if a.verified and a.holding_verified:
        return "verified"
    what = ("citation and holding" if not a.verified and not a.holding_verified
            else "citation" if not a.verified else "holding")
    return f":red[**UNVERIFIED: {what}**]"


def effect(factor) -> str:
    """A knowledge-base factor's legal effect as the engine states it: weight, scope, contested."""
    return (factor.weight + (f", {SCOPE[factor.scope]}" if factor.scope in SCOPE else "")
            + (", on a contested reading" if factor.contested else ""))


st.title("Assessment")
result: Assessment = ui.result_or_stop("The case cannot be assessed")
st.caption(f"As of {result.as_of.isoformat()}. The bottom line first, then the details behind each heading. Every "
           "conclusion lists its basis (the facts, audit rows and knowledge-base entries it rests on), each a link "
           "to the page it comes from.")
words = Words(result, ui.case())

try:                                                  # the same brief answer as the memo: the attorney's review applied
    reviewed = result.reviewed(ui.review())
except AssessmentError:                               # a judgment that no longer fits is shown on the Review page
    reviewed = result
answer = brief.brief(reviewed, ui.case())
counts = brief.case_counts(reviewed)
top = brief.most_serious(reviewed)
lead = [d for d in reviewed.defenses if d.strength != "not-supported"][:2]
raised = {c.id: c for fam in reviewed.collateral for c in fam.consequences}
risk = next((raised[c] for c in brief.COLLATERAL_ORDER if c in raised), None)
basis_of = {   # what each point rests on, as brief.brief chooses it
    "Most serious exposure": [f"kb:{top.statute_id}"] if top else [],
    "Limitation": sorted({b for s in counts if s.limitation for b in s.limitation.basis}),
    "Strongest defenses": [b for d in lead for r in (d.reasons_for or d.reasons_against)[:1] for b in r.basis],
    "Largest collateral risk": risk.basis if risk else []}
points = {pt.label: pt for pt in answer.points}
if not top:
    points.setdefault("Most serious exposure", brief.Point(
        "Most serious exposure", "None: the facts suggest no statute the knowledge base holds."))
if "Limitation" not in points:
    points["Limitation"] = brief.Point("Limitation", (
        f"No count is named in the case file. For {top.citation}, which the facts suggest: "
        f"{brief.limitation_line(top)}." if top else "No count is named in the case file, so no period is measured."))
    basis_of["Limitation"] = sorted(top.limitation.basis) if top and top.limitation else []
if "Largest collateral risk" not in points:
    points["Largest collateral risk"] = brief.Point(
        "Largest collateral risk", "None of the consequences the brief answer ranks (the POST certificate and eligibility "
        "to serve, the pension, the job, firearms, the Brady list, CLETS access, DPPA liability) is raised on these "
        "facts; any others are under What each outcome costs.")
ordered = [points[k] for k in ("Most serious exposure", "Limitation", "Strongest defenses", "Largest collateral risk")
           if k in points] + [pt for k, pt in points.items() if k not in basis_of]

st.header("Brief answer")
st.write(esc(answer.answer))
for pt in ordered:
    parts = words.parts(basis_of.get(pt.label, []))
    if pt.label == "Most serious exposure" and top:
        parts = [Source(f"Knowledge base: {top.citation}", "kb", (f"kb:{top.statute_id}",))]
    said = "; ".join(p.text for p in parts)
    shown = pt.source and pt.source not in (said, said + "; UNVERIFIED")   # the source in words where no link says it
    flag = ":red" if "UNVERIFIED" in pt.source else ":gray"
    st.markdown(f"- **{esc(pt.label)}:** {esc(pt.text)}" + (f"  \n  {flag}[{esc(pt.source)}]" if shown else "")
                + ("  \n  :red[**UNVERIFIED**]" if "UNVERIFIED" in pt.source and not shown else ""))
    links(parts)
st.markdown("**Open questions that matter most**\n" + ("\n".join(f"{i}. {esc(q)}" for i, q in enumerate(answer.questions, 1))
                                                       if answer.questions else "\nNone: no open question is recorded."))
if result.unverified:
    kinds = Counter(KINDS.get(u.kind, u.kind) for u in result.unverified)
    st.error(f"**{plural(len(result.unverified), 'item')} this assessment relies on "
             f"{'are' if len(result.unverified) != 1 else 'is'} not verified** ("
             + ", ".join(esc(plural(n, k)) for k, n in kinds.items())
             + "): each is marked UNVERIFIED where it is used and listed under Unverified items at the end. "
               "Check them before advising.")

st.header("What to investigate first")
ranked = [p for p in result.investigation_priorities if p.changes]
st.caption("Each open question (an unknown fact, a missing date a rule needs) was answered every possible way and "
           "the case assessed again: ranked by what the answer would change, a defense that would decide the case "
           "first, then new or barred counts, then other defenses, collateral consequences and elements.")
for p in ranked[:5]:
    st.markdown(f"{p.rank}. **{esc(p.question)}**  \n{esc(p.impact)}"
                + (f"  \n:gray[Investigate: {esc(p.investigation)}]" if p.investigation else "")
                + (f"  \n:gray[Request: {esc(p.discovery_request)}]" if p.discovery_request else ""))
if not ranked:
    st.write("No open question: no unknown fact or missing date would change a conclusion of this assessment."
             if not result.investigation_priorities else
             f"None of the {len(result.investigation_priorities)} open questions would change a conclusion.")
if result.investigation_priorities:
    with st.expander(f"All {len(result.investigation_priorities)} open questions, every answer tried"):
        st.table(pd.DataFrame([{"#": p.rank, "question": p.question,
                                "answers tried": "; ".join(
                                    f"{a.label}: {len(a.changes)} change{'' if len(a.changes) == 1 else 's'}"
                                    for a in p.answers),
                                "what changes": p.impact, "investigate": p.investigation,
                                "discovery request": p.discovery_request} for p in result.investigation_priorities]
                              ).set_index("#"))

st.header("What each outcome costs")
if result.dispositions:
    st.caption("For this client's role, each way the case can end and what it costs (\u2020: a rule not verified in its "
               "source). Open the table for every outcome in a few words, or an outcome for each cell in full with "
               "its rule and basis.")
    headings = [c.heading for c in result.dispositions[0].cells]
    with st.expander(f"Table: {len(result.dispositions)} outcomes, each under {len(headings)} headings"):
        st.table(pd.DataFrame([{"outcome": d.label + ("" if d.available else " (not open)"),
                                **{c.heading: ((c.short or c.status.replace("-", " ")) + ("" if c.verified else " \u2020")
                                               if d.available else (d.availability if c.column == "criminal" else ""))
                                   for c in d.cells}} for d in result.dispositions]).set_index("outcome")[headings])
    for d in result.dispositions:
        flag = sum(not c.verified for c in d.cells)
        with st.expander(esc(f"{d.label}: each cell in full" + ("" if d.available else " (not open)")
                             + (f" ({flag} rule{'s' if flag != 1 else ''} UNVERIFIED)" if flag else ""))):
            if not d.available:
                st.write(esc(d.availability))
            for c in d.cells:
                st.markdown(f"**{esc(c.heading)}** ({c.status.replace('-', ' ')}): {esc(c.text)}  \n"
                            f":gray[{esc(c.rule)}{'' if c.verified else ' (UNVERIFIED)'} \u00b7 {esc(words(c.basis))}]")
            links(words.parts([b for c in d.cells for b in c.basis]))
else:
    st.write("No outcome is tabled for this client's role.")

st.header("Charges and exposure")
st.caption("Each count the case file names and each statute the facts suggest; open one for its elements, "
           "limitation readings and basis.")
st.dataframe(pd.DataFrame([{"charge": f"{s.citation}: {s.title}", "status": f"{plural(s.counts or 1, 'count')} {s.source}"
                            if s.source != "suggested" else "suggested, not charged", "class": s.classification or "not stated",
                            "limitation": brief.limitation_short(s), "exposure": s.max_exposure or ""}
                           for s in result.statutes]), hide_index=True, width="stretch")
for s in result.statutes:
    with st.expander(esc(f"{s.citation}: {s.title} ({s.source}, {s.classification})")
                     + ("" if s.verified else " :red[(UNVERIFIED)]")):
        st.write(f"**Exposure:** {esc(str(s.max_exposure))}")
        if s.why:
            st.write("**Raised because:** " + esc(" ".join(w.reason for w in s.why)))
        if s.limitation:
            st.write(f"**Limitation:** {esc(brief.limitation_line(s))}. {esc(s.limitation.explanation)}")
            if s.limitation.readings:
                st.table(pd.DataFrame([{"if punishable as": f"{r.classification}: {r.tier}", "period": r.period,
                                        "rule": r.authority, "result": r.status,
                                        "latest act until": r.deadline_latest_act or ""}
                                       for r in s.limitation.readings]), hide_index=True)
            if s.limitation.if_charged_later:
                st.info(esc(s.limitation.if_charged_later))
        for m in s.misdescriptions:
            st.warning(esc(f"Common misdescription: {m.claim} {m.correction}"))
        st.table(pd.DataFrame([{"element": e.text, "status": e.status, "basis": words(e.basis)}     # in full, folded
                               for e in s.elements]), hide_index=True)
        links(words.parts([f"kb:{s.statute_id}"] + [b for e in s.elements for b in e.basis]
                          + (s.limitation.basis if s.limitation else [])))

st.header("Defenses, ranked")
st.caption(esc(DEFENSE_RULE) + " Open a defense for its reasons for and against, each with its basis, its authorities "
           "and what would strengthen it.")
st.dataframe(pd.DataFrame([{"defense": d.name, "strength": d.strength, "why": d.summary,
                            "basis": words(d.basis)} for d in result.defenses]),
             hide_index=True, width="stretch")
kb_defenses = ui.knowledge().defenses
authorities = {a.cite: a for a in result.authorities}
judged = {d.id: d for d in reviewed.defenses if d.override}


def reasons(title: str, items, factors) -> None:
    weight = {f.reason: f for f in factors}
    st.markdown(f"**{title}**" + ("" if items else ": nothing in the case yet."))
    for r in items:
        f = weight.get(r.reason)
        st.markdown(f"- {esc(sentence(r.reason))}" + (f" :gray[(legal effect: {esc(effect(f))})]" if f else ""))
        links(words.parts(r.basis))


def defense(d: Defense) -> None:
    kb_d = kb_defenses.get(d.id)
    why = d.summary.removeprefix(f"{d.strength.capitalize()}: ")          # the engine's summary names the band first
    st.markdown(f"**Strength: {strength(d.strength)}.** {esc(why)}"
                + ("" if d.verified else "  \n:red[**UNVERIFIED:** this defense's entry is not verified in its source.]"))
    if (j := judged.get(d.id)) and j.override:
        st.info(f"Your review states it as **{strength(j.strength)}** (the engine gives "
                f"{strength(j.override.engine)}): {esc(j.override.reason)}")
    if d.applies_to:
        st.caption("Bears on " + esc(", ".join(d.applies_to)))
    reasons("For it", d.reasons_for, kb_d.strengthened_by if kb_d else [])
    reasons("Against it", d.reasons_against, kb_d.weakened_by if kb_d else [])
    cited = [("for", c) for c in d.authorities_for] + [("against", c) for c in d.authorities_against]
    st.markdown("**Authorities**" + ("" if cited else ": none cited in the knowledge base."))
    for side, cite in cited:
        a = authorities.get(cite)
        st.markdown(f"- {side}: {esc(cite)} ({authority_status(a)})" + (f"  \n  :gray[{esc(a.holding)}]" if a else ""))
    held = {r.reason for r in d.reasons_for}
    unmet = [f for f in (kb_d.strengthened_by if kb_d else []) if f.reason not in held]
    changes = [(p, a, c) for p in result.investigation_priorities for a in p.answers for c in a.changes
               if c.kind == "defense" and c.target == d.id]
    asked = [q for q in d.open_questions if "?" in q]
    notes = [q for q in d.open_questions if "?" not in q]
    st.markdown("**What would strengthen it**")
    lines = [f"- {esc(sentence(t))}" for t in d.to_strengthen]
    lines += [f"- If the case showed it: {esc(sentence(f.reason))} :gray[(legal effect: {esc(effect(f))})]" for f in unmet]
    lines += [f"- {esc(p.question)} If {esc(a.label)}: {strength(c.before)} \u2192 **{strength(c.after)}**"
              for p, a, c in changes if ORDER.get(c.after, 0) > ORDER.get(c.before, 0)]
    lines += [f"- Open question: {esc(q)}" for q in asked]
    st.markdown("\n".join(lines) if lines else "Nothing the knowledge base names.")
    weaker = [(p, a, c) for p, a, c in changes if ORDER.get(c.after, 0) < ORDER.get(c.before, 0)]
    if weaker:
        st.markdown("**What would weaken it**\n" + "\n".join(
            f"- {esc(p.question)} If {esc(a.label)}: {strength(c.before)} \u2192 **{strength(c.after)}**"
            for p, a, c in weaker))
    if notes:
        st.markdown("**Notes**\n" + "\n".join(f"- {esc(n)}" for n in notes))
    links(words.parts([f"kb:{d.id}"]), "Its entry")


for d in result.defenses:
    unverified = sum(not (authorities[c].verified and authorities[c].holding_verified)
                     for c in d.authorities_for + d.authorities_against if c in authorities) + (not d.verified)
    with st.expander(esc(f"{d.name}: {strength(d.strength)}") + (f" :red[({unverified} UNVERIFIED)]" if unverified
                                                                 else "")):
        defense(d)

pobr = result.computed.pobr
st.write(f"**POBR year** (Gov. Code § 3304(d)): **{esc(pobr.status.replace('-', ' '))}**. {esc(pobr.explanation)}")
links(words.parts(pobr.basis))

st.header("Open questions")
everything = [q for q in dict.fromkeys(answer.questions + result.open_questions) if "Analysis:" not in q]
with st.expander(f"All {len(everything)} open questions, the three that matter most first"):   # no notes
    st.markdown("\n".join(f"- {esc(q)}" for q in everything) if everything else "None.")

st.header("Unverified items")
if result.unverified:
    st.error("\n".join(f"- **{esc(u.kind.capitalize())}**: {esc(u.what)} ({esc(u.source)})" for u in result.unverified))
else:
    st.success("Everything this assessment relies on is marked verified.")

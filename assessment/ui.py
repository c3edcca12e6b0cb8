"""Session state shared by the Streamlit pages. Matter data lives only in the user's session
(never in st.cache_data, whose caches all users share)."""
from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor
import shutil
import tempfile
from pathlib import Path

import streamlit as st

from . import assess as engine
from . import casefile, evidence, kb as kbmod, synth
from .errors import AssessmentError

DEFAULT_DEMO = "off-duty-lookups"


@st.cache_resource
def _load_kb(directory: str) -> kbmod.KnowledgeBase:
    return kbmod.load(directory)


def knowledge() -> kbmod.KnowledgeBase:
    return _load_kb(str(kbmod.default_dir()))


def reload_knowledge() -> None:
    """After a saved edit: every session sees the new knowledge base on its next run."""
    _load_kb.clear()
    st.session_state.result = None


def demo_cases() -> list[str]:
    return sorted(p.parent.name for p in synth.demo_dir().glob("*/case.yaml"))


def open_case(case: casefile.CaseFile, base_dir: Path, label: str) -> None:
    st.session_state.case = case
    st.session_state.case_dir = Path(base_dir)
    st.session_state.case_label = label
    for key in ("result", "evidence", "evidence_key", "evidence_error", "plans", "marks", "narrative_basis",
                "rejected_suggestions", "review", "memo_last", "memo_charts",
                *[k for k in st.session_state if str(k).startswith("fact-")]):
        st.session_state.pop(key, None)


def open_demo(name: str) -> None:
    folder = synth.demo_dir() / name
    open_case(casefile.load(folder / "case.yaml", knowledge()), folder, f"demo: {name}")


def ensure_case() -> None:
    """Open the default demo case; stop with a located error if the knowledge base is broken."""
    try:
        knowledge()
        if "case" not in st.session_state:
            open_demo(DEFAULT_DEMO)
    except AssessmentError as exc:
        show_problems(exc, "The knowledge base does not validate, so no case can be assessed")
        st.stop()


def case() -> casefile.CaseFile:
    ensure_case()
    return st.session_state.case


def working_dir() -> Path:
    """A private folder for this session's uploads, seeded with the case's current evidence."""
    if "work_dir" not in st.session_state:
        st.session_state.work_dir = Path(tempfile.mkdtemp(prefix="clets-session-"))
    work = st.session_state.work_dir
    src = st.session_state.case_dir
    if src != work:
        c = case()
        for rel in c.evidence.audit_logs + c.evidence.shifts + c.evidence.incidents:
            if (src / rel).exists():
                (work / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src / rel, work / rel)
    return work


def as_of() -> dt.date:
    return st.session_state.get("as_of", dt.date.today())


def result(progress=None) -> dict:
    """The assessment of the current case (recomputed when the case changes)."""
    if st.session_state.get("result") is None:
        c = case()
        plans = st.session_state.get("plans") or {}
        key = json.dumps([c.client.model_dump(mode="json"), [x.model_dump(mode="json") for x in c.subjects],
                          c.evidence.model_dump(mode="json"), str(st.session_state.case_dir),
                          {k: v.model_dump(mode="json") for k, v in sorted(plans.items())}], sort_keys=True)
        if st.session_state.get("evidence_key") != key:   # facts edits do not re-read a large log
            st.session_state.evidence = evidence.analyse(c, st.session_state.case_dir, plans=plans, progress=progress)
            st.session_state.evidence_key = key
            st.session_state.memo_charts = _draw_later(st.session_state.evidence)
        ev = st.session_state.evidence
        st.session_state.result = engine.assess(c, knowledge(), as_of=as_of(), ev=ev,
                                                narrative_basis=st.session_state.get("narrative_basis"))
    return st.session_state.result


_CHART_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="memo-charts")   # its thread starts on first use


def _draw_later(ev):
    """The memo's chart PNGs, drawn in a background thread as soon as the evidence is analysed
    (about a second for a large log), so generating the memo does not wait for them."""
    from . import charts
    if ev is None or not ev.events:
        return None
    return _CHART_POOL.submit(charts.memo_charts, ev)


def memo_charts() -> dict[str, bytes]:
    """The memo's charts for the current evidence (waits for the background drawing if needed)."""
    result()
    fut = st.session_state.get("memo_charts")
    return fut.result() if fut is not None else {}


def evidence_result():
    """The analysed evidence behind the current result (events and shifts for charts), or None."""
    result()
    return st.session_state.get("evidence")


def marks() -> dict[str, dict]:
    """The attorney's marks on events, keyed 'file#row': {'mark': material|disputed|undisputed, 'note'}."""
    return st.session_state.setdefault("marks", {})


def review():
    """The attorney's review of this case (overrides, notes, sections): see review.py."""
    from .review import Review
    return st.session_state.setdefault("review", Review())


def result_or_stop(what: str) -> dict:
    """The assessment, or a located error on the page and nothing more."""
    try:
        return result()
    except AssessmentError as exc:
        show_problems(exc, what)
        st.stop()


def show_problems(exc: AssessmentError, what: str) -> None:
    st.error(f"{what}. Nothing was changed.\n\n" + "\n".join(f"- `{p}`" for p in exc.problems))


HIGHLIGHT = {"STATUTE": "blue", "CASE_CITE": "blue", "DATE": "green", "PERSON": "violet", "MONEY": "orange",
             "PLATE": "red", "CASE_NUMBER": "orange", "OPERATOR_ID": "red", "TERMINAL": "red", "ORI": "gray"}
_MD_SPECIAL = set("\\`*_{}[]()#+-.!|<>$~:&")


def md_escape(text: str) -> str:
    """Case text as literal Markdown: every character Markdown or Streamlit could interpret is escaped."""
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in text).replace("\n", "  \n")


def highlight(text: str, entities: list[dict]) -> str:
    """The narrative with each entity on a coloured background and its label after it (escaped Markdown,
    never HTML)."""
    out, pos = [], 0
    for e in sorted(entities, key=lambda e: e["start"]):
        if e["start"] < pos:
            continue
        out.append(md_escape(text[pos:e["start"]]))
        out.append(f":{HIGHLIGHT.get(e['label'], 'gray')}-background[{md_escape(text[e['start']:e['end']])}"
                   f" *{e['label']}*]")
        pos = e["end"]
    out.append(md_escape(text[pos:]))
    return "".join(out)

import subprocess
import tempfile
from pathlib import Path

import streamlit as st

from assessment.app import state as ui
from assessment.core.errors import AssessmentError
from assessment.evidence import events
from assessment.firm import tmpfiles
from assessment.memo import archive, brief, pdfpages, templates
from assessment.memo import render as memo

st.title("Memo")
ui.require("memo.generate")
c = ui.case()
result = ui.result_or_stop("The case cannot be assessed")
rv = ui.review()
ev = ui.evidence_result()
marked = events.marked(ev.events if ev else [], ui.marks())
pk = st.session_state.matter_pk
template, version = templates.current()       # the firm's active template, the one this memo is rendered from

left, right = st.columns(2)
firm = left.text_input("Firm name for the letterhead line", "Defense Counsel", max_chars=200)
who = ui.user().display_name
right.text_input("Prepared by", who, disabled=True, help="The signed-in user: the memo names you and today's date")
with_charts = left.toggle("Include the timeline and heatmap", value=True)
office = memo.soffice() is not None
with_pdf = right.toggle("Also make a PDF (LibreOffice)", value=office, disabled=not office,
                        help=None if office else "LibreOffice is not installed on this machine.")
which = 'built-in' if version is None else ui.md_escape(f'{version.name}, saved {version.time} by {version.author}')
st.caption(f"Template: {which}. "
           f"Review: {len(rv.overrides)} judgment(s) of your own, {len(rv.sections)} of 8 sections"
           f"{', notes' if rv.notes.strip() else ''} (change them on the Review page). "
           f"Events you marked on the Evidence page: {len(marked)}.")

if st.button("Generate memo", type="primary"):
    figures = {}
    if with_charts:
        with st.spinner("Drawing the charts"):
            try:
                figures = ui.memo_charts()
            except Exception as exc:  # noqa: BLE001 - the memo goes out without figures, and says so
                st.warning(f"The charts could not be drawn ({ui.md_escape(f'{type(exc).__name__}: {exc}')}); the memo has none.")
    try:
        data = memo.render(result, c, template, firm_name=firm, marks=marked, charts=figures, review=rv,
                           prepared_by=who)
    except AssessmentError as exc:
        ui.show_problems(exc, "The memo cannot be generated")
        st.stop()
    pdf = None
    if with_pdf:
        with st.spinner("Converting to PDF"), tempfile.TemporaryDirectory(dir=tmpfiles.root()) as tmp:
            try:
                out = memo.to_pdf(data, Path(tmp))
                pdf = out.read_bytes() if out else None
            except (subprocess.SubprocessError, OSError) as exc:
                st.warning(f"The PDF could not be made ({ui.md_escape(str(exc))}); the .docx is ready.")
    rec = archive.keep(ui.actor(), pk, data, inputs=archive.inputs_sha(c, result, rv, marked, firm),
                       template_sha=templates.sha(template),
                       template_version="built-in" if version is None else version.time, review=rv, pdf=pdf)
    st.session_state.memo_last = rec.id
    st.success(f"Memo generated and kept with the matter ({rec.time}; inputs {rec.inputs_sha[:12]}).")

records = archive.listing(ui.actor(), pk)
if records:
    latest = next((r for r in records if r.id == st.session_state.get("memo_last")), records[0])
    a, b = st.columns(2)
    ref = c.matter.id          # made, checked and logged on the click, for a session still signed in
    ui.download("Download memo (.docx)", lambda ctx: archive.read(ctx, pk, latest.id, "docx"),
                f"{ref}-assessment-memo.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                a, matter_pk=pk)
    if latest.has_pdf:
        ui.download("Download memo (PDF)", lambda ctx: archive.read(ctx, pk, latest.id, "pdf"),
                    f"{ref}-assessment-memo.pdf", "application/pdf", b, matter_pk=pk)
    st.subheader("Preview")
    pages = []
    if latest.has_pdf:
        pdf_bytes = archive.preview_pdf(ui.actor(), pk, latest.id)
        try:                                   # counted once; without poppler the memo still previews as text
            texts = pdfpages.page_texts(pdf_bytes)
        except (pdfpages.MissingTool, subprocess.SubprocessError, OSError):
            texts = []
        start = pdfpages.first_appendix(texts) if texts else None
        if start is not None:
            body = start
            st.metric("Pages", f"{body} + {len(texts) - body} in appendices", help="The body ends where the "
                      "appendices begin; a partner reads the body, the appendices hold the detail.")
            if body > 8:
                st.warning(f"The body runs to {body} pages; a partner expects 8 or fewer. Turn off sections on the "
                           "Review page, or check the template.")
        elif texts:
            st.metric("Pages", str(len(texts)), help="This template has no \"Appendices\" heading, so the body is not "
                      "counted apart.")
        pages = memo.page_images(pdf_bytes, first=1, last=2, dpi=110)
    if pages:
        for png in pages:
            st.image(png, width="stretch")
    else:
        answer = brief.brief(result.reviewed(rv), c)
        st.markdown("**PRIVILEGED & CONFIDENTIAL - ATTORNEY WORK PRODUCT - DRAFT**")
        st.write(ui.md_escape(memo.question_presented(result, c)))
        st.write(ui.md_escape(answer.answer))
        for pt in answer.points:
            st.markdown(f"- **{ui.md_escape(pt.label)}:** {ui.md_escape(pt.text)}")
    st.subheader("Memos generated for this matter")
    st.caption("Newest first. Each is kept as it was generated; a download is logged as an export of the matter.")
    DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    safe_ref = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in ref)        # a file name, not a path
    for r in records:
        a, b, d = st.columns([6, 1, 1])
        a.write(ui.md_escape(f"{r.time} by {r.generated_by or '-'}; template {r.template_version} (SHA-256 "
                             f"{r.template_sha[:12]}); inputs {r.inputs_sha[:12]}; {r.overrides} judgment(s), "
                             f"{len(r.sections)} section(s)" + ("" if r.id != latest.id else "; shown above")))
        ui.download(".docx", lambda ctx, memo_id=r.id: archive.read(ctx, pk, memo_id, "docx"),
                    f"{safe_ref}-assessment-memo-{r.time}.docx", DOCX, b, matter_pk=pk, key=f"memo-docx-{r.id}")
        if r.has_pdf:
            ui.download("PDF", lambda ctx, memo_id=r.id: archive.read(ctx, pk, memo_id, "pdf"),
                        f"{safe_ref}-assessment-memo-{r.time}.pdf", "application/pdf", d, matter_pk=pk,
                        key=f"memo-pdf-{r.id}")
else:
    st.info("No memo has been generated for this matter yet.")

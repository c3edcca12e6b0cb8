import streamlit as st

from assessment import casefile, ui
from assessment.errors import AssessmentError

st.title("Cases")
c = ui.case()
st.info(f"Open: **{c.matter.title}** ({c.matter.id}, {st.session_state.case_label})")

st.subheader("Demo cases")
for name in ui.demo_cases():
    if st.button(f"Open demo: {name}", key=f"open-{name}"):
        ui.open_demo(name)
        st.rerun()

st.subheader("Open a case file")
up = st.file_uploader("Case file (clets-case/1 YAML)", type=["yaml", "yml"], key="case_upload")
if up is not None and st.button("Load this case file"):
    try:
        loaded = casefile.loads(up.getvalue().decode("utf-8-sig"), up.name, ui.knowledge())
    except UnicodeDecodeError:
        st.error(f"{up.name}: not UTF-8 text. Nothing was changed.")
    except AssessmentError as exc:
        ui.show_problems(exc, f"{up.name} was not loaded")
    else:
        ui.open_case(loaded, ui.working_dir(), f"uploaded: {up.name}")
        st.success(f"Loaded {loaded.matter.title}. Upload its evidence on the Evidence page.")
        st.rerun()

st.subheader("Export")
st.download_button("Download this case as a case file (YAML)", casefile.dumps(c).encode("utf-8"),
                   file_name=f"{c.matter.id}.yaml", mime="application/x-yaml")

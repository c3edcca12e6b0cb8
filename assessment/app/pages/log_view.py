import datetime as dt

import pandas as pd
import streamlit as st

from assessment.app import state as ui
from assessment.firm import access_log

st.title("Access log")
ui.require("log.read")
st.caption("Every sign-in and failure, lockout, view, change, export, upload, memo, knowledge-base and template edit, "
           "role change, and every reading of this log. Rows cannot be changed or removed, and each row's hash "
           "covers the row before it.")
who = ui.actor("Access log")        # access_log checks the role again and logs every reading
kinds = access_log.kinds(who)
a, b, c = st.columns(3)
actor = a.text_input("Actor (user id or name)", max_chars=80)
event = b.selectbox("Event", ["", *kinds])
outcome = c.selectbox("Outcome", ["", "success", "failure", "denied"])
object_id = a.text_input("Object id (matter, user, ...)", max_chars=120)
since = b.date_input("From", dt.date.today() - dt.timedelta(days=30))
until = c.date_input("To", dt.date.today())
filters = dict(actor=actor.strip(), event=event, outcome=outcome, object_id=object_id.strip(), since=since, until=until)
key = repr(sorted(filters.items()))    # reading the log is logged once per filter, not on every rerun
rows = access_log.read(who, note=st.session_state.get("log_read") != key, limit=2000, **filters)
st.session_state.log_read = key
st.dataframe(pd.DataFrame([{f: getattr(r, f) for f in access_log.FIELDS} for r in rows]),
             hide_index=True, width="stretch")
st.caption(f"{len(rows)} rows, newest first" + (" (the first 2,000: narrow the filters)" if len(rows) == 2000 else ""))


ui.download("Export these rows (CSV)", lambda ctx: access_log.export_in(ctx.s, ctx.who, **filters),
            f"access-log-{since}-{until}.csv", "text/csv")
if st.button("Verify the log"):
    breaks, n, head = access_log.audit(who)
    if breaks:
        st.error("The log was tampered with:\n" + "\n".join(f"- {ui.md_escape(str(b))}" for b in breaks))
    else:
        heads = len(access_log.read_heads())
        st.success(f"Intact: {n} rows, each under the firm's log key; the protection triggers are in place and "
                   f"unaltered; all {heads:,} heads exported outside the database match. Head {n}:{head}.")

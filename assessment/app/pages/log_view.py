import datetime as dt

import pandas as pd
import streamlit as st

from assessment.app import state as ui
from assessment.firm import access_log, db

st.title("Access log")
ui.require("log.read")
st.caption("Every sign-in and failure, lockout, view, change, export, upload, memo, knowledge-base and template edit, "
           "role change, and every reading of this log. Rows cannot be changed or removed, and each row's hash "
           "covers the row before it.")
with db.session() as s:
    kinds = access_log.events(s)
a, b, c = st.columns(3)
actor = a.text_input("Actor (user id or name)", max_chars=80)
event = b.selectbox("Event", ["", *kinds])
outcome = c.selectbox("Outcome", ["", "success", "failure", "denied"])
object_id = a.text_input("Object id (matter, user, ...)", max_chars=120)
since = b.date_input("From", dt.date.today() - dt.timedelta(days=30))
until = c.date_input("To", dt.date.today())
filters = dict(actor=actor.strip(), event=event, outcome=outcome, object_id=object_id.strip(), since=since, until=until)
with db.session() as s:
    rows = access_log.query(s, **filters, limit=2000)
    # reading the log is itself logged (once per filter, not on every rerun)
    key = repr(sorted(filters.items()))
    if st.session_state.get("log_read") != key:
        access_log.record(s, actor=access_log.actor_id(ui.user()), event="log-read", object_type="access-log",
                          reason=f"{len(rows)} rows shown", place="Access log", source=ui.source())
        st.session_state.log_read = key
st.dataframe(pd.DataFrame([{f: getattr(r, f) for f in access_log.FIELDS} for r in rows]),
             hide_index=True, width="stretch")
st.caption(f"{len(rows)} rows, newest first" + (" (the first 2,000: narrow the filters)" if len(rows) == 2000 else ""))


def export(ctx):
    all_rows = access_log.query(ctx.s, **filters, limit=10**9)
    access_log.record(ctx.s, actor=access_log.actor_id(ctx.user), event="log-export", object_type="access-log",
                      reason=f"{len(all_rows)} rows", place=ctx.place, source=ctx.source)
    return access_log.to_csv(all_rows)


ui.download("Export these rows (CSV)", export, f"access-log-{since}-{until}.csv", "text/csv")
if st.button("Verify the log"):
    with db.session() as s:
        breaks, n, head = access_log.verify(s)
        access_log.record(s, actor=access_log.actor_id(ui.user()), event="log-verify", object_type="access-log",
                          outcome="failure" if breaks else "success", reason=f"{n} rows, {len(breaks)} breaks",
                          place="Access log", source=ui.source())
    if breaks:
        st.error("The log was tampered with:\n" + "\n".join(f"- {ui.md_escape(str(b))}" for b in breaks))
    else:
        heads = len(access_log.read_heads())
        st.success(f"Intact: {n} rows, each under the firm's log key; the protection triggers are in place and "
                   f"unaltered; all {heads:,} heads exported outside the database match. Head {n}:{head}.")

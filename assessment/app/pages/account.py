import streamlit as st

from assessment.app import gate
from assessment.app import state as ui
from assessment.firm import accounts

st.title("Account")
me = ui.user()
st.write(f"**{ui.md_escape(me.display_name)}** ({me.username}), role {me.role}. Sessions lock after 30 minutes "
         "without activity and end 12 hours after sign-in.")
st.subheader("Change password")
with st.form("password", clear_on_submit=True):
    old = st.text_input("Current password", type="password", max_chars=256)
    new = st.text_input("New password (8 or more characters; a phrase of several words is best)", type="password",
                        max_chars=256)
    again = st.text_input("New password again", type="password", max_chars=256)
    if st.form_submit_button("Change password"):
        if new != again:
            st.error("The two new passwords differ.")
        else:
            try:                             # this session goes on; the user's others end
                ended = accounts.change_own_password(me.id, old, new, source=ui.source(),
                                                     keep_token=st.session_state.auth_token)
            except accounts.AccountError as exc:
                st.error(f"Not changed: {ui.md_escape(str(exc))}")
            else:
                st.success("Password changed." + (f" Your other sessions ({ended}) are signed out." if ended else ""))

st.subheader("Second factor")
if me.totp_secret and not st.session_state.get("totp_recovery"):
    st.write("On: sign-in asks for a code from your authenticator app. An administrator can remove it if the phone "
             "is lost.")
else:
    gate.enrol(me)

import pandas as pd
import streamlit as st

from assessment.app import autoform
from assessment.app import state as ui
from assessment.firm import accounts, matters
from assessment.firm.permissions import ROLES

st.title("Users")
ui.require("users.manage")
me = ui.user()

people = accounts.list_users(ui.actor())
st.dataframe(pd.DataFrame([{
    "user name": u.username, "name": u.display_name, "role": u.role,
    "state": "LOCKED" if u.locked_at else "disabled" if u.disabled else "active",
    "locked at (UTC)": f"{u.locked_at:%Y-%m-%d %H:%M}" if u.locked_at else "",
    "second factor": "on" if u.totp_secret else ("required, not set up" if u.totp_required else "off"),
    "identity provider": "linked" if u.oidc_subject else "",
    "pre-bound e-mail": u.oidc_bind_email or "",
} for u in people]), hide_index=True, width="stretch")
no_mfa = [u.username for u in people if u.role == "admin" and not u.totp_secret]
if no_mfa:
    st.warning("Administrators without a second factor: " + ui.md_escape(", ".join(no_mfa)) + ". Require one below.")

st.subheader("Change an account")
name = st.selectbox("Account", [u.username for u in people], key="users_pick")
target = next(u for u in people if u.username == name)


def act(change, *args, done: str) -> None:
    """One of accounts.ADMIN_CHANGES to the chosen account; its refusal shown, else `done` after a rerun."""
    try:
        accounts.update_user(ui.actor(), target.id, change, *args)
    except accounts.AccountError as exc:
        st.error(ui.md_escape(str(exc)))
    else:
        st.session_state.users_done = done
        st.rerun()


if st.session_state.get("users_done"):
    st.success(ui.md_escape(st.session_state.pop("users_done")))
a, b, c = st.columns(3)
if target.locked_at and a.button(f"Unlock {ui.md_escape(target.username)}", type="primary"):
    act(accounts.unlock, done=f"{target.username} is unlocked.")
if b.button("Enable" if target.disabled else "Disable", disabled=target.id == me.id):
    act(accounts.set_disabled, not target.disabled, done=f"{target.username} is {'enabled' if target.disabled else 'disabled'}.")
if c.button("Require a second factor" if not target.totp_required else "Stop requiring a second factor"):
    act(accounts.require_totp, not target.totp_required, done="Saved.")
with st.form("role"):
    role = st.selectbox("Role", ROLES, index=ROLES.index(target.role))
    if st.form_submit_button("Change role"):
        act(accounts.set_role, role, done=f"{target.username} is now {role}; their open sessions ended.")
with st.form("reset"):
    pw = st.text_input("New password (tell the user in person; they change it under Account)", type="password",
                       max_chars=256)
    if st.form_submit_button("Reset password"):
        act(accounts.reset_password, pw, done=f"The password of {target.username} is reset.")
with st.form("oidc_bind"):
    st.write("Sign-in through the firm's identity provider: "
             + ("this account is linked to an identity. " if target.oidc_subject else "not linked yet. ")
             + "The first sign-in whose e-mail address the provider has verified and which equals the address "
               "below links that identity to this account (a linked one is replaced). Leave it empty for none.")
    bind = st.text_input("Pre-bound e-mail address", value=target.oidc_bind_email or "", max_chars=255,
                         key=f"oidc_bind_{target.id}")
    if st.form_submit_button("Save the pre-binding"):
        act(accounts.set_oidc_binding, bind, done=f"Saved the pre-binding of {target.username}.")
if target.totp_secret and st.button("Remove the second factor (a lost phone)"):
    act(accounts.totp_disable, done="Removed: the user sets up a new one at next sign-in if it is required.")

st.subheader("Add an account")
with st.form(f"add_user-{autoform.added_count('user')}"):     # a refused form keeps what was typed
    x, y = st.columns(2)
    new_name = x.text_input("User name", max_chars=64)
    display = y.text_input("Full name", max_chars=120)
    new_role = x.selectbox("Role", ROLES)
    first_pw = y.text_input("First password", type="password", max_chars=256)
    need_mfa = st.checkbox("Require a second factor (TOTP)")
    if st.form_submit_button("Add"):
        try:
            accounts.add_user(ui.actor(), new_name, first_pw, new_role, display_name=display,
                              totp_required=need_mfa)
        except accounts.AccountError as exc:
            st.error(f"Not added: {ui.md_escape(str(exc))}")
        else:
            st.session_state.users_done = f"Added {new_name.strip().lower()}."
            autoform.added_count("user", 1)                      # the next form is new and empty
            st.rerun()

st.subheader("Who may open a matter (ethical walls)")
all_m = matters.access_lists(ui.actor())
if all_m:
    pick = st.selectbox("Matter", all_m, format_func=lambda r: f"{r.ref}: {r.title}" + (" (deleted)" if r.deleted_at else ""))
    current = [u.username for u in matters.members_of(ui.actor(), pick.pk)]
    chosen = st.multiselect("Listed on this matter", [u.username for u in people], default=current,
                            key=f"members-{pick.pk}")
    if st.button("Save the list", disabled=sorted(chosen) == sorted(current)):
        try:
            matters.change_access(ui.actor(), pick.pk, {u.id: u.username in chosen for u in people
                                                        if (u.username in chosen) != (u.username in current)})
        except matters.NotFound as exc:
            st.error(ui.md_escape(str(exc)))
        else:
            st.session_state.users_done = f"Saved who may open {pick.ref}."
            st.rerun()

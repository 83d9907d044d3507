"""The promotion and rollback confirmation dialog shared by the registry and map pages.

The production version a user saw when the page first loaded is kept in session_state and
passed to the registry as `expected_current`. A promotion made by someone else meanwhile then
makes this one fail with the new state, instead of silently overwriting it.
"""

from __future__ import annotations

import streamlit as st

from dashboard import charts, gateway, layout
from training import registry
from training.errors import RegistryError, TrackingError

DIALOG_KEY = "registry_dialog"
SEEN_KEY = "registry_seen_production"
MESSAGE_KEY = "registry_message"


def remember_seen(state: registry.RegistryState) -> int | None:
    """Store the production version seen on first load and return the stored one."""
    st.session_state.setdefault(SEEN_KEY, state.production_version)
    return st.session_state[SEEN_KEY]


def forget_seen() -> None:
    """Reload the registry from the server and take its production version as seen."""
    gateway.clear_registry_caches()
    st.session_state.pop(SEEN_KEY, None)


def open_dialog(action: str, version: int) -> None:
    st.session_state[DIALOG_KEY] = (action, version)


def _close_dialog() -> None:
    st.session_state.pop(DIALOG_KEY, None)


def show_message() -> None:
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        st.success(message)


def render_dialog() -> None:
    """Reopen the dialog on every rerun while its flag is set (widgets inside it rerun the page)."""
    if DIALOG_KEY in st.session_state:
        action, version = st.session_state[DIALOG_KEY]
        _confirm(action, version)


def _apply(action: str, version: int, reason: str, override: bool) -> registry.AuditRecord:
    client = gateway.current_client()
    seen = st.session_state.get(SEEN_KEY)
    if action == "rollback":
        return registry.rollback(client, reason, seen, override)
    return registry.promote(client, version, reason, seen, override)


@st.dialog("Change the production version", width="large", on_dismiss=_close_dialog)
def _confirm(action: str, version: int) -> None:
    client = gateway.current_client()
    state = registry.get_state(client)
    comparison = registry.compare_with_production(client, state, version)

    verb = "Roll back to" if action == "rollback" else "Promote"
    st.markdown(
        f"**{verb} version {version}** (production now: version {state.production_version})"
    )
    seen = st.session_state.get(SEEN_KEY)
    if seen != state.production_version:
        st.warning(
            f"Production changed since this page loaded (you saw version {seen}). "
            "Confirming will be rejected: close this dialog and reload the registry."
        )
    if comparison.production is not None:
        st.dataframe(charts.comparison_table(comparison), hide_index=True)
    if not comparison.comparable:
        st.warning("Not comparable: the versions were tested on other years or another horizon.")
    for problem in comparison.problems:
        st.warning(layout.escape_markdown(problem))
    override = False
    if comparison.problems:
        override = st.checkbox("Override the guard (a reason is required)", key="dialog_override")
    reason = st.text_input("Reason, stored in the audit trail", key="dialog_reason")

    confirm, cancel = st.columns(2)
    if cancel.button("Cancel", key="dialog_cancel"):
        _close_dialog()
        st.rerun()
    if confirm.button("Confirm", type="primary", key="dialog_confirm"):
        try:
            record = _apply(action, version, reason, override)
        except (RegistryError, TrackingError) as error:
            st.error(layout.escape_markdown(error))
            return
        gateway.clear_registry_caches()
        st.session_state[SEEN_KEY] = record.to_version
        st.session_state[MESSAGE_KEY] = (
            f"Version {record.to_version} is now in production (was {record.from_version})."
        )
        _close_dialog()
        st.rerun()

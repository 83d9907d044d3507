"""Pieces every page shares: the sidebar, the server check and safe text display."""

from __future__ import annotations

import html
import re
from pathlib import Path

import streamlit as st

from dashboard import gateway
from training.settings import load_settings

ASSETS = Path(__file__).resolve().parents[1] / "assets"
LOGO = ASSETS / "logo.svg"
STYLE = ASSETS / "style.css"
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def escape_markdown(text: object) -> str:
    """Make text from MLflow or the data display literally inside st.markdown.

    HTML is escaped first, then Markdown syntax, so `<img ...>` or `[x](javascript:...)`
    in a run name is shown as typed and never rendered.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(str(text), quote=False))


def load_style() -> None:
    """Add the project's CSS (our own file, never data) to the page."""
    st.html(f"<style>{STYLE.read_text()}</style>")


def sidebar() -> gateway.ServerStatus:
    """Show the tracking server and the production version; stop the page if the server is down."""
    settings = load_settings()
    status = gateway.cached_server_status(
        settings.tracking_uri, settings.model_name, settings.production_alias
    )
    with st.sidebar:
        st.image(str(LOGO), width=48)
        st.caption("Tracking server")
        st.code(status.tracking_uri, language=None)
        if not status.reachable:
            st.markdown(":red[not responding]")
        else:
            st.markdown(":green[responding]")
            st.caption(f"Registered model {escape_markdown(settings.model_name)}")
            if status.production_version is None:
                st.markdown(f"No version has the `{settings.production_alias}` alias.")
            elif status.legacy:
                st.markdown(
                    f"Production: version {status.production_version} (legacy stage, no alias)"
                )
            else:
                st.markdown(f"Production: **version {status.production_version}**")
        if settings["DASHBOARD_READ_ONLY"]:
            st.caption("Read-only mode: registry changes are hidden.")
    if not status.reachable:
        st.error(
            f"The MLflow tracking server at {status.tracking_uri} does not answer. Check that it "
            "is running and that MLFLOW_TRACKING_URI points to it, then reload this page.\n\n"
            f"Details: {escape_markdown(status.error)}"
        )
        st.stop()
    return status


def read_only() -> bool:
    return bool(load_settings()["DASHBOARD_READ_ONLY"])

"""Entry point: `streamlit run dashboard/Home.py` opens the multi-page dashboard."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

# `streamlit run` puts only this folder on sys.path; the pages import `dashboard` and `training`.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import gateway  # noqa: E402
from training.settings import export_secrets_to_environment  # noqa: E402

gateway.apply_http_defaults()
export_secrets_to_environment()
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

st.set_page_config(
    page_title="Corsica fire risk", page_icon=str(ROOT / "assets" / "logo.svg"), layout="wide"
)
PAGES = Path(__file__).resolve().parent / "pages"
navigation = st.navigation(
    [
        st.Page(PAGES / "overview.py", title="Home", icon=":material/home:", default=True),
        st.Page(PAGES / "compare_runs.py", title="Compare runs", icon=":material/compare:"),
        st.Page(PAGES / "model_registry.py", title="Model registry", icon=":material/inventory:"),
        st.Page(PAGES / "fire_map.py", title="Risk map", icon=":material/map:"),
    ]
)
navigation.run()

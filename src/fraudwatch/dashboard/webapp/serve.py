"""What ``fraudwatch dashboard`` runs: the Streamlit app plus the streamed CSV export route.

``streamlit run`` finds the ``st.App`` below and serves :mod:`.app` with the extra
``/export.csv`` route of :mod:`fraudwatch.dashboard.server`.
"""

import streamlit as st

from fraudwatch.dashboard.server import APP_SCRIPT, export_routes

app = st.App(APP_SCRIPT, routes=export_routes())

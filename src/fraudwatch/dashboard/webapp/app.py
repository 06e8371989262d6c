"""The Streamlit script of the dashboard: drawn for every browser session.

A thin shell: everything it shows is computed by the library modules of
:mod:`fraudwatch.dashboard` and drawn by :mod:`fraudwatch.dashboard.views`.
"""

from fraudwatch.dashboard.views.shell import main

main()

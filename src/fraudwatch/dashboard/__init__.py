"""The monitoring dashboard (Streamlit): KPIs, trends, filters, tables, labels, model, export.

Library modules hold the logic — :mod:`.filters`, :mod:`.queries`, :mod:`.browse`,
:mod:`.model_info`, :mod:`.labels`, :mod:`.export`, :mod:`.charts` — and the Streamlit
script (:mod:`.app`, drawn by :mod:`.views`) is a thin shell over them. :mod:`.server`
serves it with a streamed CSV export route; ``fraudwatch dashboard`` starts it.
"""

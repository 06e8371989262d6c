"""Streamlit rendering of the dashboard's pages (the numbers come from the library modules)."""

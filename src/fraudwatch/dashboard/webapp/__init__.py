"""The files ``streamlit run`` is pointed at, alone in this folder.

Streamlit puts the script's folder on ``sys.path``; keeping only these two files here means
no dashboard module name can ever shadow a standard or third-party module.
"""

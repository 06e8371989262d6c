"""``make airflow``: Airflow standalone on localhost with airflow/dags (run by .venv-airflow).

See :mod:`fraudwatch.orchestration.standalone`; ``--home``, ``--port`` and ``--host`` change
the defaults (``data/airflow``, 8080, 127.0.0.1).
"""

import sys

from fraudwatch.orchestration.standalone import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

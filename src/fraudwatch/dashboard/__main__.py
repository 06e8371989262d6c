"""``python -m fraudwatch.dashboard [--database-url URL] [--port P] [--host H]``."""

import argparse

from fraudwatch.dashboard.server import DEFAULT_HOST, DEFAULT_PORT, run_dashboard

parser = argparse.ArgumentParser(prog="python -m fraudwatch.dashboard", description=__doc__)
parser.add_argument("--database-url", default=None)
parser.add_argument("--port", type=int, default=DEFAULT_PORT)
parser.add_argument("--host", default=DEFAULT_HOST)
arguments = parser.parse_args()
raise SystemExit(run_dashboard(arguments.database_url, arguments.port, arguments.host))

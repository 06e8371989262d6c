"""Seeded, deterministic credit-card transaction simulator in the Kaggle (Sparkov) layout.

Legitimate spending follows per-card habits and daily, weekly and seasonal rhythms; four
fraud scenarios (``SCENARIOS``) are mixed in at ``SimulatorConfig.fraud_rate`` and named in
the extra ``fraud_scenario`` column. Same config and dates give byte-identical output.
"""

from fraudwatch.sources.simulator.config import SCENARIOS, SimulatorConfig, shares_for
from fraudwatch.sources.simulator.run import simulate, simulate_to_csv

__all__ = ["SCENARIOS", "SimulatorConfig", "shares_for", "simulate", "simulate_to_csv"]

"""Simulator settings and the fixed facts every module shares (scenario names, row mix)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Fraud scenarios, in the order of their numeric codes inside the simulator.
SCENARIOS: tuple[str, ...] = (
    "night_burst", "card_testing", "account_takeover", "compromised_merchant",
)  # fmt: skip
#: Share of fraud *rows* per scenario; night bursts dominate as in the Kaggle data.
SCENARIO_ROW_SHARE: tuple[float, ...] = (0.7, 0.1, 0.1, 0.1)
NIGHT_BURST, CARD_TESTING, ACCOUNT_TAKEOVER, COMPROMISED_MERCHANT = range(len(SCENARIOS))
#: Scenario code of legitimate rows.
LEGITIMATE = -1


@dataclass(frozen=True)
class SimulatorConfig:
    """Everything that decides a simulated data set: same config and dates, same bytes."""

    customers: int = 1000
    seed: int = 42
    fraud_rate: float = 0.005
    merchants_per_category: int = 50
    block_days: int = 30
    #: Share of fraud rows per scenario, in ``SCENARIOS`` order, summing to one:
    #: ``(1, 0, 0, 0)`` simulates only the Kaggle pattern (night bursts); see ``shares_for``.
    scenario_shares: tuple[float, ...] = SCENARIO_ROW_SHARE

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError(f"customers must be >= 1, got {self.customers}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0 (a numpy SeedSequence entropy), got {self.seed}")
        if not 0.0 <= self.fraud_rate < 0.5:
            raise ValueError(f"fraud_rate must lie in [0, 0.5), got {self.fraud_rate}")
        if self.merchants_per_category < 1:
            raise ValueError(
                f"merchants_per_category must be >= 1, got {self.merchants_per_category}"
            )
        if self.block_days < 1:
            raise ValueError(f"block_days must be >= 1, got {self.block_days}")
        shares = self.scenario_shares
        if len(shares) != len(SCENARIOS) or min(shares) < 0 or abs(sum(shares) - 1) > 1e-9:
            raise ValueError(
                f"scenario_shares needs {len(SCENARIOS)} non-negative shares summing to 1 "
                f"(one per scenario: {', '.join(SCENARIOS)}), got {shares}"
            )


def shares_for(names: Sequence[str]) -> tuple[float, ...]:
    """Scenario shares with only ``names``, in their default proportions (summing to one).

    Raises ``ValueError`` naming the unknown scenario and the known ones.
    """
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown or not names:
        problem = (
            f"unknown fraud scenario {', '.join(map(repr, unknown))}"
            if unknown
            else ("no fraud scenario given")
        )
        raise ValueError(f"{problem}; choose from {', '.join(SCENARIOS)}")
    if set(names) == set(SCENARIOS):
        return SCENARIO_ROW_SHARE  # exactly the default, so the default bytes come out
    pairs = zip(SCENARIOS, SCENARIO_ROW_SHARE, strict=True)
    kept = [share if name in names else 0.0 for name, share in pairs]
    return tuple(share / sum(kept) for share in kept)

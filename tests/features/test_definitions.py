"""Every feature is declared once, with a meaning and a wording for reasons."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fraudwatch.features import FEATURE_NAMES, FEATURES, STATIC_FEATURE_NAMES
from fraudwatch.features.definitions import FEATURES_BY_NAME, WINDOWS
from fraudwatch.features.static import category_codes
from fraudwatch.schema import CATEGORIES

FORBIDDEN = {"cc_num", "first", "last", "street", "trans_num", "merchant", "card_token", "zip"}


def test_names_are_unique_and_carry_no_identity() -> None:
    assert len(FEATURE_NAMES) == len(set(FEATURE_NAMES))
    assert not FORBIDDEN & set(FEATURE_NAMES)


def test_required_features_exist() -> None:
    required = {"amt", "log_amt", "hour", "is_night", "is_weekend", "age_years", "gender_male",
                "log_city_pop", "category", "home_merchant_km", "secs_since_prev", "amt_card_z",
                "amt_card_ratio", "amt_category_z", "distinct_merchants_24h",
                "distinct_categories_24h", "night_count_24h", "prev_merchant_km",
                "travel_speed_kmh", "merchant_risk"}  # fmt: skip
    for window in ("10m", "1h", "24h", "7d"):
        required |= {f"card_count_{window}", f"card_sum_{window}"}
    assert required <= set(FEATURE_NAMES)
    assert set(WINDOWS) == {"10m", "1h", "24h", "7d"}


def test_static_baseline_has_no_history() -> None:
    assert {f.kind for f in FEATURES if f.name in STATIC_FEATURE_NAMES} == {"static"}
    assert "card_count_1h" not in STATIC_FEATURE_NAMES


def test_reasons_read_as_words() -> None:
    row = {"card_count_1h": 7.0, "card_daily_rate": 7.2, "amt": 950.0, "card_mean_amt": 40.0}
    assert FEATURES_BY_NAME["card_count_1h"].reason(7.0, row) == (
        "7 transactions on this card in the last hour (usual: 0.3)"
    )
    assert "950.00" in FEATURES_BY_NAME["amt_card_z"].reason(4.2, row)
    for feature in FEATURES:
        text = feature.reason(1.0, {name: 1.0 for name in FEATURE_NAMES})
        assert text and "{" not in text
        assert feature.reason(math.nan, {}).endswith("nan")


@pytest.mark.parametrize("rows", [3, 500])  # the small-batch and the pandas path
def test_an_unknown_category_is_an_error_not_another_categorys_code(rows: int) -> None:
    names = np.array(["gas_transport"] * rows, dtype=object)
    assert (category_codes(names) == CATEGORIES.index("gas_transport")).all()
    names[-1] = "casino"
    with pytest.raises(ValueError, match="category: unknown 'casino'"):
        category_codes(names)

"""Each page of the Streamlit app, run headless by AppTest against a seeded database."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import streamlit
from starlette.applications import Starlette
from starlette.testclient import TestClient
from streamlit.testing.v1 import AppTest

from fraudwatch.dashboard.filters import Filters
from fraudwatch.dashboard.server import APP_SCRIPT, export_routes
from fraudwatch.dashboard.views.shell import EMPTY_TITLE
from fraudwatch.sinks import Store, tables
from tests.dashboard.conftest import SeededStore, app_test, metrics
from tests.dashboard.seed import MODEL_VERSION
from tests.dashboard.test_export_and_labels import parse
from tests.dashboard.test_queries import expected_rows


def shown_text(app: object) -> str:
    """Every markdown, caption, info and warning text of a run, joined."""
    parts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success"):
        parts += [str(element.value) for element in getattr(app, kind)]
    return "\n".join(parts)


def test_overview_kpis_equal_independent_sql(seeded: SeededStore) -> None:
    app = app_test("Overview")
    assert not app.exception, app.exception
    shown = metrics(app)
    scored = seeded.scalar("SELECT count(*) FROM decisions")
    flagged = seeded.scalar("SELECT sum(decision) FROM decisions")
    at_risk = seeded.scalar("SELECT sum(amount) FROM decisions WHERE decision = 1")
    confirmed = seeded.scalar(
        "SELECT count(*) FROM decisions d WHERE (SELECT l.is_fraud FROM labels l "
        "WHERE l.trans_num = d.trans_num ORDER BY l.id DESC LIMIT 1) = 1"
    )
    assert isinstance(scored, int) and isinstance(flagged, int)
    assert shown["Transactions scored"] == f"{scored:,}"
    assert shown["Flagged"] == f"{flagged:,}"
    assert shown["Flag rate"] == f"{flagged / scored * 100:.2f} %"
    assert shown["Amount at risk"] == f"${at_risk:,.2f}"
    assert shown["Confirmed fraud"] == f"{confirmed:,}"
    assert shown["Model version"] == MODEL_VERSION
    newest = seeded.seeded.decisions["event_time"].max()
    assert shown["Last transaction"] == newest.strftime("%Y-%m-%d %H:%M:%S")
    for label, quantile in (
        ("Decision latency, median", 0.5),
        ("Decision latency, p99", 0.99),
    ):
        nearest_rank = seeded.scalar(  # the smallest value with a share q at or below it
            "SELECT latency_ms FROM decisions ORDER BY latency_ms LIMIT 1 OFFSET :k",
            k=math.ceil(quantile * scored) - 1,
        )
        assert shown[label] == f"{nearest_rank:,.1f} ms"
    labelled_alerts = seeded.scalar(
        "SELECT count(DISTINCT d.trans_num) FROM decisions d JOIN labels l "
        "ON l.trans_num = d.trans_num WHERE d.decision = 1"
    )
    false_positives = seeded.scalar(
        "SELECT count(*) FROM decisions d WHERE (SELECT l.is_fraud FROM labels l "
        "WHERE l.trans_num = d.trans_num ORDER BY l.id DESC LIMIT 1) = 0"
    )
    assert shown["Labelled alerts"] == f"{labelled_alerts:,}"
    assert shown["False positives"] == f"{false_positives:,}"
    assert len(app.get("plotly_chart")) == 4
    assert f"{labelled_alerts:,} of {flagged:,} alerts labelled" in shown_text(app)


def test_sidebar_filters_change_the_numbers(seeded: SeededStore) -> None:
    app = app_test("Overview")
    app.multiselect(key="f_categories").set_value(["grocery_pos", "travel"]).run()
    app.number_input(key="f_amount_min").set_value(40.0).run()
    filters = Filters(categories=("grocery_pos", "travel"), amount_min=40.0)
    rows = expected_rows(seeded.seeded, filters)
    shown = metrics(app)
    assert shown["Transactions scored"] == f"{len(rows):,}"
    assert shown["Flagged"] == f"{int(rows['decision'].sum()):,}"
    app.selectbox(key="f_decision").set_value("flagged").run()
    assert metrics(app)["Transactions scored"] == f"{int(rows['decision'].sum()):,}"
    # the filters live in session state: a page change keeps them
    app.radio(key="page").set_value("Transactions").run()
    assert app.session_state["f_categories"] == ["grocery_pos", "travel"]
    assert not app.exception, app.exception


def test_transactions_page_pages_and_exports_the_filtered_rows(seeded: SeededStore) -> None:
    app = app_test("Transactions", f_states=["CA", "TX"], f_probability=(0.2, 1.0))
    assert not app.exception, app.exception
    filters = Filters(states=("CA", "TX"), probability_min=0.2)
    rows = expected_rows(seeded.seeded, filters)
    table = app.dataframe[0].value
    assert len(table) == min(50, len(rows))
    assert (
        table["trans_num"].tolist()
        == rows.sort_values(["event_time", "trans_num"], ascending=[False, True])["trans_num"]
        .head(50)
        .tolist()
    )
    assert f"of {len(rows):,}" in shown_text(app)
    app.number_input(key="tx_page").set_value(2).run()
    assert (
        app.dataframe[0].value["trans_num"].iloc[0]
        == rows.sort_values(["event_time", "trans_num"], ascending=[False, True])["trans_num"].iloc[
            50
        ]
    )
    link = next(button for button in app.get("link_button") if "Export" in button.proto.label)
    url = urlsplit(link.proto.url)
    assert url.path == "/export.csv"
    assert Filters.from_query(parse_qs(url.query)) == filters
    client = TestClient(Starlette(routes=export_routes()))
    exported = parse(client.get(f"{url.path}?{url.query}").content)
    assert sorted(row["trans_num"] for row in exported) == sorted(rows["trans_num"])
    # drill-down of the first row: masked card, reasons in words, card history
    first = app.dataframe[0].value["trans_num"].iloc[0]
    app.text_input(key="tx_lookup").set_value(first).run()
    detail = metrics(app)
    row = seeded.seeded.decisions.set_index("trans_num").loc[first]
    assert detail["Card"] == row["masked_pan"]
    assert detail["Amount"] == f"${row['amount']:,.2f}"
    assert len(app.dataframe) == 2  # the page and the card's history


def test_alert_queue_label_click_writes_the_labels_table(seeded: SeededStore) -> None:
    app = app_test("Alerts")
    assert not app.exception, app.exception
    queue = app.dataframe[0].value
    open_alerts = expected_rows(seeded.seeded, Filters(decision="flagged", label="unlabelled"))
    by_probability = open_alerts.sort_values(
        ["fraud_probability", "trans_num"], ascending=[False, True]
    )
    assert queue["trans_num"].tolist() == by_probability["trans_num"].head(50).tolist()
    assert f"of {len(open_alerts):,}" in shown_text(app)
    target = app.selectbox(key="al_pick").value
    app.text_input(key="analyst").set_value("carol")
    app.text_input(key="label_note").set_value("customer confirmed the card was stolen")
    app.button(key="label_fraud").click().run()
    assert not app.exception, app.exception
    rows = seeded.rows(
        "SELECT is_fraud, analyst, note, created_at FROM labels WHERE trans_num = :t", t=target
    )
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (1, "carol", "customer confirmed the card was stolen")
    ]
    assert rows[0][3] is not None
    assert "Saved" in shown_text(app)
    # the labelled alert has left the queue of unlabelled alerts on the very same redraw
    assert target not in app.dataframe[0].value["trans_num"].tolist()
    assert f"of {len(open_alerts) - 1:,}" in shown_text(app)
    app.button(key="label_legit").click().run()
    other = seeded.rows("SELECT count(*) FROM labels WHERE analyst = 'carol'")
    assert other[0][0] == 2


def test_model_page_shows_version_metrics_and_live_precision(seeded: SeededStore) -> None:
    app = app_test("Model")
    assert not app.exception, app.exception
    shown = metrics(app)
    assert shown["Model version"] == MODEL_VERSION
    assert shown["Threshold"] == "0.5000"
    labelled = expected_rows(seeded.seeded, Filters(decision="flagged", label="labelled"))
    confirmed = int((labelled["verdict"] == 1).sum())
    assert shown["Labelled alerts"] == f"{len(labelled):,}"
    assert shown["Precision since labels arrived"] == f"{confirmed / len(labelled) * 100:.1f} %"
    assert "No PR curve for this version" in shown_text(app)  # the folder is not reachable


def test_model_page_draws_a_pr_curve_from_the_model_folder(
    seeded: SeededStore, tmp_path: Path
) -> None:
    folder = tmp_path / "data" / "models" / MODEL_VERSION  # DATA_DIR is tmp_path / "data"
    folder.mkdir(parents=True)
    (folder / "pr_curve.png").write_bytes(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
        )
    )
    app = app_test("Model")
    assert not app.exception, app.exception
    assert len(app.get("image")) == 1
    assert "No PR curve" not in shown_text(app)


def test_empty_database_shows_the_empty_state(
    tmp_path: Path, point_settings_at: Callable[[str], None]
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    point_settings_at(url)
    for page in ("Overview", "Transactions", "Alerts", "Model"):
        app = app_test(page)
        assert not app.exception and not app.error, (app.exception, app.error)
        assert EMPTY_TITLE in shown_text(app) and "no fraudwatch tables" in shown_text(app)
    with Store(url) as store:
        store.upgrade()
    app = app_test("Overview")
    assert EMPTY_TITLE in shown_text(app) and "table is empty" in shown_text(app)


def test_no_new_data_for_a_while_shows_a_warning(seeded: SeededStore) -> None:
    assert "No new transactions" not in shown_text(app_test("Overview"))
    with seeded.engine.begin() as conn:
        long_ago = datetime.now(UTC) - timedelta(hours=3)
        conn.execute(tables.decisions.update().values(inserted_at=long_ago))
    app = app_test("Overview")
    assert "No new transactions for 3 h" in shown_text(app)


def test_filter_problems_are_explained(seeded: SeededStore) -> None:
    app = app_test("Overview", f_amount_min=500.0, f_amount_max=10.0)
    assert not app.exception
    assert "minimum above its maximum" in shown_text(app)


def test_live_refresh_is_on_by_default_and_selectable(
    seeded: SeededStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page body is an ``st.fragment`` rerun every 15 s by default; off/5/15/60 s."""
    intervals: list[object] = []
    original = streamlit.fragment

    def recording(func: Any = None, *, run_every: object = None, **options: Any) -> Any:
        intervals.append(run_every)
        return original(func, run_every=run_every, **options)

    monkeypatch.setattr(streamlit, "fragment", recording)
    app = AppTest.from_file(str(APP_SCRIPT), default_timeout=60)
    app.session_state["page"] = "Overview"  # refresh left at its default
    app.run()
    assert not app.exception, app.exception
    assert app.session_state["refresh"] == "15 s" and intervals[-1] == 15.0
    scored = metrics(app)["Transactions scored"]
    app.multiselect(key="f_categories").set_value(["travel"]).run()
    filtered = metrics(app)["Transactions scored"]
    assert filtered != scored
    for choice, seconds in (("5 s", 5.0), ("60 s", 60.0), ("off", None)):
        app.segmented_control(key="refresh").set_value(choice).run()
        assert intervals[-1] == seconds, choice
        # changing the refresh keeps the filters and their numbers
        assert metrics(app)["Transactions scored"] == filtered
        assert app.session_state["f_categories"] == ["travel"]

"""The transactions page, the alert queue with analyst labels, and the drill-down."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from fraudwatch.dashboard import browse, formats
from fraudwatch.dashboard.export import export_filename
from fraudwatch.dashboard.filters import Filters
from fraudwatch.dashboard.labels import LabelError, Verdict, record_verdicts
from fraudwatch.dashboard.source import Reader

PAGE_SIZES = (25, 50, 100, 250)
EXPORT_PATH = "export.csv"
#: Columns an analyst decides on, first and narrow: at 1280×800 (the narrowest screen the
#: dashboard is made for) they fit the table's width with no sideways scrolling; the rest
#: (category, state, card, ids, latency) follow to the right.
DECISIVE_COLUMNS = (
    "event_time", "merchant", "amount", "fraud_probability", "decision", "risk_level", "label",
)  # fmt: skip
#: Columns of the query not shown (the label column already names the label's source).
HIDDEN_COLUMNS = ("label_source",)
_COLUMNS = {
    "event_time": st.column_config.DatetimeColumn(
        "time (UTC)", format="YYYY-MM-DD HH:mm:ss", width=150
    ),
    "merchant": st.column_config.TextColumn("merchant", width=150),
    "amount": st.column_config.NumberColumn("amount", format="dollar", width=85),
    "fraud_probability": st.column_config.ProgressColumn(
        "probability", format="%.3f", min_value=0.0, max_value=1.0, width=100
    ),
    "decision": st.column_config.CheckboxColumn("flagged", width=65),
    "risk_level": st.column_config.TextColumn("risk", width=80),
    "label": st.column_config.TextColumn(
        "label · by",
        width=140,
        help="the label that counts and where it comes from: a chargeback (from the issuer) "
        "beats an analyst's verdict",
    ),
    "category": st.column_config.TextColumn("category", width=115),
    "state": st.column_config.TextColumn("state", width=55),
    "masked_pan": st.column_config.TextColumn("card", width=150),
    "trans_num": st.column_config.TextColumn("transaction", width=120),
    "latency_ms": st.column_config.NumberColumn("latency", format="%.1f ms", width=80),
    "alerted_at": st.column_config.DatetimeColumn(
        "alerted (UTC)", format="YYYY-MM-DD HH:mm:ss", width=150
    ),
    "analyst": st.column_config.TextColumn("reported by", width=110),
    "note": st.column_config.TextColumn("note", width=200),
}
ALERTS_TABLE = "alert_table"
_LABEL_RESULT = "label_result"
_TABLE_GENERATION = "alert_table_generation"


def column_order(columns: Sequence[str]) -> list[str]:
    """The decisive columns first, then the others in their query order (hidden ones left
    out)."""
    present = [name for name in DECISIVE_COLUMNS if name in columns]
    skipped = (*DECISIVE_COLUMNS, *HIDDEN_COLUMNS)
    return present + [name for name in columns if name not in skipped]


def export_url(filters: Filters) -> str:
    """Where the streamed CSV of the filtered rows is served (relative to the site root)."""
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    prefix = f"/{base}/" if base else "/"
    query = filters.to_query()
    return f"{prefix}{EXPORT_PATH}" + (f"?{query}" if query else "")


def _table_controls(prefix: str, default_sort: str) -> tuple[str, bool, int, int]:
    sort_col, order_col, size_col, page_col = st.columns([2, 1, 1, 1])
    sorts = list(browse.SORTABLE)
    sort = sort_col.selectbox(
        "Sort by", sorts, index=sorts.index(default_sort), key=f"{prefix}_sort"
    )
    descending = order_col.toggle("Descending", value=True, key=f"{prefix}_desc")
    size = size_col.selectbox("Rows per page", PAGE_SIZES, index=1, key=f"{prefix}_size")
    page = page_col.number_input("Page", min_value=1, value=1, step=1, key=f"{prefix}_page")
    return sort, descending, int(size), int(page)


def _show_page(
    result: browse.Page, filters: Filters, noun: str, *, selectable: bool = False
) -> list[str]:
    """Draw one page of rows; returns the transactions selected in it (``selectable``)."""
    if result.total == 0:
        st.info(f"No {noun} matches the filters.")
        return []
    first = (result.page - 1) * result.page_size + 1
    last = first + len(result.rows) - 1
    rows = result.rows
    order = column_order(list(rows.columns))
    selected: list[str] = []
    if selectable:
        # A new key after each verdict: row positions then mean other alerts, so the
        # selection must not outlive the rows it was made on.
        generation = int(st.session_state.get(_TABLE_GENERATION, 0))
        event = st.dataframe(
            rows, column_config=_COLUMNS, column_order=order, hide_index=True,
            key=f"{ALERTS_TABLE}_{generation}", on_select="rerun", selection_mode="multi-row",
        )  # fmt: skip
        positions = [p for p in event.selection.rows if 0 <= p < len(rows)]
        selected = [str(rows["trans_num"].iloc[p]) for p in positions]
    else:
        st.dataframe(
            rows, column_config=_COLUMNS, column_order=order, hide_index=True, key=f"{noun}_table"
        )
    info, link = st.columns([3, 1])
    info.caption(
        f"{noun.capitalize()}s {first:,}–{last:,} of {result.total:,} "
        f"(page {result.page:,} of {result.pages:,})"
    )
    link.link_button(
        f"Export CSV ({result.total:,} rows)",
        export_url(filters),
        help=f"All matching rows, streamed as {export_filename(filters)}; card numbers masked.",
        width="stretch",
    )
    return selected


def transactions_page(reader: Reader, filters: Filters) -> None:
    """Paged, sortable table of the filtered transactions, with a drill-down."""
    sort, descending, size, page = _table_controls("tx", "time")
    result = browse.transactions_page(
        reader, filters, page=page, page_size=size, sort=sort, descending=descending
    )
    _show_page(result, filters, "transaction")
    if result.total:
        chosen = _choose_transaction(result.rows, "tx")
        if chosen:
            detail_panel(reader, chosen)


def _choose_transaction(rows: pd.DataFrame, prefix: str) -> str | None:
    st.subheader("Drill-down")
    options = rows["trans_num"].tolist()
    labels = {
        str(trans_num): f"{trans_num} · {merchant} · {formats.money(amount)} · p={probability:.3f}"
        for trans_num, merchant, amount, probability in zip(
            options,
            rows["merchant"].tolist(),
            rows["amount"].astype(float).tolist(),
            rows["fraud_probability"].astype(float).tolist(),
            strict=True,
        )
    }
    pick, search = st.columns([2, 1])
    chosen = pick.selectbox(
        "Transaction on this page", options, format_func=labels.__getitem__, key=f"{prefix}_pick"
    )
    typed = search.text_input("…or any transaction id", key=f"{prefix}_lookup").strip()
    return typed or chosen


def detail_panel(reader: Reader, trans_num: str) -> None:
    """One transaction in full: card, merchant, amount, time, score, reasons, card history."""
    detail = browse.transaction_detail(reader, trans_num)
    if detail is None:
        st.warning(f"Transaction `{trans_num}` is not in the database.")
        return
    # Two rows of three: at 1280 px six cards in one row cut the card, amount and verdict.
    top = st.columns([3, 2, 2])
    top[0].metric("Card", detail.masked_pan)
    top[1].metric("Amount", formats.money(detail.amount))
    top[2].metric("Probability", f"{detail.fraud_probability:.3f}")
    second = st.columns([3, 2, 2])
    second[1].metric("Decision", "flagged" if detail.decision else "passed")
    second[2].metric("Risk level", detail.risk_level)
    verdict = detail.verdict
    second[0].metric(
        "Label",
        "—" if verdict is None else browse.label_text(verdict.is_fraud),
        delta=None if verdict is None else f"by {verdict.source}",
        delta_color="off",
        delta_arrow="off",
        help="the label that counts: the newest chargeback, else the newest analyst verdict",
    )
    st.markdown(
        f"**{detail.merchant}** ({detail.category}, {detail.state or 'state unknown'}) at "
        f"{formats.moment(detail.event_time)} UTC — transaction `{detail.trans_num}`, "
        f"model `{detail.model_version}`, threshold {detail.threshold:.3f}, "
        f"decided in {formats.milliseconds(detail.latency_ms)}"
    )
    st.markdown("**Why** (the features that pushed the score up most):")
    if detail.reasons:
        st.markdown("\n".join(f"{i}. {reason}" for i, reason in enumerate(detail.reasons, 1)))
    else:
        st.caption("No reasons recorded: reasons are kept for MEDIUM risk and above.")
    for position, past in enumerate(detail.verdicts):
        kind = browse.label_text(past.is_fraud)
        note = f" — “{past.note}”" if past.note else ""
        counts = " (counts)" if position == 0 else ""
        st.caption(
            f"{formats.moment(past.reported_at)}: {kind}, {past.source} by {past.analyst}"
            f"{note}{counts}"
        )
    st.markdown("**This card's recent transactions**")
    history = browse.card_history(reader, detail.card_token, before=detail.event_time)
    st.dataframe(
        history,
        column_config=_COLUMNS,
        column_order=column_order(list(history.columns)),
        hide_index=True,
        key="card_history",
    )


def alerts_page(reader: Reader, filters: Filters) -> None:
    """The alert queue: flagged transactions to review, labelled here by analysts, one at a
    time (drill-down) or several at once (rows ticked in the table)."""
    only_open = st.toggle("Only alerts without a label", value=True, key="al_open")
    if only_open and filters.label == "all":
        filters = filters.with_(label="unlabelled")
    sort, descending, size, page = _table_controls("al", "probability")
    result = browse.transactions_page(
        reader,
        filters,
        page=page,
        page_size=size,
        sort=sort,
        descending=descending,
        alerts_only=True,
    )
    selected = _show_page(result, filters.with_(decision="flagged"), "alert", selectable=True)
    _label_result()
    if not result.total:
        return
    if selected:
        label_form(reader, selected)
        st.caption("Untick the rows to label one alert from the drill-down below.")
    chosen = _choose_transaction(result.rows, "al")
    if not chosen:
        return
    if not selected:
        label_form(reader, [chosen])
    detail_panel(reader, chosen)


def label_form(reader: Reader, trans_nums: list[str]) -> None:
    """Confirmed fraud / false positive buttons for one alert or the selected ones, with the
    analyst's name (never pre-filled: a verdict says who made it) and an optional note.

    The buttons save in their ``on_click`` callback, which runs before the page is drawn
    again: a labelled alert has already left the "without a label" queue on that redraw.
    """
    if len(trans_nums) == 1:
        st.markdown(f"**Verdict on `{trans_nums[0]}`**")
    else:
        st.markdown(f"**One verdict for the {len(trans_nums):,} selected alerts**")
    who, note_col = st.columns([1, 2])
    who.text_input("Analyst", key="analyst", placeholder="your name (required)")
    note_col.text_input("Note (optional)", key="label_note")
    fraud, legit, _space = st.columns([1, 1, 2])
    suffix = "" if len(trans_nums) == 1 else f" ({len(trans_nums):,})"
    fraud.button(
        f"Confirmed fraud{suffix}", key="label_fraud", type="primary", on_click=_save_verdict,
        args=(reader, tuple(trans_nums), Verdict.CONFIRMED_FRAUD), width="stretch",
    )  # fmt: skip
    legit.button(
        f"False positive{suffix}", key="label_legit", on_click=_save_verdict,
        args=(reader, tuple(trans_nums), Verdict.FALSE_POSITIVE), width="stretch",
    )  # fmt: skip


def _save_verdict(reader: Reader, trans_nums: tuple[str, ...], verdict: Verdict) -> None:
    """Store the verdict (button callback); the outcome is shown by :func:`_label_result`."""
    analyst = str(st.session_state.get("analyst") or "")
    note = str(st.session_state.get("label_note") or "")
    try:
        saved = record_verdicts(reader, trans_nums, verdict, analyst, note)
    except LabelError as error:
        st.session_state[_LABEL_RESULT] = ("error", str(error))
        return
    what = f"`{trans_nums[0]}` is" if saved == 1 else f"{saved:,} alerts are"
    st.session_state[_LABEL_RESULT] = (
        "success",
        f"Saved: {what} {verdict.value} (by {analyst.strip()}).",
    )
    st.session_state[_TABLE_GENERATION] = int(st.session_state.get(_TABLE_GENERATION, 0)) + 1


def _label_result() -> None:
    """The outcome of the last verdict button, shown once."""
    outcome = st.session_state.pop(_LABEL_RESULT, None)
    if outcome is None:
        return
    kind, text = outcome
    (st.success if kind == "success" else st.error)(text)

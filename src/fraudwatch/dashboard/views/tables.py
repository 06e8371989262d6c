"""The transactions page, the alert queue with analyst labels, and the drill-down."""

from __future__ import annotations

import getpass

import pandas as pd
import streamlit as st

from fraudwatch.dashboard import browse, formats
from fraudwatch.dashboard.export import export_filename
from fraudwatch.dashboard.filters import Filters
from fraudwatch.dashboard.labels import LabelError, Verdict, record_verdict
from fraudwatch.dashboard.source import Reader

PAGE_SIZES = (25, 50, 100, 250)
EXPORT_PATH = "export.csv"
_COLUMNS = {
    "event_time": st.column_config.DatetimeColumn("time (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "trans_num": st.column_config.TextColumn("transaction"),
    "masked_pan": st.column_config.TextColumn("card"),
    "amount": st.column_config.NumberColumn("amount", format="$%.2f"),
    "fraud_probability": st.column_config.ProgressColumn(
        "probability", format="%.3f", min_value=0.0, max_value=1.0
    ),
    "decision": st.column_config.CheckboxColumn("flagged"),
    "latency_ms": st.column_config.NumberColumn("latency", format="%.1f ms"),
    "alerted_at": st.column_config.DatetimeColumn("alerted", format="YYYY-MM-DD HH:mm:ss"),
}


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


def _show_page(result: browse.Page, filters: Filters, noun: str) -> None:
    if result.total == 0:
        st.info(f"No {noun} matches the filters.")
        return
    first = (result.page - 1) * result.page_size + 1
    last = first + len(result.rows) - 1
    st.dataframe(result.rows, column_config=_COLUMNS, hide_index=True, key=f"{noun}_table")
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
    top = st.columns([2, 1, 1, 1, 1, 1.4])
    top[0].metric("Card", detail.masked_pan)
    top[1].metric("Amount", formats.money(detail.amount))
    top[2].metric("Probability", f"{detail.fraud_probability:.3f}")
    top[3].metric("Decision", "flagged" if detail.decision else "passed")
    top[4].metric("Risk level", detail.risk_level)
    verdict = detail.verdict
    top[5].metric(
        "Analyst label",
        "—" if verdict is None else ("confirmed fraud" if verdict.is_fraud else "false positive"),
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
    for past in detail.verdicts:
        kind = "confirmed fraud" if past.is_fraud else "false positive"
        note = f" — “{past.note}”" if past.note else ""
        st.caption(f"{formats.moment(past.created_at)}: {kind} by {past.analyst}{note}")
    st.markdown("**This card's recent transactions**")
    history = browse.card_history(reader, detail.card_token, before=detail.event_time)
    st.dataframe(history, column_config=_COLUMNS, hide_index=True, key="card_history")


def alerts_page(reader: Reader, filters: Filters) -> None:
    """The alert queue: flagged transactions to review, labelled here by analysts."""
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
    _show_page(result, filters.with_(decision="flagged"), "alert")
    if not result.total:
        return
    chosen = _choose_transaction(result.rows, "al")
    if not chosen:
        return
    label_form(reader, chosen)
    detail_panel(reader, chosen)


def label_form(reader: Reader, trans_num: str) -> None:
    """Confirmed fraud / false positive buttons with analyst name and an optional note."""
    st.markdown(f"**Verdict on `{trans_num}`**")
    who, note_col = st.columns([1, 2])
    if "analyst" not in st.session_state:
        st.session_state["analyst"] = getpass.getuser()
    analyst = who.text_input("Analyst", key="analyst")
    note = note_col.text_input("Note (optional)", key="label_note")
    fraud, legit, _space = st.columns([1, 1, 3])
    verdict = None
    if fraud.button("Confirmed fraud", key="label_fraud", type="primary"):
        verdict = Verdict.CONFIRMED_FRAUD
    if legit.button("False positive", key="label_legit"):
        verdict = Verdict.FALSE_POSITIVE
    if verdict is None:
        return
    try:
        record_verdict(reader, trans_num, verdict, analyst, note)
    except LabelError as error:
        st.error(str(error))
        return
    st.success(f"Saved: `{trans_num}` is {verdict.value} (by {analyst.strip()}).")

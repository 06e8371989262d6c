"""The EDA notebook runs top to bottom on simulated data, in the project's own interpreter,
and shows what its text claims."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

from fraudwatch.features import FEATURE_NAMES
from fraudwatch.sources.simulator import SCENARIOS, SimulatorConfig, simulate

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "eda.ipynb"
ARTIFACT = ROOT / "test-artifacts" / "eda-executed.ipynb"
#: A kernel name no other installation uses, so no user or system kernelspec can shadow ours.
KERNEL_NAME = "fraudwatch-test-venv"
#: Weekly rate, hour, category, amounts, age, bursts, scenarios, feature histograms, AUC.
EXPECTED_PLOTS = 9
#: Appended to the notebook: reports the kernel's interpreter and the computed values as JSON.
PROBE = """
import json as _json, sys as _sys
print("PROBE" + _json.dumps({
    "executable": _sys.executable,
    "prefix": _sys.prefix,
    "data_path": DATA_PATH,
    "simulator": [SIM_CUSTOMERS, SIM_SEED, SIM_START.isoformat(), SIM_END.isoformat()],
    "transactions": len(transactions),
    "frauds": int(is_fraud.sum()),
    "auc": auc_table["auc"].to_dict(),
    "kind": auc_table["kind"].to_dict(),
    "scenario_frauds": scenario_counts["frauds"].to_dict(),
    "amounts": amount_medians.to_dict(orient="index"),
    "burst_share_of_rows": float(bursts["transactions"].sum() / is_fraud.sum()),
}, default=float))
"""


def _kernelspec_dir(base: Path) -> Path:
    """A Jupyter data dir whose only kernel runs this very interpreter (the venv's python)."""
    spec_dir = base / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "fraudwatch test (venv)",
        "language": "python",
        # Inline figures whatever MPLBACKEND the developer's shell exports.
        "env": {"MPLBACKEND": "module://matplotlib_inline.backend_inline"},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    return base


def _probe_result(notebook: nbformat.NotebookNode) -> dict[str, Any]:
    """The JSON printed by the probe cell."""
    for output in notebook.cells[-1].outputs:
        if output.output_type == "stream" and "PROBE" in output.text:
            result: dict[str, Any] = json.loads(output.text.split("PROBE", 1)[1])
            return result
    raise AssertionError(f"probe printed nothing: {notebook.cells[-1].outputs}")


def test_committed_notebook_has_no_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells
    assert all(not cell.outputs and cell.execution_count is None for cell in code_cells)


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The notebook executed on its default simulated data, and the probe's report."""
    base = tmp_path_factory.mktemp("eda")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("JUPYTER_PATH", str(_kernelspec_dir(base / "jupyter")))
        env.setenv("JUPYTER_RUNTIME_DIR", str(base / "runtime"))
        env.setenv("IPYTHONDIR", str(base / "ipython"))  # no developer startup scripts
        env.setenv("FRAUDWATCH_DATA_DIR", str(base / "data"))
        env.delenv("FRAUDWATCH_EDA_DATA", raising=False)
        env.delenv("FRAUDWATCH_EDA_ROWS", raising=False)
        notebook = nbformat.read(NOTEBOOK, as_version=4)
        notebook.cells.append(nbformat.v4.new_code_cell(PROBE))
        client = NotebookClient(
            notebook,
            kernel_name=KERNEL_NAME,
            timeout=120,
            resources={"metadata": {"path": str(base)}},  # cwd: nothing relative to the repo
        )
        try:
            client.execute()
        finally:
            ARTIFACT.parent.mkdir(exist_ok=True)
            nbformat.write(notebook, ARTIFACT)
    return {"notebook": notebook, "probe": _probe_result(notebook)}


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_notebook_runs_in_the_project_interpreter(executed: dict[str, Any]) -> None:
    probe = executed["probe"]
    assert probe["executable"] == sys.executable
    assert probe["prefix"] == sys.prefix
    errors = [
        output
        for cell in executed["notebook"].cells
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    ]
    assert errors == []


@pytest.mark.slow
def test_notebook_draws_every_plot(executed: dict[str, Any]) -> None:
    images = [
        output
        for cell in executed["notebook"].cells
        for output in cell.get("outputs", [])
        if output.output_type == "display_data" and "image/png" in output.data
    ]
    assert len(images) >= EXPECTED_PLOTS


@pytest.mark.slow
def test_notebook_analyses_the_simulated_data(executed: dict[str, Any]) -> None:
    probe = executed["probe"]
    assert probe["data_path"] is None
    customers, seed, start, end = probe["simulator"]
    config = SimulatorConfig(customers=customers, seed=seed)
    raw = pd.concat(
        simulate(config, dt.date.fromisoformat(start), dt.date.fromisoformat(end)),
        ignore_index=True,
    )
    assert probe["transactions"] == len(raw)
    assert probe["frauds"] == int(raw["is_fraud"].sum()) > 100
    assert probe["scenario_frauds"].keys() == set(SCENARIOS)
    assert sum(probe["scenario_frauds"].values()) == probe["frauds"]
    assert probe["burst_share_of_rows"] > 0.5  # bursts carry most fraudulent rows


@pytest.mark.slow
def test_notebook_amount_claims_hold(executed: dict[str, Any]) -> None:
    amounts = executed["probe"]["amounts"]
    for high in ("shopping_net", "misc_net", "grocery_pos"):
        assert amounts[high]["fraud_median"] > 2 * amounts[high]["legit_median"], high
    assert amounts["gas_transport"]["fraud_median"] < amounts["gas_transport"]["legit_median"]
    assert amounts["travel"]["night_burst_median"] < 25
    assert amounts["travel"]["night_burst_median"] < amounts["travel"]["legit_mean"]


@pytest.mark.slow
def test_notebook_auc_table_covers_every_feature(executed: dict[str, Any]) -> None:
    probe = executed["probe"]
    assert set(probe["auc"]) == set(FEATURE_NAMES)
    assert all(0.0 <= auc <= 1.0 for auc in probe["auc"].values())
    assert {probe["kind"][name] for name in ("amt", "hour", "category")} == {"static"}
    assert {probe["kind"][name] for name in ("card_count_24h", "merchant_risk")} == {"history"}
    separation = {name: max(auc, 1 - auc) for name, auc in probe["auc"].items()}
    best_history = max(v for name, v in separation.items() if probe["kind"][name] == "history")
    assert best_history > 0.75
    assert separation["card_sum_24h_vs_usual"] > 0.7

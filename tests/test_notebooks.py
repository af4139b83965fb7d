"""The lessons in ``notebooks/`` are stored clean and run top to bottom.

Storage policy: every ``.ipynb`` is committed with its outputs and execution
counts stripped (a teacher opens a fresh lesson; diffs show only prose and
code). :func:`test_stored_without_outputs` enforces it and validates each file
against the nbformat schema.

Execution: each notebook runs in a fresh ``python3`` kernel started by
nbclient in the notebooks' own folder. Any cell that raises fails the test,
and the notebooks' own ``assert`` cells compare the engine against the notes'
hand formulas, so a drift between library and lesson fails here. Jupyter
resolves the ``python3`` kernel's ``python`` to the interpreter running pytest
(the venv's); :func:`test_kernel_is_this_python` checks that.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
EXPECTED = [
    "01_one_neuron_per_layer.ipynb",
    "02_many_neurons_sum_over_j.ipynb",
    "03_matrix_form.ipynb",
    "04_training.ipynb",
    "05_check_your_own_derivation.ipynb",
    "06_second_derivatives.ipynb",
]
CELL_TIMEOUT = 120  # seconds per cell: a hung kernel fails instead of blocking CI


def _run(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    client.execute()
    return nb


def test_the_lessons_are_there() -> None:
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs(path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    nb = nbformat.reads(json.dumps(raw), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} have stored outputs or execution counts; "
        "clear them before committing (Jupyter: Edit → Clear Outputs of All Cells)"
    )
    kinds = {cell.cell_type for cell in nb.cells}
    assert kinds == {"markdown", "code"}, f"{path.name}: cell types {sorted(kinds)}"


def test_kernel_is_this_python() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import sys\nprint(sys.executable)")]
    _run(nb)
    printed = "".join(o.get("text", "") for o in nb.cells[0].outputs).strip()
    assert Path(printed).resolve() == Path(sys.executable).resolve()


def test_a_failing_cell_fails_the_run() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("assert 1 + 1 == 3, 'arithmetic'")]
    with pytest.raises(CellExecutionError, match="arithmetic"):
        _run(nb)


@pytest.mark.slow
@pytest.mark.needs_dot
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path: Path) -> None:
    assert shutil.which("dot"), "the notebooks draw graphs: install Graphviz (dot)"
    nb = nbformat.read(path, as_version=4)
    _run(nb)
    errors = [
        o
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.outputs
        if o.output_type == "error"
    ]
    assert not errors  # (no limit in seconds: a shared machine's wall clock is not a test)

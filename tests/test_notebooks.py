"""The notebooks kept in git carry no outputs and match their generator.

The notebooks themselves are EXECUTED by nbmake (``--nbmake`` in the pytest options,
small budget from ``notebooks/conftest.py``); these tests only check the files.
"""

import importlib.util
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def _generator():
    spec = importlib.util.spec_from_file_location("make_notebooks", NOTEBOOKS / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", sorted(_generator().NOTEBOOKS))
def test_notebook_is_stripped_and_generated(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name}: outputs must not be committed"
            assert cell.execution_count is None, name
    fresh = _generator().NOTEBOOKS[name]()
    assert [c.source for c in nb.cells] == [c.source for c in fresh.cells], (
        f"{name} differs from notebooks/make_notebooks.py; run `make notebooks`"
    )


def test_notebooks_read_the_budget_variable():
    for name in _generator().NOTEBOOKS:
        text = (NOTEBOOKS / name).read_text()
        assert "PUREJAXPPO_NOTEBOOK_BUDGET" in text, name

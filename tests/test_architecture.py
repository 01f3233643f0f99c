"""The layering of DESIGN.md: each package imports only from the packages below it, and the
engine's array code goes through netchain.backend rather than NumPy."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "netchain"

# what each part of the house may import from netchain (DESIGN.md, "The house, bottom to top")
ALLOWED = {
    "backend": set(),
    "autodiff": {"backend"},
    "layers": {"backend", "autodiff"},
    "nets": {"backend", "autodiff", "layers"},
    "train": {"backend", "autodiff", "layers", "nets"},
    "models": {"backend", "autodiff", "layers", "nets", "train"},
    "ml": {"backend", "models"},  # models for the "NeuralNetwork" method
    "calculus": {"backend", "autodiff"},
    "datasets": {"backend"},
    "plot": {
        "backend",
        "autodiff",
        "layers",
        "nets",
        "train",
        "models",
        "ml",
        "calculus",
        "datasets",
    },
}
# deliberate, documented exceptions: (importing module, imported part)
EXCEPTIONS = {
    ("netchain/train/nettrain.py", "plot")
}  # results.loss_plot() draws with netchain.plot


def _part(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "netchain" and len(parts) > 1 else None


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            if node.module == "netchain":
                found.update(f"netchain.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def _files():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        part = rel.parts[0].removesuffix(".py")
        if part in ALLOWED:
            yield path, part


@pytest.mark.parametrize(
    "path, part",
    list(_files()),
    ids=lambda v: str(v).split("netchain/")[-1] if isinstance(v, Path) else v,
)
def test_no_import_runs_up_the_house(path, part):
    rel = "netchain/" + str(path.relative_to(PACKAGE))
    for module in _imports(path):
        target = _part(module)
        if target is None or target == part or target not in {*ALLOWED, "cli", "tour"}:
            continue
        assert target in ALLOWED[part] or (rel, target) in EXCEPTIONS, f"{rel} imports {module}"


@pytest.mark.parametrize("part", ["autodiff", "layers"])
def test_engine_array_code_goes_through_the_backend(part):
    for path in (PACKAGE / part).rglob("*.py"):
        assert "numpy" not in _imports(path), (
            f"{path.name} imports numpy directly; use netchain.backend.xp"
        )


@pytest.mark.parametrize("part", ["autodiff", "layers", "nets", "train"])
def test_engine_uses_no_numpy_only_array_feature(part):
    # CuPy arrays have no read-only flag and CuPy no errstate (found on a GPU run): the engine
    # asks netchain.backend (writeable, set_writeable, errstate) instead
    for path in (PACKAGE / part).rglob("*.py"):
        text = path.read_text()
        for feature in (".flags.writeable", "xp.errstate", "np.errstate"):
            assert feature not in text, f"{path.name} uses {feature}; use netchain.backend"


def test_backend_array_helpers_work_without_numpy_flags():
    from netchain import backend

    class CupyLike:  # what a CuPy array's flags offer
        class flags:
            c_contiguous = True

    a = CupyLike()
    assert backend.writeable(a)
    backend.set_writeable(a, False)  # nothing to do, no error
    import numpy as np

    b = np.zeros(3)
    backend.set_writeable(b, False)
    assert not backend.writeable(b)
    with backend.errstate(divide="ignore"):
        assert np.isinf(np.float64(1.0) / np.zeros(1))[0]

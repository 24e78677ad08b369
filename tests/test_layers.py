"""Imports only point down: the package's layers, bottom to top (docs/design.md)."""

import ast

from conftest import REPO

LAYERS = (
    ("_array", "_help", "_moved", "boxes", "keypoints", "geometry", "config", "checkpoint", "runtime"),
    ("models", "losses", "codec", "metrics", "smoothing"),  # networks and pure numerics
    ("weights",),  # a file or shipped name -> a ready model
    ("data",),  # dataset formats and the training-sample pipeline
    ("detect",),  # finding subjects
    ("evaluation",),  # inference forward, evaluation sets, reports, comparison
    ("engine",),  # training only
    ("prediction", "predictor", "visualize", "export", "demo", "end_to_end"),  # the user-facing API
    ("annotate",),  # what tools/infer.py does
)
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def _unit(module: str) -> str:
    """``hourglass.data.lsp`` -> ``data``."""
    return module.split(".")[1]


def _imports(path):
    """Every ``hourglass.*`` module imported anywhere in the file (function bodies included), with its line."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] if node.module != "hourglass" else [f"hourglass.{a.name}" for a in node.names]
            yield from ((n, node.lineno) for n in names if n.startswith("hourglass."))
        elif isinstance(node, ast.Import):
            yield from ((a.name, node.lineno) for a in node.names if a.name.startswith("hourglass."))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "alias_module":
            target = node.args[1]
            if isinstance(target, ast.Constant):
                yield target.value, node.lineno


def test_every_module_has_a_layer():
    units = {p.relative_to(REPO / "hourglass").parts[0].removesuffix(".py") for p in (REPO / "hourglass").glob("*")}
    units -= {"__init__", "__pycache__", "py.typed"}
    assert units <= set(LAYER), f"modules without a layer in tests/test_layers.py: {sorted(units - set(LAYER))}"


def test_imports_point_down():
    upward = []
    for path in sorted((REPO / "hourglass").rglob("*.py")):
        rel = path.relative_to(REPO)
        if rel.as_posix() == "hourglass/__init__.py":
            continue  # the package's front re-exports the top layers
        here = _unit(".".join(rel.with_suffix("").parts))
        for module, line in _imports(path):
            there = _unit(module)
            if there in LAYER and LAYER[there] > LAYER[here]:
                where = f"{rel}:{line} ({here}, layer {LAYER[here] + 1})"
                upward.append(f"{where} imports {module} (layer {LAYER[there] + 1})")
    assert not upward, "imports that point up:\n" + "\n".join(upward)


def test_the_checker_sees_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from hourglass.engine import train\n")
    assert list(_imports(bad)) == [("hourglass.engine", 2)]

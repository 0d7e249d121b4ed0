"""The code's shape: no module imports one that imports it back (at load
time or inside a function)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("soundnet_keras", "sed")


def _module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path):
    """The project modules a file imports, anywhere in it."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module
                                          else []))
            else:
                module = node.module or ""
            found.add(module)
            found |= {f"{module}.{a.name}" for a in node.names}
    return {m for m in found if m.split(".")[0] in PACKAGES}


def import_graph():
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]
    modules = {_module_name(p): p for p in files}
    return {name: {m for m in _imports(path) if m in modules and m != name}
            for name, path in modules.items()}


def test_no_module_imports_one_that_imports_it_back():
    graph = import_graph()
    circles = sorted({tuple(sorted((a, b))) for a, deps in graph.items()
                      for b in deps if a in graph.get(b, ())
                      and not (a.startswith(b + ".") or
                               b.startswith(a + "."))})
    assert not circles, circles


def test_the_graph_sees_lazy_imports():
    graph = import_graph()
    assert "sed.pretrain" in graph["sed.train"]        # inside a function
    assert "sed.dataset" in graph["sed.train"]          # at load time

"""The import rules of the repository, checked by ``make lint`` (docs/architecture.md, "Layers").

* No import cycle between modules of ``choria_emulator`` at run time (imports under
  ``if TYPE_CHECKING:`` do not run, so they are left out of this rule).
* No import cycle at all, type-only imports included, inside the packages named in ``ACYCLIC``:
  a type-only back-reference there is a sign that a narrow interface (a Protocol) is missing.
* ``choria_emulator.testing`` (the harness of the tests, benchmarks and demos) is imported by no
  other module of the package, except the ones in ``HARNESS`` (each with its reason).
* Ansible modules and module_utils run on target hosts, where the package is not installed: they
  import no ``choria_emulator``.

Reads the source with :mod:`ast`; imports nothing it checks. Exit status 1 and one line per
finding when a rule is broken.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "emulator" / "src" / "choria_emulator"
ACYCLIC = ("choria_emulator.daemon", "choria_emulator.playbook")
HARNESS: dict[str, str] = {
    # modules outside choria_emulator.testing that only the harness may import, with the reason
}
TARGET_SIDE = ("plugins/modules", "plugins/module_utils")


def module_name(path: Path) -> tuple[str, bool]:
    """Dotted name of a module file and whether it is a package's ``__init__``."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _type_checking_block(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(tree: ast.Module, name: str, is_package: bool) -> list[tuple[str, bool]]:
    """(imported module or name, type-only) for every import in the module, at any depth."""
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, type_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((alias.name, type_only) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    parts = name.split(".") if is_package else name.split(".")[:-1]
                    parts = parts[: len(parts) - child.level + 1]
                    base = ".".join([*parts, child.module] if child.module else parts)
                else:
                    base = child.module or ""
                found.extend((f"{base}.{alias.name}", type_only) for alias in child.names)
                found.append((base, type_only))
            visit(child, type_only or _type_checking_block(child))

    visit(tree, False)
    return found


def graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Edges between package modules: (run-time imports, all imports)."""
    trees = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name, is_package = module_name(path)
        trees[name] = (ast.parse(path.read_text(encoding="utf-8"), str(path)), is_package)
    runtime: dict[str, set[str]] = {name: set() for name in trees}
    everything: dict[str, set[str]] = {name: set() for name in trees}
    for name, (tree, is_package) in trees.items():
        for target, type_only in imports(tree, name, is_package):
            # "from .x import y": y is a module when x.y is one, else a name in x. A module's own
            # packages are loaded before it anyway, so an import of one of them is no edge.
            if target not in trees or target == name or name.startswith(target + "."):
                continue
            everything[name].add(target)
            if not type_only:
                runtime[name].add(target)
    return runtime, everything


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def problems() -> list[str]:
    runtime, everything = graph()
    found = [f"import cycle at run time: {' <-> '.join(c)}" for c in cycles(runtime)]
    for package in ACYCLIC:
        local = {
            n: {t for t in targets if inside(t, package)} for n, targets in everything.items() if inside(n, package)
        }
        found += [
            f"import cycle inside {package} (type-only imports included): {' <-> '.join(c)}" for c in cycles(local)
        ]
    for name, targets in sorted(everything.items()):
        if inside(name, "choria_emulator.testing") or name in HARNESS:
            continue
        for target in sorted(targets):
            if inside(target, "choria_emulator.testing"):
                found.append(f"{name} imports the test harness {target}")
    for folder in TARGET_SIDE:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for target, _ in imports(tree, "plugin", False):
                if inside(target, "choria_emulator"):
                    found.append(f"{path.relative_to(ROOT)} runs on targets but imports {target}")
    return found


def main() -> int:
    found = problems()
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

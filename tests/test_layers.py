"""The layers point one way (docs/architecture.md): a module imports only its own layer and the
ones below, read from the source with ``ast`` — imports inside functions included, so a cycle
cannot hide in one.

    platforms  →  domain apps  →  sync  →  scheduling  →  web / api / commands

and beside them the sandboxes, which play the remote side and import no hub code (only the
foundation: settings parsing, logging), so a bug cannot hide on both sides.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dropstream"

# Lowest first. A module belongs to the first layer whose prefix it starts with.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("dropstream.crypto", "dropstream.logs", "dropstream.config", "dropstream.bulk")),
    ("platforms", ("dropstream.platforms",)),
    ("domain", ("dropstream.accounts", "dropstream.connections", "dropstream.catalog",
                "dropstream.orders", "dropstream.shipments", "dropstream.inventory",
                "dropstream.metering", "dropstream.intents", "dropstream.alerts",
                "dropstream.rules")),
    ("sync", ("dropstream.sync",)),
    ("scheduling", ("dropstream.scheduling",)),
    ("interface", ("dropstream.web", "dropstream.api", "dropstream.commands",
                   "dropstream.cli", "dropstream.processes")),
    ("project", ("dropstream.settings", "dropstream.urls", "dropstream.wsgi",
                 "dropstream.__init__", "dropstream")),
]
SANDBOX = "dropstream.sandbox"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(module: str) -> int | None:
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    return None


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every import in the file, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in ("dropstream", "dropstream.platforms"):
                # "from dropstream import crypto" imports dropstream.crypto.
                found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def _is_platform_package(folder: Path) -> bool:
    """A folder of platforms/ is a platform when its ``__init__`` defines ``SPEC``; any other
    package there (the file transport) is shared, like the seam's modules."""
    init = folder / "__init__.py"
    if not init.is_file():
        return False
    tree = ast.parse(init.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.Assign | ast.AnnAssign) and any(
        isinstance(target, ast.Name) and target.id == "SPEC"
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target]))
        for node in tree.body)


def platform_of(module: str) -> str | None:
    """``dropstream.platforms.<name>…`` → name (the shared modules of platforms/ → None)."""
    parts = module.split(".")
    if len(parts) >= 3 and parts[:2] == ["dropstream", "platforms"] and \
            _is_platform_package(PACKAGE / "platforms" / parts[2]):
        return parts[2]
    return None


def violations() -> list[str]:
    found = []
    for path in sources():
        here = module_name(path)
        here_layer = layer_of(here)
        for line, target in imports_of(path):
            if not target.startswith("dropstream"):
                continue
            where = f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}"
            if here.startswith(SANDBOX):
                if not (target.startswith(SANDBOX) or layer_of(target) == 0):
                    found.append(f"{where} (a sandbox imports no hub code)")
                continue
            if target.startswith(SANDBOX):
                if layer_of(here) != layer_of("dropstream.commands"):
                    found.append(f"{where} (only commands start sandboxes)")
                continue
            target_layer = layer_of(target)
            if here_layer is None or target_layer is None:
                found.append(f"{where} (a module outside every layer)")
            elif target_layer > here_layer:
                found.append(f"{where} ({LAYERS[here_layer][0]} may not import "
                             f"{LAYERS[target_layer][0]})")
            mine, theirs = platform_of(here), platform_of(target)
            if theirs is not None and mine != theirs and here_layer <= 1:
                found.append(f"{where} (one platform never imports another)")
            if theirs is not None and here_layer > 1:
                found.append(f"{where} (only the registry loads a platform's package)")
    return found


def test_every_import_points_down_the_layers():
    assert violations() == []


@pytest.mark.parametrize("module", ["dropstream.orders.actions", "dropstream.sync.runner",
                                    "dropstream.scheduling.tasks", "dropstream.web.urls"])
def test_the_layer_map_knows_every_kind_of_module(module):
    assert layer_of(module) is not None

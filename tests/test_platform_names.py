"""A platform is one folder: no module outside ``platforms/<name>/`` (and the sandboxes, which
play a platform's far side, and the registry's one line) names a platform or reads one of its
settings. Read from the source with ``ast``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from dropstream.platforms.base import all_platforms

PACKAGE = Path(__file__).resolve().parents[1] / "dropstream"
# Where naming a platform is the point: the registry, the sandboxes, the demo (and its
# per-platform warehouses) and the
# command that starts the sandboxes.
ALLOWED = ("platforms/base.py", "sandbox/", "commands/demo", "commands/sandboxes.py",
           "migrations/")


def platform_keys() -> set[str]:
    return {spec.name for spec in all_platforms()}


def setting_names() -> set[str]:
    """Settings only some platform has (a name every platform shares says nothing of one)."""
    specs = all_platforms()
    counts: dict[str, int] = {}
    for spec in specs:
        for field in spec.fields:
            counts[field.name] = counts.get(field.name, 0) + 1
    return {name for name, count in counts.items() if count < len(specs)}


def _is_platform_slot(node: ast.AST, parent: ast.AST | None) -> bool:
    """Whether a string constant sits where a platform key goes: ``platform="…"``,
    ``{"platform": "…"}``, or compared with something named ``platform``."""
    if isinstance(parent, ast.keyword):
        return parent.arg == "platform"
    if isinstance(parent, ast.Dict):
        for key, value in zip(parent.keys, parent.values, strict=True):
            if value is node and isinstance(key, ast.Constant) and key.value == "platform":
                return True
    if isinstance(parent, ast.Compare):
        names = [n for n in ast.walk(parent) if isinstance(n, ast.Attribute | ast.Name)]
        return any(getattr(n, "attr", getattr(n, "id", "")) == "platform" for n in names)
    return False


def _is_setting_read(node: ast.AST, parent: ast.AST | None) -> bool:
    """``settings["name"]``, ``x.get("name")``, ``{"name": …}`` keys."""
    if isinstance(parent, ast.Subscript) and parent.slice is node:
        return True
    if isinstance(parent, ast.Call) and node in parent.args and \
            isinstance(parent.func, ast.Attribute) and parent.func.attr in ("get", "pop"):
        return True
    return isinstance(parent, ast.Dict) and node in parent.keys


def violations() -> list[str]:
    keys, settings = platform_keys(), setting_names()
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("platforms/") and relative.count("/") >= 2 \
                or any(part in relative for part in ALLOWED):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            parent = parents.get(node)
            if node.value in keys and _is_platform_slot(node, parent):
                found.append(f"{relative}:{node.lineno} names the platform {node.value!r}")
            elif node.value in settings and _is_setting_read(node, parent):
                found.append(f"{relative}:{node.lineno} reads the platform setting "
                             f"{node.value!r}")
    return found


def test_no_module_outside_a_platforms_folder_names_a_platform_or_its_settings():
    assert violations() == []


TEMPLATES = PACKAGE / "web" / "templates"
TAG = re.compile(r"{{.*?}}|{%.*?%}", re.S)
# Where a setting's name would be a read of it: an attribute of a form or of settings shown
# (``form.subdomain``, ``store_masked.api_token``), or a quoted key compared in a tag.
SETTING_READ = re.compile(r"\b\w*(?:form|masked|adapter|settings)\.(\w+)|[\"'](\w+)[\"']")


def template_violations() -> list[str]:
    """A template that reads a platform's setting by name (``form.subdomain``,
    ``masked.api_token``) shows one platform only; pages go through the spec's fields."""
    settings = setting_names()
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for tag in TAG.finditer(text):
            words = {name for pair in SETTING_READ.findall(tag.group()) for name in pair}
            for word in words & settings:
                line = text.count("\n", 0, tag.start()) + 1
                found.append(f"{path.relative_to(PACKAGE).as_posix()}:{line} reads the "
                             f"platform setting {word!r}")
    return found


def test_no_template_reads_a_platform_setting_by_name():
    assert template_violations() == []

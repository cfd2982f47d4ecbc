"""Layers point down (ARCHITECTURE invariant 2), read from the imports of every module (AST), and the system works
with any business plugin left out."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOP = ("core", "tenants", "workers", "plugins", "tests", "bench")


def imports(path: Path) -> list[tuple[int, str]]:
    """Absolute module names a file imports (relative imports resolved against its package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = list(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                found.append((node.lineno, ".".join(base + ([node.module] if node.module else []))))
            elif node.module:
                found.append((node.lineno, node.module))
    return found


def forbidden(path: Path, module: str) -> str | None:
    """Why importing `module` from `path` runs against the layers, or None."""
    parts = path.relative_to(ROOT).parts
    top, target = parts[0], module.split(".")
    if top == "core" and target[0] in ("tenants", "workers", "plugins", "tests", "bench"):
        return "core imports nothing above it"
    if top == "plugins" and len(parts) > 2:
        own = parts[1]
        if target[0] in ("tenants", "workers", "tests", "bench"):
            return "a plugin imports only core and itself"
        if target[0] == "plugins" and len(target) > 1 and target[1] != own:
            return f"plugin {own!r} imports another plugin"
    if target[0] == "arq" and top not in ("workers", "bench", "tests"):
        return "only workers/ imports arq"
    return None


def python_files() -> list[Path]:
    files = []
    for top in TOP:
        files += [p for p in (ROOT / top).rglob("*.py") if ".venv" not in p.parts]
    return sorted(files)


def violations(files: list[Path]) -> list[str]:
    found = []
    for path in files:
        for line, module in imports(path):
            why = forbidden(path, module)
            if why:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}: {why}")
    return found


def test_no_import_runs_against_the_layers() -> None:
    assert violations(python_files()) == []


def test_the_layer_check_catches_each_kind_of_edge(tmp_path: Path) -> None:
    cases = {
        "core/x.py": "from tenants import demo\n",
        "core/y.py": "import workers.queue\n",
        "plugins/alpha/a.py": "from plugins.beta.tables import T\n",
        "plugins/alpha/tests/t.py": "from tenants.demo import A\n",
        "plugins/alpha/jobs.py": "from arq.cron import cron\n",
        "plugins/alpha/ok.py": "from plugins.alpha import tables\nfrom core.db import transaction\nfrom . import x\n",
    }
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        for rel, text in cases.items():
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / rel).write_text(text)
        found = violations([tmp_path / rel for rel in cases])
    finally:
        ROOT = saved
    assert len(found) == 5 and not any(line.startswith("plugins/alpha/ok.py") for line in found), found


def business_modules() -> list[str]:
    from core.plugins import get_plugin_system

    return [m for m in get_plugin_system().module_names() if m != "example"]


@pytest.mark.parametrize("left_out", business_modules())
async def test_the_system_works_with_a_business_plugin_left_out(left_out: str, make_tenant: Any) -> None:
    """Build the plugin system and app without one business plugin; the isolation walk still passes."""
    import httpx

    from core.app import create_app
    from core.plugins import build_plugin_system, get_plugin_system
    from core.settings import get_settings
    from tests.test_tenant_isolation import walk_isolation

    everything = get_plugin_system()
    system = build_plugin_system(allow=[m for m in everything.module_names() if m != left_out],
                                 extra=get_settings().extra_plugins)
    assert left_out not in system.modules and {"tenants", "workers", "agencies"} <= set(system.modules)
    app = create_app(system=system)
    assert not [r.path for r in app.routes if f"/{left_out}/" in r.path]
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        failures = await walk_isolation(client, app, make_tenant, system)
    assert failures == []

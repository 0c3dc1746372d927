"""The dependency rules of docs/architecture.md, read from the source: no import runs upward.

Services never import the API, the pages, the command line or the jobs' runner; the adapters import nothing of
the sidecar. The imports that still run up into ``webhooks`` are listed by name, so the
list can only shrink: a new one fails here until it is moved down or the rule is changed on purpose.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# module -> the upward imports it still has (docs/architecture.md, "Known exceptions"); never add to this list
KNOWN_UPWARD = {
    "plugin.services.admin.purge": {"webhooks.models"},
    "plugin.services.anonymity.anonymity": {"webhooks.models", "webhooks.store"},
    "plugin.services.events.delivery": {"webhooks.signature"},
    "plugin.services.events.event_receiver": {"webhooks.signature"},
    "plugin.services.events.subscriptions": {"webhooks.signature"},
    "plugin.services.host.host_check": {"webhooks.models"},
    "plugin.services.host.install": {"webhooks.models"},
}


def _imports(path: Path) -> set[str]:
    """Every module a file imports, absolute, at any depth (imports inside functions count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _modules(package: str) -> dict[str, set[str]]:
    folder = ROOT / package.replace(".", "/")
    return {".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): _imports(path)
            for path in sorted(folder.rglob("*.py"))}


def _upward(imports: set[str], above: tuple[str, ...]) -> set[str]:
    return {name for name in imports if name.startswith(above) and name.count(".") >= 1}


def test_services_import_no_api_pages_cli_or_jobs_runner() -> None:
    above = ("plugin.api", "plugin.pages", "plugin.cli", "plugin.jobs.", "webhooks.")
    found = {module: _upward(imports, above) for module, imports in _modules("plugin.services").items()}
    found = {module: names for module, names in found.items() if names}
    # an import of a name from a module (``from webhooks.store import X`` gives ``webhooks.store.X``) is its module
    modules_only = {module: {name for name in names if not any(name.startswith(other + ".") for other in names)}
                    for module, names in found.items()}
    assert modules_only == KNOWN_UPWARD


def test_adapters_import_nothing_of_the_sidecar() -> None:
    found = {module: {name for name in imports if name.startswith(("plugin", "webhooks"))}
             for module, imports in _modules("adapters").items()}
    assert {module: names for module, names in found.items() if names} == {}


def test_webhooks_never_import_the_api_pages_or_cli() -> None:
    above = ("plugin.api", "plugin.pages", "plugin.cli")
    found = {module: _upward(imports, above) for module, imports in _modules("webhooks").items()}
    assert {module: names for module, names in found.items() if names} == {}


def test_the_database_machinery_and_the_tables_import_nothing_above_them() -> None:
    """``plugin.db`` is the bottom layer and ``plugin.models`` the one on it: everything may import them, so they
    import nothing else of the sidecar (an import up would be a cycle waiting to happen)."""
    below = {"plugin.db": ("plugin.db",), "plugin.models": ("plugin.db", "plugin.models")}
    found: dict[str, set[str]] = {}
    for package, allowed in below.items():
        for module, imports in _modules(package).items():
            names = {name for name in imports if name.startswith(("plugin", "webhooks"))
                     and not any(name == home or name.startswith(home + ".") for home in allowed)}
            if names:
                found[module] = names
    assert found == {}


def test_the_on_conflict_dialect_switch_is_written_once() -> None:
    """Every ``INSERT ... ON CONFLICT`` asks ``plugin.db.conflicts`` for its dialect's construct (it was written out
    in seven modules); a module that uses a dialect's own ``insert`` fails here."""
    found = {str(path.relative_to(ROOT)) for package in ("plugin", "webhooks", "adapters")
             for path in (ROOT / package).rglob("*.py") if "migrations" not in path.parts
             and any(name in path.read_text(encoding="utf-8")
                     for name in ("postgresql.insert", "sqlite.insert", "postgresql import insert",
                                  "sqlite import insert"))}
    assert found == {"plugin/db/conflicts.py"}

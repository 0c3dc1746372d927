"""manifest.json: valid against its strict schema, the package's version, and every declared route served."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from plugin import create_app
from plugin.config import PREFIX, SETTINGS
from plugin.manifest import manifest
from tests.helpers import base_config

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "manifest.schema.json").read_text())
HOST_EVENTS = {"responseCreated", "responseUpdated", "responseFinished"}


def objects(schema: Any, path: str = "#") -> list[tuple[str, dict[str, Any]]]:
    """Every sub-schema that describes an object with properties."""
    found = []
    if isinstance(schema, dict):
        if "properties" in schema and schema.get("type") == "object":
            found.append((path, schema))
        for key, value in schema.items():
            found.extend(objects(value, f"{path}/{key}"))
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            found.extend(objects(value, f"{path}/{index}"))
    return found


def test_the_manifest_is_valid_against_its_strict_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(manifest())
    loose = [path for path, sub in objects(SCHEMA) if sub.get("additionalProperties") is not False]
    assert loose == []


@pytest.mark.parametrize("change", [
    {"unknown": 1},
    {"webhooks": {"path": "/webhooks/formbricks", "events": ["responseDeleted"]}},
    {"routes": [{"path": "/c/{token}", "methods": ["GET"], "description": "x", "extra": True}]},
    {"settings": [{"name": "PERSONAL_LINKS_X", "type": "enum", "required": False, "secret": False,
                   "description": "an enum without options"}]},
])
def test_the_schema_refuses_what_it_does_not_know(change: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**manifest(), **change}, SCHEMA)


def test_the_manifest_version_is_the_package_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert manifest()["version"] == project["version"]
    assert (ROOT / "plugin" / "manifest.json").read_text() == (ROOT / "manifest.json").read_text()


def test_declarations_match_the_code() -> None:
    data = manifest()
    assert data["id"] == "personal-links"
    assert set(data["webhooks"]["events"]) == HOST_EVENTS
    assert data["hiddenField"]["id"] == SETTINGS["HIDDEN_FIELD"][0]
    assert data["hiddenField"]["setting"] == f"{PREFIX}_HIDDEN_FIELD"
    names = [setting["name"].removeprefix(f"{PREFIX}_") for setting in data["settings"]]
    assert [name for name in names if name not in SETTINGS] == []
    assert len(names) == len(set(names)), "a setting is declared twice"
    routes = [(route["path"], tuple(route["methods"])) for route in data["routes"]]
    assert len(routes) == len(set(routes)), "a route is declared twice"
    secret = {s["name"] for s in data["settings"] if s["secret"]}
    assert {f"{PREFIX}_SECRET_KEY", f"{PREFIX}_FORMBRICKS_API_KEY"} <= secret


def _rules(tmp_path: Path) -> dict[str, set[str]]:
    app = create_app(base_config(f"sqlite:///{tmp_path / 'manifest.sqlite3'}"))
    rules: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[a-z]+:)?([A-Za-z_]+)>", r"{\1}", rule.rule)
        rules.setdefault(path, set()).update(rule.methods or ())
    return rules


def test_every_declared_route_exists_in_the_app(tmp_path: Path) -> None:
    rules = _rules(tmp_path)
    declared = manifest()["routes"]
    missing = [r["path"] for r in declared
               if not set(r["methods"]) <= rules.get(r["path"], set())]
    assert manifest()["webhooks"]["path"] in [r["path"] for r in declared]
    assert missing == []


def test_the_manifest_is_served(client) -> None:
    response = client.get("/manifest.json")
    assert response.status_code == 200 and response.get_json() == manifest()

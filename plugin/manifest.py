"""The extension's manifest, ``manifest.json`` at the repository root, served at ``/manifest.json``.

The package reaches it as ``plugin/manifest.json``: a symbolic link in a checkout, a copy in a built wheel
(setuptools copies what the link points to), so there is one file to edit.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify

bp = Blueprint("manifest", __name__)

MANIFEST = Path(__file__).with_name("manifest.json")


@cache
def manifest() -> dict[str, Any]:
    """The manifest, read once per process."""
    return json.loads(MANIFEST.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@bp.get("/manifest.json")
def manifest_json() -> Response:
    """The manifest, as JSON."""
    return jsonify(manifest())

"""nginx started from docs/nginx.conf, in the foreground, in a test's folder, as the current user."""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.servers import ROOT, free_port

NGINX = shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
CONFIG = ROOT / "docs" / "nginx.conf"


def site_config(folder: Path, listen: int, upstream: str) -> str:
    """docs/nginx.conf with the test's listen port, gunicorn's address and a log folder of its own."""
    text = CONFIG.read_text()
    for written, ours in (("listen 80;", f"listen 127.0.0.1:{listen};"),
                          ("server 127.0.0.1:8000;", f"server {upstream};"),
                          ("/var/log/nginx/", f"{folder}/")):
        assert text.count(written) == 1, f"docs/nginx.conf no longer has {written!r} once"
        text = text.replace(written, ours)
    return text


def main_config(folder: Path, site: Path) -> str:
    """nginx's own settings as Debian ships them (768 connections), in the test's folder, in the foreground."""
    user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""  # as root, workers would be nobody
    temp = "".join(f"    {kind}_temp_path {folder / kind};\n" for kind in ("client_body", "proxy", "fastcgi",
                                                                         "uwsgi", "scgi"))
    return (f"{user}daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\n"
            f"error_log {folder / 'error.log'} info;\nevents {{ worker_connections 768; }}\n"
            f"http {{\n{temp}    include {site};\n}}\n")


@contextmanager
def nginx(upstream: str, folder: Path) -> Iterator[str]:
    """nginx in the foreground with docs/nginx.conf in front of ``upstream``; yields its base URL; stopped after."""
    folder.mkdir()
    port = free_port()
    site = folder / "personal-links.conf"
    site.write_text(site_config(folder, port, upstream))
    main = folder / "nginx.conf"
    main.write_text(main_config(folder, site))
    command = [str(NGINX), "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(main)]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"nginx did not start:\n{(folder / 'error.log').read_text()}")
            time.sleep(0.1)
        yield base
    finally:
        process.send_signal(signal.SIGQUIT)  # graceful: answers what it holds, then stops
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

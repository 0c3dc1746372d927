"""What machine a benchmark ran on, in one line for bench/RESULTS.md."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            return int(handle.readline().split()[1]) / 1024 / 1024
    except (OSError, ValueError, IndexError):
        return 0.0


def _postgres() -> str:
    try:
        out = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "show server_version", "test"],
                             capture_output=True, text=True, timeout=5)
        return out.stdout.strip().split(" ")[0] or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def describe() -> str:
    """CPU, cores, memory, Python, SQLite and PostgreSQL versions."""
    return (f"{platform.node()}: {_cpu()}, {os.cpu_count()} vCPU, {_memory_gib():.0f} GiB, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, PostgreSQL {_postgres()} on 127.0.0.1")

"""``make bench``: every benchmark, each against a baseline measured in the same run; rewrites bench/RESULTS.md.

``python bench/run.py [--quick] [--only events]`` (``--quick``: small sizes, to check the harness, not to measure;
``--only events``: the outbound events rows alone, replaced in the RESULTS.md table that is there).
"""

from __future__ import annotations

import argparse
import compileall
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import bulk_paths, event_paths, http_paths, machine, paging_paths, reminder_paths, sync_paths  # noqa: E402
from bench.load import ROOT, ensure_tools  # noqa: E402

RESULTS = Path(__file__).with_name("RESULTS.md")


def _ratio(ours: float, baseline: float) -> str:
    return f"{ours / baseline:.2f}" if baseline else "—"


def _rates(load: http_paths.Load) -> str:
    return ", ".join(f"{rate:,}" for rate in load.rates or [round(load.rate)])


def _verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def compile_sources() -> None:
    """Byte-compile the project's packages once, as an installed copy is after its first start: where
    ``PYTHONDONTWRITEBYTECODE`` is set (this machine sets it), every CLI process would otherwise compile
    every module again (measured: 0.75 s to start instead of 0.53 s, a fifth of issuing 100,000 links)."""
    for package in ("plugin", "webhooks", "adapters"):
        compileall.compile_dir(str(ROOT / package), quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=("events",))
    args = parser.parse_args()
    ensure_tools()
    compile_sources()
    started = time.perf_counter()
    if args.only == "events":
        write_events(events_rows(args.quick), time.perf_counter() - started, args.quick)
        print(RESULTS.read_text())
        return
    rows: list[tuple[str, str, str, str, str, str]] = []  # path, target, ours, baseline, ratio, verdict
    clicks = http_paths.click("sqlite", 500 if args.quick else 2000)
    hooks = [http_paths.webhook(backend, 6000 if args.quick else 120000) for backend in ("sqlite", "postgres")]
    for result, target, rate_target in ((clicks, 0.5, "≥ 0.5 of a hello-world 302; p99 < 20 ms at half rate"),
                                        (hooks[0], 0.3, "≥ 0.3 of a hello-world POST; p99 < 50 ms at half rate"),
                                        (hooks[1], 0.2, "≥ 0.2 of a hello-world POST; p99 < 50 ms at half rate")):
        limit = 20 if result is clicks else 50
        ratio = result.ours.rate / result.baseline.rate
        lost = result.answered - result.recorded
        rows.append((result.name, rate_target,
                     f"{result.ours.rate:,.0f} req/s (runs: {_rates(result.ours)}), p50 {result.ours.p50_ms:.1f} ms,"
                     f" p99 {result.ours.p99_ms:.0f} ms;"
                     f" at half rate ({result.half.rate:,.0f} req/s) p99 {result.half.p99_ms:.1f} ms;"
                     f" {result.answered:,} answered, {result.recorded:,} recorded",
                     f"{result.baseline.rate:,.0f} req/s (runs: {_rates(result.baseline)})", f"{ratio:.2f}",
                     _verdict(ratio >= target and result.half.p99_ms < limit and lost <= 0)))
    bulk, first_page = bulk_paths.all_bulk((10_000, 50_000) if args.quick else (100_000, 1_000_000))
    for compared in bulk:
        rate = compared.count / compared.ours.seconds
        if compared.baseline is None:  # contacts import
            ok = rate >= 50_000 and compared.ours.peak_mib < 200
            rows.append((compared.name, "≥ 50k contacts/s, peak < 200 MB",
                         f"{compared.ours.seconds:.1f} s ({rate:,.0f}/s), peak {compared.ours.peak_mib:.0f} MiB",
                         "—", "—", _verdict(ok)))
            continue
        base_rate = compared.count / compared.baseline.seconds
        ratio = rate / base_rate
        if compared.name.startswith("issue"):
            memory_ok = compared.count < 1_000_000 or compared.ours.peak_mib < 100
            target, ok = "≥ 0.5 of the plain loop; peak < 100 MiB at 1M", ratio >= 0.5 and memory_ok
            ours_text = f"{rate:,.0f} links/s, peak {compared.ours.peak_mib:.0f} MiB"
            base_text = f"{base_rate:,.0f} links/s, peak {compared.baseline.peak_mib:.0f} MiB"
        else:
            target, ok = "≥ 0.5 of plain sqlite3 + csv.writer, same cells", ratio >= 0.5
            ours_text, base_text = f"{rate:,.0f} rows/s", f"{base_rate:,.0f} rows/s"
        rows.append((compared.name, target, ours_text, base_text, f"{ratio:.2f}", _verdict(ok)))
    synced = sync_paths.sync_all(10_000 if args.quick else 100_000)
    rate = synced.count / synced.seconds
    rows.append((f"sync from Formbricks, {synced.count:,} contacts", "≥ 20k contacts/s, memory bounded",
                 f"{synced.seconds:.1f} s ({rate:,.0f}/s), the sync process's CPU {synced.cpu_seconds:.1f} s (the fake"
                 f" host serves from the same machine), peak {synced.peak_mib:.0f} MiB", "—", "—",
                 _verdict(rate >= 20_000 and synced.peak_mib < 200)))
    if first_page is not None:
        rows.append(("non-respondents, first JSON page", "< 100 ms", f"{first_page * 1000:.0f} ms", "—", "—",
                     _verdict(first_page < 0.1)))
    for paged in paging_paths.paging(*((20_000, 100) if args.quick else (1_000_000, 10_000))):
        rows.append(paging_paths.describe(paged))
    for backend in ("sqlite", "postgres"):
        rows.append(reminder_paths.describe(reminder_paths.batches(backend, 100 if args.quick else 1000)))
    rows.extend(events_rows(args.quick))
    elapsed = time.perf_counter() - started
    write(rows, elapsed, args.quick)
    print(RESULTS.read_text())


def events_rows(quick: bool) -> list[tuple[str, str, str, str, str, str]]:
    """Outbound events on each database: two scheduler processes draining a backlog while answers finish."""
    opens = 1500 if quick else 9000
    return [event_paths.describe(event_paths.events_drain(backend, opens)) for backend in ("sqlite", "postgres")]


def write_events(rows: list[tuple[str, str, str, str, str, str]], elapsed: float, quick: bool) -> None:
    """Replace the outbound events rows of the RESULTS.md table (or add them), saying when and where they ran."""
    lines = [line for line in RESULTS.read_text(encoding="utf-8").splitlines()
             if not line.startswith(("| outbound events", "The outbound events rows: "))]
    end = max(number for number, line in enumerate(lines) if line.startswith("| ")) + 1
    note = (f"The outbound events rows: `python bench/run.py --only events` at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
            f"{' (quick run: small sizes, not a measurement)' if quick else ''}, machine: {machine.describe()}, "
            f"{elapsed:.0f} s.")
    lines[end:end] = [*(f"| {' | '.join(row)} |" for row in rows), "", note]
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write(rows: list[tuple[str, str, str, str, str, str]], elapsed: float, quick: bool) -> None:
    """Rewrite bench/RESULTS.md with this run."""
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`bench/run.py`); every figure is compared with a baseline measured in the same",
        "run on the same machine: a hello-world Flask app on the same gunicorn settings (`plugin/gunicorn_conf.py`, 2",
        "workers) for the HTTP paths, driven by wrk (`-t2 -c16 -d5s`, the best of 5 runs on each side, the",
        "two servers taking turns, since gunicorn spreads wrk's connections over its workers differently each run",
        "and the machine has slower spells; the half-rate run paces 4",
        "connections);",
        "plain Python loops for the bulk paths (issue + export: the fastest of 3 turns on each side, the highest",
        "peak; the project's modules byte-compiled first, as an installed copy's are); the 1st of twenty reminder",
        "batches in a row for the 20th (bench/reminder_paths.py). Read the ratios; absolute",
        "numbers are this machine's.",
        "",
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC{' (quick run: small sizes, not a measurement)' if quick else ''}",
        "",
        f"Machine: {machine.describe()}. The whole run took {elapsed:.0f} s.",
        "",
        "| path | target | ours | baseline | ratio | target met |",
        "| --- | --- | --- | --- | --- | --- |",
        *(f"| {' | '.join(row)} |" for row in rows),
        "",
    ]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()

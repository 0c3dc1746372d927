"""Prometheus metrics: their definitions, the small functions services call to record, and the scrape.

Off unless ``PERSONAL_LINKS_METRICS=on``; then every process writes its numbers to files in
``PERSONAL_LINKS_METRICS_DIR`` (prometheus_client's multiprocess mode) and ``GET /metrics`` adds up the files
of every gunicorn worker. Labels are fixed vocabularies, status codes and route templates: never a token, a
contact, an e-mail address, a survey id or a path.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess, values

PREFIX = "personal_links"
_DURATIONS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_JOB_DURATIONS = (0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0)
_ID_SEGMENT = re.compile(r"^(?=.*\d)[A-Za-z0-9_.-]{6,}$|^[0-9]+$")  # a segment of a host path that is an id


@dataclass(frozen=True)
class Metrics:
    """Every metric the sidecar exports (see docs/operations.md)."""

    links_issued: Counter
    link_opens: Counter
    responses: Counter
    webhook_deliveries: Counter
    webhook_signature_failures: Counter
    webhook_retries: Counter
    webhook_dead: Counter
    host_calls: Counter
    host_call_seconds: Histogram
    job_runs: Counter
    job_run_seconds: Histogram
    events_sent: Counter
    events_backlog: Gauge
    events_backlog_oldest: Gauge
    requests: Counter
    request_seconds: Histogram


def _define(registry: CollectorRegistry | None) -> Metrics:
    def counter(name: str, text: str, labels: tuple[str, ...]) -> Counter:
        return Counter(f"{PREFIX}_{name}", text, labels, registry=registry)

    def histogram(name: str, text: str, labels: tuple[str, ...], buckets: tuple[float, ...]) -> Histogram:
        return Histogram(f"{PREFIX}_{name}", text, labels, buckets=buckets, registry=registry)

    return Metrics(
        links_issued=counter("links_issued", "Personal links issued (new link rows)", ("via",)),
        link_opens=counter("link_opens", "Personal links opened, by the state the link was in", ("state",)),
        responses=counter("responses", "Host responses applied, by outcome", ("outcome",)),
        webhook_deliveries=counter("webhook_deliveries", "Webhook deliveries answered, by outcome and status code",
                                   ("outcome", "status")),
        webhook_signature_failures=counter("webhook_signature_failures", "Webhook deliveries refused as not "
                                           "authentic, by reason", ("reason",)),
        webhook_retries=counter("webhook_retries", "Stored webhook deliveries retried by the retry job, by outcome",
                                ("outcome",)),
        webhook_dead=counter("webhook_dead_deliveries", "Webhook deliveries flagged dead (no more retries)",
                             ("reason",)),
        host_calls=counter("host_api_calls", "Requests to the survey host's API, by route and status code "
                           "(retried 429 and 5xx answers counted too)", ("host", "method", "route", "status")),
        host_call_seconds=histogram("host_api_call_seconds", "Duration of requests to the survey host's API",
                                    ("host", "method", "route"), _DURATIONS),
        job_runs=counter("job_runs", "Scheduled and manual job runs, by job and outcome", ("job", "outcome")),
        job_run_seconds=histogram("job_run_seconds", "Duration of job runs", ("job", "outcome"), _JOB_DURATIONS),
        events_sent=counter("event_deliveries", "Outbound event attempts settled, by outcome", ("outcome",)),
        # the cluster's backlog as this server's latest drain measured it (each process's own latest value)
        events_backlog=Gauge(f"{PREFIX}_event_backlog_deliveries", "Outbound event deliveries due and not sent yet",
                             registry=registry, multiprocess_mode="livemostrecent"),
        events_backlog_oldest=Gauge(f"{PREFIX}_event_backlog_oldest_seconds", "How long the oldest due outbound "
                                    "event delivery has waited", registry=registry, multiprocess_mode="livemostrecent"),
        requests=counter("http_requests", "Requests answered, by method, route template and status code",
                         ("method", "route", "status")),
        request_seconds=histogram("http_request_seconds", "Request latency by method and route template",
                                  ("method", "route"), _DURATIONS),
    )


_metrics: Metrics | None = None
_directory: str | None = None


def enable(directory: str) -> None:
    """Record from now on, into ``directory`` (made when missing); one directory per process, for its life."""
    global _metrics, _directory
    if _metrics is not None:
        if directory != _directory:
            raise ValueError(f"metrics already go to {_directory}; one directory per process")
        return
    Path(directory).mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    values.ValueClass = values.MultiProcessValue()  # what the metrics defined below write through
    _directory = directory
    _metrics = _define(None)


def enabled() -> bool:
    """Whether this process records metrics."""
    return _metrics is not None


def clear_directory(directory: str) -> None:
    """Empty the multiprocess directory; run once before the server's processes start (never while they run)."""
    path = Path(directory)
    if path.is_dir():
        for entry in path.iterdir():
            if entry.is_file() and entry.suffix == ".db":
                entry.unlink()
            elif entry.is_dir():
                shutil.rmtree(entry)


def mark_process_dead(pid: int) -> None:
    """gunicorn's ``child_exit`` hook calls this, so a gone worker's live values stop counting."""
    if _directory is not None:
        multiprocess.mark_process_dead(pid, _directory)


def scrape() -> bytes:
    """Every process's numbers, added up, in the Prometheus text format."""
    registry = CollectorRegistry()
    if _directory is not None:
        multiprocess.MultiProcessCollector(registry, path=_directory)
    return generate_latest(registry)


# --- what services call ---------------------------------------------------------------------------------


def links_issued(count: int, via: str = "api") -> None:
    """``count`` new links were issued."""
    if _metrics is not None and count:
        _metrics.links_issued.labels(via).inc(count)


def link_opened(state: str) -> None:
    """A link was opened (GET) and found in ``state``: live, invalid, expired, used, revoked or pending."""
    if _metrics is not None:
        _metrics.link_opens.labels(state).inc()


def response_applied(outcome: str) -> None:
    """A response was settled: attributed, duplicate, late, early, unattributed, rejected (or started)."""
    if _metrics is not None:
        _metrics.responses.labels(outcome).inc()


def webhook_answered(outcome: str, status: int) -> None:
    """The webhook receiver answered a delivery."""
    if _metrics is not None:
        _metrics.webhook_deliveries.labels(outcome, str(status)).inc()


def signature_failed(reason: str) -> None:
    """A delivery's signature did not verify (``reason`` is the SignatureError's short reason)."""
    if _metrics is not None:
        _metrics.webhook_signature_failures.labels(reason).inc()


def deliveries_retried(counts: dict[str, int]) -> None:
    """The retry job's counts: applied, failed, gaveUp, ignored."""
    if _metrics is None:
        return
    for outcome, count in counts.items():
        if count:
            _metrics.webhook_retries.labels(outcome).inc(count)
    if counts.get("gaveUp"):
        _metrics.webhook_dead.labels("attempts").inc(counts["gaveUp"])


def delivery_dead(reason: str) -> None:
    """A delivery was flagged dead at once (``unstorable``: the database refuses one of its values)."""
    if _metrics is not None:
        _metrics.webhook_dead.labels(reason).inc()


def host_route(path: str) -> str:
    """A host API path with its id segments replaced: ``/api/v1/management/responses/{id}``."""
    return "/".join("{id}" if _ID_SEGMENT.match(part) else part for part in path.split("/"))


def host_called(host: str, method: str, path: str, status: int | str, seconds: float | None = None) -> None:
    """One answer (or transport failure, ``status="error"``) from the survey host's API."""
    if _metrics is None:
        return
    route = host_route(path)
    _metrics.host_calls.labels(host, method, route, str(status)).inc()
    if seconds is not None:
        _metrics.host_call_seconds.labels(host, method, route).observe(seconds)


def job_ran(job: str, outcome: str, seconds: float) -> None:
    """A job run ended: succeeded or failed (skipped runs are not counted)."""
    if _metrics is not None:
        _metrics.job_runs.labels(job, outcome).inc()
        _metrics.job_run_seconds.labels(job, outcome).observe(seconds)


def events_sent(outcomes: Iterable[str]) -> None:
    """Outbound event attempts were settled: delivered, failed (retried later) or dead."""
    if _metrics is not None:
        for outcome in outcomes:
            _metrics.events_sent.labels(outcome).inc()


def event_backlog(pending: int, oldest_seconds: float) -> None:
    """A drain measured the outbound backlog: due deliveries, and the oldest one's wait."""
    if _metrics is not None:
        _metrics.events_backlog.set(pending)
        _metrics.events_backlog_oldest.set(oldest_seconds)


def request_answered(method: str, route: str, status: int, seconds: float) -> None:
    """A request was answered (``route`` is the template, e.g. ``/c/<token>``)."""
    if _metrics is not None:
        _metrics.requests.labels(method, route, str(status)).inc()
        _metrics.request_seconds.labels(method, route).observe(seconds)


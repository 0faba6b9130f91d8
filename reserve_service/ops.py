"""Operations: liveness, readiness, Prometheus metrics and structured logs.

* ``GET /health`` — the process answers (liveness; touches nothing).
* ``GET /ready`` — the database answers, and Redis when jobs run on RQ (readiness); 503 and
  the failing check otherwise.
* ``GET /metrics`` — Prometheus text: request latency by endpoint, method and status (per
  process; across gunicorn workers when ``PROMETHEUS_MULTIPROC_DIR`` is set), job durations by
  kind and status, jobs by status and the queue depth (read from the jobs table and the queue,
  so every process reports the same figures).
* Logs: one JSON object per line (``LOG_FORMAT=json``, the default; ``text`` for people) with
  the request id (``X-Request-ID``, made up when absent and echoed back) or the job id.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from sqlalchemy import case, func, select, text

from reserve_service.jobs.runner import current_job_id
from reserve_service.jobs.table import Job

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

JOB_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200)
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
#: registered on each scrape's registry; in multiprocess mode its values live in files instead
REQUEST_LATENCY = Histogram("reserve_http_request_duration_seconds", "HTTP request latency",
                            ("method", "endpoint", "status"), registry=None,
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))

blp = Blueprint("ops", __name__)


@blp.get("/health")
def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@blp.get("/ready")
def ready() -> tuple[dict[str, Any], int]:
    """Readiness: the database answers, and Redis when jobs run on RQ."""
    checks: dict[str, str] = {}
    try:
        with current_app.extensions["database"].engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"failed: {type(exc).__name__}: {str(exc)[:200]}"
    runner = current_app.extensions["jobs"]
    if runner.name == "rq":
        try:
            runner.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"failed: {type(exc).__name__}: {str(exc)[:200]}"
    ok = all(v == "ok" for v in checks.values())
    return {"status": "ready" if ok else "not ready", "checks": checks}, 200 if ok else 503


class JobCollector:
    """Job figures read at scrape time from the table (and the queue), the same in every process."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def describe(self) -> list[Any]:
        return []  # names are fixed; saves a database round trip at registration

    def collect(self) -> Iterator[Any]:
        database, runner = self.app.extensions["database"], self.app.extensions["jobs"]
        with database.session_factory() as session:
            counts = session.execute(select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)).all()
            buckets = [func.sum(case((Job.duration_s <= b, 1), else_=0)) for b in JOB_BUCKETS]
            durations = session.execute(
                select(Job.kind, Job.status, func.count(), func.sum(Job.duration_s), *buckets)
                .where(Job.duration_s.is_not(None)).group_by(Job.kind, Job.status)).all()
        jobs = GaugeMetricFamily("reserve_jobs", "Jobs by kind and status", labels=("kind", "status"))
        for kind, status, count in counts:
            jobs.add_metric((kind, status), count)
        yield jobs
        histogram = HistogramMetricFamily("reserve_job_duration_seconds", "Wall-clock time of finished jobs",
                                          labels=("kind", "status"))
        for kind, status, count, total, *cumulative in durations:
            counts_le = [(str(b), int(c or 0)) for b, c in zip(JOB_BUCKETS, cumulative, strict=True)]
            histogram.add_metric((kind, status), [*counts_le, ("+Inf", count)], float(total or 0.0))
        yield histogram
        depth = GaugeMetricFamily("reserve_job_queue_depth", "Jobs waiting for a worker", labels=("runner",))
        queued = sum(count for _, status, count in counts if status == "queued")
        if runner.name == "rq":
            try:
                queued = runner.queue_depth()
            except Exception:  # Redis away: the table's count of queued jobs still says something
                pass
        depth.add_metric((runner.name,), queued)
        yield depth


@blp.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics."""
    registry = CollectorRegistry()
    if MULTIPROCESS:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUEST_LATENCY)
    registry.register(JobCollector(current_app._get_current_object()))  # type: ignore[attr-defined]
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request or job id, extras."""

    FIELDS = ("job_id", "job_kind", "job_status", "request_id", "method", "path", "status", "ms")

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name, "pid": record.process,
            "msg": record.getMessage()}
        for name in self.FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                body[name] = value
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        return json.dumps(body, ensure_ascii=False, default=str)


class ContextFilter(logging.Filter):
    """Stamp every record with the current request id and job id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        if getattr(record, "job_id", None) is None:
            record.job_id = current_job_id.get()
        return True


def configure_logging(fmt: str = "json", level: str = "INFO") -> None:
    """Log to stderr, once per process, as JSON lines (or plain text)."""
    root = logging.getLogger()
    if any(getattr(h, "reserve_service", False) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.reserve_service = True  # type: ignore[attr-defined]
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [req=%(request_id)s job=%(job_id)s] %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)


def init_ops(app: Flask) -> None:
    """Register the endpoints, the request timing and ids, and the logging of this process."""
    app.register_blueprint(blp)
    if not app.testing:
        configure_logging(app.config.get("LOG_FORMAT", "json"), app.config.get("LOG_LEVEL", "INFO"))
    access = logging.getLogger("reserve_service.http")

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()
        g.request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        g.request_id_token = request_id.set(g.request_id)

    @app.after_request
    def _finish(response: Response) -> Response:
        started = g.pop("request_started", None)
        if started is None:
            return response
        seconds = time.perf_counter() - started
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        REQUEST_LATENCY.labels(request.method, endpoint, str(response.status_code)).observe(seconds)
        response.headers["X-Request-ID"] = g.request_id
        access.info("%s %s %s %.1f ms", request.method, request.path, response.status_code, seconds * 1000,
                    extra={"method": request.method, "path": request.path, "status": response.status_code,
                           "ms": round(seconds * 1000, 1)})
        return response

    @app.teardown_request
    def _forget(_exc: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id.reset(token)

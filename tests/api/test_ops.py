"""Liveness, readiness, metrics and structured logs, as an operator checks them."""

from __future__ import annotations

import json
import logging
import time

from reserve_service import create_app
from reserve_service.ops import ContextFilter, JsonFormatter


def test_health_and_ready_answer_with_the_checks(client):
    assert client.get("/health").json == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json == {"status": "ready", "checks": {"database": "ok"}}


def test_ready_is_503_naming_redis_when_it_does_not_answer(database_url, graph_dir):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "GRAPH_DIR": graph_dir,
                      "REDIS_URL": "redis://127.0.0.1:1/0"})
    response = app.test_client().get("/ready")
    assert response.status_code == 503 and response.json["checks"]["database"] == "ok"
    assert response.json["checks"]["redis"].startswith("failed: ConnectionError")
    app.extensions["database"].engine.dispose()


def test_metrics_show_request_latency_jobs_and_queue_depth(app, client, network):
    from tests.integration.test_jobs import KINDS, wait_for

    app.extensions["jobs"].env.registry.register_all(KINDS)
    client.get("/api/v1/depots", headers=network.headers("viewer"))
    factory = app.extensions["database"].writer_factory
    with factory() as session:
        job = app.extensions["jobs"].submit(session, "test-solve", {"max_iterations": 3})
    wait_for(factory, job.id)
    text = client.get("/metrics").get_data(as_text=True)
    assert 'reserve_http_request_duration_seconds_count{endpoint="/api/v1/depots",method="GET",status="200"}' in text
    assert 'reserve_jobs{kind="test-solve",status="succeeded"} 1.0' in text
    assert 'reserve_job_duration_seconds_count{kind="test-solve",status="succeeded"} 1.0' in text
    assert 'reserve_job_queue_depth{runner="in-process"} 0.0' in text


def test_responses_carry_a_request_id_and_logs_are_json_lines(client):
    given = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    assert len(client.get("/health").headers["X-Request-ID"]) == 32
    record = logging.LogRecord("reserve_service.jobs", logging.INFO, __file__, 1, "job %s done", ("j1",), None)
    record.job_id = "j1"
    ContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "job j1 done" and line["job_id"] == "j1" and line["level"] == "info"
    assert time.strptime(line["ts"][:19], "%Y-%m-%dT%H:%M:%S")

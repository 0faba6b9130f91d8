"""Wiring jobs into the app: the registry of kinds, the runner the config asks for, the
``worker`` command."""

from __future__ import annotations

from collections.abc import Mapping

import click
from flask import Flask

from reserve_service.jobs.inprocess import InProcessRunner
from reserve_service.jobs.registry import Handler, JobRegistry, JobSettings
from reserve_service.jobs.runner import JobEnvironment


def init_jobs(app: Flask, handlers: Mapping[str, Handler]) -> None:
    """Register ``handlers`` (and those of ``JOB_HANDLER_MODULES``) and start the runner:
    RQ when ``REDIS_URL`` is set, else threads in this process."""
    registry = JobRegistry()
    registry.register_all(handlers)
    registry.register_modules(m.strip() for m in app.config.get("JOB_HANDLER_MODULES", "").split(",")
                              if m.strip())
    database = app.extensions["database"]
    env = JobEnvironment(database.writer_factory, database.session_factory, registry,
                         JobSettings.from_config(app.config), database.engine)
    if app.config.get("REDIS_URL"):
        from reserve_service.jobs.rq_runner import RqRunner

        app.extensions["jobs"] = RqRunner(env, app.config["REDIS_URL"], app.config["RQ_QUEUE"])
    else:
        app.extensions["jobs"] = InProcessRunner(env, app.config["JOB_WORKERS"])

    @app.cli.command("worker")
    @click.option("--name", help="worker name (default: host and pid)")
    @click.option("--burst", is_flag=True, help="stop once the queue is empty")
    def worker(name: str | None, burst: bool) -> None:
        """Run optimisation jobs from the Redis queue (needs REDIS_URL)."""
        runner = app.extensions["jobs"]
        if runner.name != "rq":
            raise click.ClickException("set REDIS_URL to run a worker; without it jobs run in the web process")
        from reserve_service.jobs.rq_runner import run_worker

        run_worker(runner, name=name, burst=burst)

"""Long optimisation runs as jobs: the ``jobs`` table, the runners, the job API.

* :mod:`.table` — the row that records a job's status, progress, figures and result;
* :mod:`.registry` — job kinds and their handlers, filled explicitly by the app factory;
* :mod:`.context` — what a handler gets: database sessions, progress, cancel, and the
  job-side ``SolveMonitor`` to pass to engines;
* :mod:`.runner` — one attempt from claim to outcome, shared by both runners;
* :mod:`.inprocess` — the embedded default: a thread pool in the web process;
* :mod:`.rq_runner` — RQ 2.x on Redis when ``REDIS_URL`` is set (``flask --app wsgi worker``);
* :mod:`.api` — the ``/jobs`` endpoints.

A handler is ``handler(params: dict, context: JobContext) -> dict`` (the result, JSON).
"""

from __future__ import annotations

from reserve_service.jobs.context import JobCancelled, JobContext, JobMonitor, JobTimeLimit
from reserve_service.jobs.registry import Handler, JobRegistry, JobSettings
from reserve_service.jobs.table import JOB_STATUSES, Job

__all__ = ["JOB_STATUSES", "Handler", "Job", "JobCancelled", "JobContext", "JobMonitor", "JobRegistry",
           "JobSettings", "JobTimeLimit"]

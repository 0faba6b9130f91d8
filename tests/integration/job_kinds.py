"""Job kinds for the worker tests, registered through ``JOB_HANDLER_MODULES``.

They leave a trace (files named ``<job id>.<attempt>.<event>``) in ``params["trace"]`` so a test
can count how often each attempt started and finished across processes.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path


def _mark(params, context, event: str, text: str = "") -> None:
    if params.get("trace"):
        Path(params["trace"], f"{context.job_id}.{context.attempt}.{event}").write_text(text or str(os.getpid()))


def steps(params, context):
    """A solve of ``steps`` iterations of ``step_s`` seconds that reports and obeys the monitor."""
    _mark(params, context, "start")
    for i in range(params["steps"]):
        if context.monitor.should_stop():
            context.check_cancelled()
        time.sleep(params["step_s"])
        context.monitor.report("search", (i + 1) / params["steps"], iterations=i + 1)
    _mark(params, context, "done")
    return {"pid": os.getpid(), "iterations": params["steps"]}


def stuck_solver(params, context):
    """A solve inside a child process that never looks at the monitor (like a MIP solver binary)."""
    child = subprocess.Popen(["sleep", str(params.get("seconds", 120))])
    _mark(params, context, "child", str(child.pid))
    child.wait()
    return {"finished": True}


def route_hours(params, context):
    """The hours of one route on the roads as this worker sees them now."""
    from reserve_service.routing.service import road_graph

    with context.reader() as session:
        graph, _ = road_graph(session)
        hours = graph.travel_time_matrix([params["from"]], [params["to"]])[0][0]
    return {"hours": None if hours == float("inf") else float(hours), "pid": os.getpid()}


JOB_HANDLERS = {"test-steps": steps, "test-stuck": stuck_solver, "test-route": route_hours}

"""Solver progress and stop hooks: what each backend can tell a :class:`SolveMonitor` while it
runs, and how each is asked to stop early and hand back its incumbent.

========== ================================================= ====================================
backend    progress (bound, best, gap)                       stop
========== ================================================= ====================================
HiGHS      MIP interrupt callback: dual bound, primal bound,  the callback's interrupt flag
           gap, nodes; simplex/IPM interrupt: iterations
CBC        its log, read while it runs (``Cbc0010I`` lines;  SIGINT to the CBC process (it stops
           the file fills in 4 kB blocks) and at its end       and writes its incumbent)
OR-Tools   none while running (pywraplp has no callbacks)     ``InterruptSolve`` from a watcher
CP-SAT     solution callback: objective, best bound          ``stop_search`` from a watcher
========== ================================================= ====================================

The monitor is the one in :class:`SolverParams`, else the active one of the running job
(:func:`reserve_service.optimize.monitor.current_monitor`). With no monitor nothing is hooked.
"""

from __future__ import annotations

import math
import os
import re
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reserve_service.optimize.monitor import NullMonitor, SolveMonitor, monitor_or_null


def active(monitor: SolveMonitor | None) -> SolveMonitor | None:
    """The monitor to hook, or None when nobody watches."""
    found = monitor_or_null(monitor)
    return None if isinstance(found, NullMonitor) else found


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def gap_of(best: float | None, bound: float | None) -> float | None:
    """Relative gap |best − bound| / max(1, |best|), None until both are known."""
    if best is None or bound is None:
        return None
    return abs(best - bound) / max(1.0, abs(best))


def watch_highs(h: Any, monitor: SolveMonitor, name: str, to_objective: Callable[[float], float]) -> None:
    """Report HiGHS' MIP bound, incumbent and gap (and LP iterations) and interrupt it when
    the monitor says stop. ``to_objective`` maps HiGHS' objective to the model's."""

    def on_mip(event: Any) -> None:
        out = event.data_out
        best, bound = _finite(out.mip_primal_bound), _finite(out.mip_dual_bound)
        best = to_objective(best) if best is not None else None
        bound = to_objective(bound) if bound is not None else None
        monitor.report(f"{name}: HiGHS branch and bound", None, best=best, bound=bound,
                       gap=gap_of(best, bound), nodes=int(out.mip_node_count))
        if monitor.should_stop():
            event.interrupt()

    def on_lp(event: Any) -> None:
        monitor.report(f"{name}: HiGHS LP", None, iterations=int(event.data_out.simplex_iteration_count))
        if monitor.should_stop():
            event.interrupt()

    h.cbMipInterrupt.subscribe(on_mip)
    h.cbSimplexInterrupt.subscribe(on_lp)
    h.cbIpmInterrupt.subscribe(on_lp)


@contextmanager
def stop_watcher(monitor: SolveMonitor | None, stop: Callable[[], Any],
                 report: Callable[[], None] | None = None, interval: float = 0.25) -> Iterator[threading.Event]:
    """While the block runs, a thread calls ``report`` and, once the monitor says stop,
    ``stop`` (once). Yields an event that is set if it did stop the solve."""
    stopped = threading.Event()
    if monitor is None:
        yield stopped
        return
    done = threading.Event()

    def watch() -> None:
        while not done.wait(interval):
            if report is not None:
                report()
            if monitor.should_stop():
                stopped.set()
                stop()
                return

    thread = threading.Thread(target=watch, name="solver-stop-watch", daemon=True)
    thread.start()
    try:
        yield stopped
    finally:
        done.set()
        thread.join(timeout=5)
        if report is not None:
            report()  # the last word (CBC's log reaches its file in blocks, the rest at exit)


#: "Cbc0010I After 0 nodes, 1 on tree, 8 best solution, best possible 0 (0.39 seconds)"
_CBC_LINE = re.compile(r"Cbc0010I After (\d+) nodes, \d+ on tree, ([-+0-9.eE]+) best solution, "
                       r"best possible ([-+0-9.eE]+)")


def cbc_reporter(log_path: str, monitor: SolveMonitor, name: str, sign: float, constant: float) -> Callable[[], None]:
    """Read CBC's log as it grows and report its incumbent and best possible value."""
    position = 0

    def report() -> None:
        nonlocal position
        try:
            with open(log_path, encoding="utf-8", errors="replace") as fh:
                fh.seek(position)
                chunk = fh.read()
                position = fh.tell()
        except OSError:
            return
        matches = _CBC_LINE.findall(chunk)
        if not matches:
            return
        nodes, raw_best, raw_bound = matches[-1]
        best = sign * float(raw_best) + constant if abs(float(raw_best)) < 1e49 else None
        bound = sign * float(raw_bound) + constant
        monitor.report(f"{name}: CBC branch and bound", None, best=best, bound=bound, gap=gap_of(best, bound),
                       nodes=int(nodes))

    return report


def interrupt_cbc(log_path: str) -> None:
    """SIGINT the CBC processes writing ``log_path`` (their standard output): CBC stops its
    search and writes the best solution it has."""
    target = os.path.realpath(log_path)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.readlink(proc / "fd" / "1") == target:
                os.kill(int(proc.name), signal.SIGINT)
        except OSError:
            continue


def cpsat_callback(monitor: SolveMonitor, name: str, constant: float) -> Any:
    """A CP-SAT solution callback that reports each new incumbent with the best bound."""
    from ortools.sat.python import cp_model

    class Report(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            best = self.objective_value + constant
            bound = self.best_objective_bound + constant
            monitor.report(f"{name}: CP-SAT search", None, best=best, bound=bound, gap=gap_of(best, bound),
                           solutions=self.num_solutions if hasattr(self, "num_solutions") else None)

    return Report()

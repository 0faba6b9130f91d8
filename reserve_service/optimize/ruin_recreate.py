"""Ruin and recreate around an OR-Tools routing model (pure code, no service imports).

OR-Tools' guided local search stalls on time-windowed instances once the route count is wrong:
every single move that would change it is uphill.  A large-neighbourhood step escapes: remove
a cluster of visits that lie close together across several routes (the "string removal" idea
of Christiaens & Vanden Berghe's SISR, 2020, simplified to whole clusters), let OR-Tools'
greedy-descent local search re-insert them and repair the routes, and accept the result with a
simulated-annealing rule.  Removed visits are optional in the model (a disjunction with a
penalty), so every partial solution is feasible and re-insertion is ordinary local search.

The caller owns the model: it must be closed with every visit group optional, and
``groups`` lists the routing variable indices (``manager.NodeToIndex``) that leave and return
together (one customer; or a pickup and its delivery).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .monitor import SolveMonitor, monitor_or_null


@dataclass
class RuinRecreateResult:
    """Best routes found (routing indices per vehicle, empty lists kept), cost, statistics."""

    routes: list[list[int]]
    cost: int
    iterations: int
    accepted: int
    improved: int
    seconds: float


def routes_from_assignment(routing: Any, assignment: Any) -> list[list[int]]:
    """Routing indices (without start and end) visited by every vehicle in ``assignment``."""
    routes: list[list[int]] = []
    for v in range(routing.vehicles()):
        index = assignment.Value(routing.NextVar(routing.Start(v)))
        route: list[int] = []
        while not routing.IsEnd(index):
            route.append(int(index))
            index = assignment.Value(routing.NextVar(index))
        routes.append(route)
    return routes


def ruin_and_recreate(
    routing: Any,
    start: Any,
    *,
    groups: Sequence[Sequence[int]],
    proximity: np.ndarray,
    seconds: float,
    ruin_size: tuple[int, int] = (7, 15),
    step_seconds: float = 2.0,
    temperature: float | None = None,
    cycle_iterations: int | None = None,
    seed: int = 0,
    monitor: SolveMonitor | None = None,
) -> RuinRecreateResult:
    """Improve the solution ``start`` (an OR-Tools assignment) for ``seconds``.

    Each iteration: pick a random routed group, remove it with its ``k`` nearest routed groups
    by ``proximity`` (``k`` uniform in ``ruin_size``, at most half of the routed groups), rebuild
    the assignment from the remaining routes, and run OR-Tools greedy descent from it (at most
    ``step_seconds``).  The new solution replaces the current one if it is cheaper, or with
    probability ``exp(-Δ/T)``; ``T`` falls linearly from ``temperature`` (default: 1 % of the
    start cost per group) to zero.  Returns the best solution seen.

    With ``cycle_iterations`` the temperature falls over that many iterations and the search
    then restarts from the best solution seen, so the schedule counts iterations, not seconds:
    a longer run takes the same steps as a shorter one and then goes on, and more time never
    returns a worse solution (as long as no descent is cut short by ``step_seconds``, which is
    then only a safety limit).  ``monitor`` hears the best cost
    after every step and may stop the search early (the best solution so far is returned).
    """
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    started = time.perf_counter()
    rng = random.Random(seed)
    descent = pywrapcp.DefaultRoutingSearchParameters()
    descent.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
    descent.time_limit.FromMilliseconds(max(1, int(min(step_seconds, seconds) * 1000)))
    # one descent from the start also resets the search limits of an earlier, expired solve
    # (ReadAssignmentFromRoutes runs under them and fails once they are spent)
    current = routing.SolveFromAssignmentWithParameters(start, descent) or start
    current_cost = int(current.ObjectiveValue())
    current_routes = routes_from_assignment(routing, current)
    best_routes, best_cost = current_routes, current_cost
    group_of = {node: g for g, members in enumerate(groups) for node in members}
    nearest = np.argsort(proximity, axis=1, kind="stable")
    t0 = temperature if temperature is not None else 0.01 * current_cost / max(len(groups), 1)
    lo, hi = min(ruin_size), max(ruin_size)
    iterations = accepted = improved = 0
    watch = monitor_or_null(monitor)
    while True:
        elapsed = time.perf_counter() - started
        remaining = seconds - elapsed
        if remaining <= 0 or not groups or watch.should_stop():
            break
        if cycle_iterations and iterations and iterations % cycle_iterations == 0:
            current_routes, current_cost = best_routes, best_cost  # a new cycle, from the best
        iterations += 1
        routed = {group_of[n] for route in current_routes for n in route if n in group_of}
        if not routed:
            break
        seed_group = rng.choice(sorted(routed))
        k = min(rng.randint(lo, hi), max(1, len(routed) // 2))  # keep half to rebuild around
        removed: set[int] = set()
        for g in nearest[seed_group]:
            if int(g) in routed:
                removed.add(int(g))
                if len(removed) > k:
                    break
        removed_nodes = {n for g in removed for n in groups[g]}
        partial = [[n for n in route if n not in removed_nodes] for route in current_routes]
        assignment = routing.ReadAssignmentFromRoutes(partial, True)
        if assignment is None:
            continue
        descent.time_limit.FromMilliseconds(max(1, int(min(step_seconds, remaining) * 1000)))
        candidate = routing.SolveFromAssignmentWithParameters(assignment, descent)
        if candidate is None:
            continue
        cost = int(candidate.ObjectiveValue())
        if cycle_iterations:
            into_cycle = ((iterations - 1) % cycle_iterations) / cycle_iterations
        else:
            into_cycle = min((time.perf_counter() - started) / seconds, 1.0)
        heat = max(t0 * (1.0 - into_cycle), 1e-12)
        if cost < current_cost or rng.random() < math.exp(max(-50.0, (current_cost - cost) / heat)):
            accepted += 1
            current_cost = cost
            current_routes = routes_from_assignment(routing, candidate)
            if cost < best_cost:
                improved += 1
                best_routes, best_cost = current_routes, cost
        watch.report(
            "ruin_recreate",
            min(1.0, (time.perf_counter() - started) / seconds),
            best=best_cost,
            iterations=iterations,
        )
    return RuinRecreateResult(
        routes=best_routes,
        cost=best_cost,
        iterations=iterations,
        accepted=accepted,
        improved=improved,
        seconds=time.perf_counter() - started,
    )

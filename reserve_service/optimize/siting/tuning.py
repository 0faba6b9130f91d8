"""Time caps and tolerances of the siting searches."""

from __future__ import annotations

_HEURISTIC_SECONDS = 2.0  # cap on the greedy + interchange warm start
_LAGRANGIAN_SECONDS = 6.0  # cap on the subgradient bound before the p-median MIP
_TREE_SECONDS = 45.0  # cap on the Lagrangian tree search before the p-median MIP (small p)
_TREE_SECONDS_LARGE_P = 0.3  # the same when more than _TREE_SMALL_P sites are free to open
_TREE_STEPS_ROOT, _TREE_STEPS, _TREE_STEPS_REFIX = 200, 30, 8  # subgradient steps per node
_TREE_SMALL_P = 20  # large p: tight LP bounds, deep trees; the MIP does better there
_POLISH_SECONDS = 2.0  # cap on polishing the best relaxed choices of the subgradient run
_POLISH_CANDIDATES = 10  # how many of them (best values first)
_TOL = 1e-6

"""Depot siting: p-median, p-center, maximal covering, set covering and capacitated location.

Pure functions on plain arrays — no Flask, no ORM.  Every model is built, solved and read out in
three visible steps (``_build_*`` → :meth:`LinearModel.solve` → ``_extract_*``) and can be solved
by any backend in :mod:`reserve_service.optimize.solvers` (``solver="auto" | "highs" | "cbc" |
"ortools"``; ``"ortools-cbc"`` and, for integral models, ``"cpsat"`` also work).

Modules: :mod:`.result` (``SitingResult``, ``SitingInputError``), :mod:`.checks` (input checks),
:mod:`.heuristics` (warm starts), :mod:`.p_median` with its Lagrangian search in
:mod:`.lagrangian`, :mod:`.covering` (set cover, p-center), :mod:`.max_cover`,
:mod:`.capacitated`; the HTTP side is :mod:`.service` (instance from the database, the job),
:mod:`.schemas` and :mod:`.api`.

Conventions shared by all models

* ``cost`` is an ``(n_demand, n_sites)`` array; column ``j`` is candidate site ``j`` (0-based).
  ``NaN`` or ``+inf`` means *site j cannot serve row i* (unreachable).  Negative costs are errors.
* ``demand`` has one non-negative weight per row.
* ``must_open`` sites are opened; ``forbidden`` sites are never opened.
* Impossible input raises :class:`SitingInputError` *before* solving, naming the offending field
  and the numbers that make it impossible.  After solving, the solver status is reported in
  :attr:`SitingResult.status` (``"optimal" | "feasible" | "infeasible" | "time_limit"``).
"""

from reserve_service.optimize.solvers import SolverParams

from .capacitated import capacitated
from .covering import p_center, set_cover
from .max_cover import max_cover
from .p_median import p_median
from .result import SitingInputError, SitingResult

__all__ = [
    "SitingInputError",
    "SitingResult",
    "SolverParams",
    "capacitated",
    "max_cover",
    "p_center",
    "p_median",
    "set_cover",
]

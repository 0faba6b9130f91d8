"""Schema pieces shared by the optimisation packages (each package has its own ``schemas``; the
job endpoints' schemas are in ``jobs.schemas``)."""

from __future__ import annotations

SOLVERS = ("auto", "cbc", "highs", "ortools")

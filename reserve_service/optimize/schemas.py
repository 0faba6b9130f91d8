"""What the optimisation packages' schemas share (the job endpoints' schemas: ``jobs.schemas``)."""

from __future__ import annotations

SOLVERS = ("auto", "cbc", "highs", "ortools")


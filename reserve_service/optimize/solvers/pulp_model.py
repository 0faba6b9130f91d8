"""A :class:`LinearModel` emitted as a PuLP problem (shared by the CBC and HiGHS backends)."""

from __future__ import annotations

import math
import re
from typing import Any

from .model import LinearModel


def to_pulp(model: LinearModel) -> tuple[Any, list[Any]]:
    """The model as a PuLP problem; variable ``k`` is named ``v{k}``."""
    import pulp

    sense = pulp.LpMaximize if model.objective_sense == "maximize" else pulp.LpMinimize
    prob = pulp.LpProblem(re.sub(r"\W", "_", model.name) or "model", sense)
    cat = {"continuous": pulp.LpContinuous, "integer": pulp.LpInteger, "binary": pulp.LpInteger}
    lp_vars = [
        prob.add_variable(
            f"v{k}",
            lowBound=lb if math.isfinite(lb) else None,
            upBound=ub if math.isfinite(ub) else None,
            cat=cat[kind],
        )
        for k, (lb, ub, kind) in enumerate(
            zip(model.var_lb, model.var_ub, model.var_kind, strict=True)
        )
    ]
    prob.setObjective(
        pulp.LpAffineExpression(
            [(lp_vars[i], c) for i, c in model.objective.terms.items()],
            constant=model.objective.constant,
        )
    )
    pulp_sense = {"<=": pulp.LpConstraintLE, ">=": pulp.LpConstraintGE, "==": pulp.LpConstraintEQ}
    for k, con in enumerate(model.constraints):
        expr = pulp.LpAffineExpression(
            list(zip([lp_vars[i] for i in con.indices.tolist()], con.coefs.tolist(), strict=True))
        )
        prob.addConstraint(pulp.LpConstraint(expr, pulp_sense[con.sense], rhs=con.rhs), f"c{k}")
    return prob, lp_vars


"""The extensive form (deterministic equivalent) and its solve."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reserve_service.optimize.solvers import LinearModel, SolverParams

from .extract import _extract, _second_stage_summary
from .first_stage import _add_first_stage, _FirstStage, _Options
from .instance import PrepositioningInstance, PrepositioningResult
from .second_stage import _scenario_lp, _ScenarioLP
from .validation import _check_options, validate_instance


@dataclass
class ExtensiveModel:
    """The deterministic equivalent as a LinearModel plus what is needed to read it out."""

    model: LinearModel
    first: _FirstStage
    lps: list[_ScenarioLP]
    offsets: list[int]


def build_extensive(
    inst: PrepositioningInstance,
    *,
    budget: float | None = None,
    service_level: float | None = None,
    scenario_share: float | None = None,
    integer_stock: bool = False,
    fixed_stock: np.ndarray | None = None,
    elastic_penalty: float | None = None,
) -> ExtensiveModel:
    """Build the extensive form (checks the input first)."""
    validate_instance(inst)
    _check_options(budget, service_level, scenario_share)
    opt = _Options(
        budget,
        service_level,
        scenario_share,
        integer_stock,
        None if fixed_stock is None else np.asarray(fixed_stock, dtype=float),
        elastic_penalty,
    )
    model = LinearModel("prepositioning_extensive")
    first = _add_first_stage(model, inst, opt)
    link = np.fromiter((v.index for v in first.link_vars()), dtype=np.int64)
    objective = first.cost
    lps, offsets = [], []
    for s in range(len(inst.scenarios)):
        lp = _scenario_lp(inst, s, opt)
        start = model.num_vars
        for k in range(len(lp.cost)):
            model.add_var(f"y{s}[{k}]")
        offsets.append(start)
        lps.append(lp)
        for k in np.flatnonzero(lp.cost):
            objective.terms[start + int(k)] = float(lp.cost[k])
        A, T = lp.A, lp.T
        for row in range(A.shape[0]):
            a0, a1 = A.indptr[row], A.indptr[row + 1]
            t0, t1 = T.indptr[row], T.indptr[row + 1]
            idx = np.concatenate([A.indices[a0:a1] + start, link[T.indices[t0:t1]]])
            coefs = np.concatenate([A.data[a0:a1], -T.data[t0:t1]])
            model.add_row(idx, coefs, "==" if lp.is_eq[row] else "<=", float(lp.h[row]))
    model.minimize(objective)
    return ExtensiveModel(model, first, lps, offsets)


# --------------------------------------------------------------------------------------------
def _solve_extensive(
    inst: PrepositioningInstance,
    budget: float | None,
    service_level: float | None,
    scenario_share: float | None,
    params: SolverParams,
    integer_stock: bool,
    fixed_stock: np.ndarray | None,
) -> PrepositioningResult:
    em = build_extensive(
        inst,
        budget=budget,
        service_level=service_level,
        scenario_share=scenario_share,
        integer_stock=integer_stock,
        fixed_stock=fixed_stock,
    )
    res = em.model.solve(params)
    if res.values is None:
        return PrepositioningResult(
            res.status,
            None,
            res.bound,
            None,
            res.solve_seconds,
            res.solver,
            "extensive",
            message=em.model.summary(),
        )
    values = res.values
    seconds = [
        _second_stage_summary(lp, values[off : off + len(lp.cost)])
        for lp, off in zip(em.lps, em.offsets, strict=True)
    ]
    out = _extract(inst, em.first, values, seconds, service_level)
    out.status, out.objective, out.bound = res.status, res.objective, res.bound
    out.gap, out.solve_seconds, out.solver = res.gap, res.solve_seconds, res.solver
    out.method, out.message = "extensive", em.model.summary()
    return out

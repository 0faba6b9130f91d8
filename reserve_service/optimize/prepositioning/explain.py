"""Why a service level cannot be met: pre-solve checks and Farkas certificates."""

from __future__ import annotations

from typing import Any

import numpy as np

from reserve_service.optimize.solvers import LinExpr, SolverParams

from .extensive import build_extensive
from .instance import PrepositioningInstance, ServiceLevelInfeasibleError
from .second_stage import _feasible_pairs, _ScenarioLP


def _precheck_service_level(inst: PrepositioningInstance, beta: float, share: float | None) -> None:
    """Before solving: need that no source can reach within the deadline caps the service level."""
    nd, ni, nr, _ = inst.shape
    lead = (
        np.asarray(inst.depot_lead_hours, dtype=float)
        if inst.depot_lead_hours is not None
        else np.zeros(nd)
    )
    sizes = {inst.depot_ids.index(d) for d, sz in inst.candidate_sizes.items() if sz}
    can_hold = (np.asarray(inst.capacity_m3) > 0) | np.isin(np.arange(nd), list(sizes))
    item_pos = {item: k for k, item in enumerate(inst.item_ids)}
    details: list[dict[str, Any]] = []
    ok_prob = 0.0
    for sc in inst.scenarios:
        reach = np.zeros((nr, ni), dtype=bool)
        alive = can_hold & (np.asarray(sc.depot_loss) < 1)
        dep = _feasible_pairs(sc.depot_hours, lead, inst.deadline_hours) & alive[:, None]
        reach |= dep.any(axis=0)[:, None]
        for e, ext in enumerate(inst.external):
            ok = ext.lead_hours + sc.external_hours[e] <= inst.deadline_hours + 1e-9
            reach[ok, item_pos[ext.item]] = True
        scenario_ok = True
        for i in range(ni):
            total = float(sc.need[:, i].sum())
            lost = np.flatnonzero((sc.need[:, i] > 0) & ~reach[:, i])
            cut_off = float(sc.need[lost, i].sum())
            if total > 0 and cut_off > (1 - beta) * total + 1e-9:
                scenario_ok = False
                details.append(
                    {
                        "scenario": sc.id,
                        "item": inst.item_ids[i],
                        "regions": [inst.region_ids[r] for r in lost],
                        "need": total,
                        "unreachable_need": cut_off,
                        "max_share": 1 - cut_off / total,
                        "reason": "no source reaches these regions within the deadline",
                    }
                )
        if scenario_ok:
            ok_prob += sc.probability
    if share is None and details:
        d = details[0]
        raise ServiceLevelInfeasibleError(
            f"service level {beta:.0%} cannot be met: in scenario {d['scenario']} no source "
            f"reaches regions {d['regions'][:5]} within {inst.deadline_hours:g} h, so at most "
            f"{d['max_share']:.1%} of item {d['item']} can be met ({len(details)} such cases)",
            details,
        )
    if share is not None and ok_prob < share - 1e-9:
        raise ServiceLevelInfeasibleError(
            f"service level {beta:.0%} can be met at best in scenarios of probability "
            f"{ok_prob:.3f} < {share}: unreachable regions, see details",
            details,
        )


def _explain_certificates(
    inst: PrepositioningInstance,
    lps: list[_ScenarioLP],
    certificates: dict[int, np.ndarray],
    beta: float,
    share: float | None,
) -> None:
    """Benders found no plan meeting the level: report the scenarios whose Farkas certificates
    cut the plans off, the items whose service rows the certificate uses and their regions."""
    details: list[dict[str, Any]] = []
    for s, ray in sorted(certificates.items()):
        lp = lps[s]
        for row, i in zip(lp.beta_rows, lp.beta_items, strict=True):
            if abs(ray[row]) <= 1e-9:
                continue
            mask = (lp.u_ri[:, 1] == i) & (np.abs(ray[lp.need_rows]) > 1e-9)
            weight = np.abs(ray[lp.need_rows][mask])
            regions = lp.u_ri[mask][np.argsort(-weight), 0][:5]
            details.append(
                {
                    "scenario": inst.scenarios[s].id,
                    "item": inst.item_ids[i],
                    "regions": [inst.region_ids[int(r)] for r in regions],
                    "need": float(lp.need_item[i]),
                    "reason": "budget, depot volume or reach too small for this need "
                    "(Farkas certificate of the scenario at the last plan tried)",
                }
            )
    what = "in every scenario" if share is None else f"in scenarios of probability {share}"
    first = details[0] if details else None
    where = (
        f": e.g. scenario {first['scenario']}, item {first['item']}, regions {first['regions']}"
        if first
        else ""
    )
    raise ServiceLevelInfeasibleError(
        f"service level {beta:.0%} {what} cannot be met within the budget and volumes{where}; "
        f"{len(details)} scenario-item pairs involved",
        details,
    )


def _explain_infeasible(
    inst: PrepositioningInstance,
    budget: float | None,
    beta: float,
    share: float | None,
    integer_stock: bool,
    fixed_stock: np.ndarray | None,
) -> None:
    """After an infeasible solve: minimise total service slack and report where it is needed."""
    em = build_extensive(
        inst,
        budget=budget,
        service_level=beta,
        scenario_share=None,
        integer_stock=False,
        fixed_stock=fixed_stock,
        elastic_penalty=1.0,
    )
    # only the slack counts: need-weighted so that items in different units compare
    objective = LinExpr()
    for lp, off in zip(em.lps, em.offsets, strict=True):
        for col, i in zip(lp.sigma_cols, lp.sigma_items, strict=True):
            objective.terms[off + int(col)] = 1.0 / max(float(lp.need_item[i]), 1e-9)
    em.model.minimize(objective)
    res = em.model.solve(SolverParams(solver="highs"))
    details: list[dict[str, Any]] = []
    if res.values is not None:
        for s, (lp, off) in enumerate(zip(em.lps, em.offsets, strict=True)):
            for col, i in zip(lp.sigma_cols, lp.sigma_items, strict=True):
                slack = float(res.values[off + int(col)])
                if slack <= 1e-6:
                    continue
                mask = lp.u_ri[:, 1] == i
                unmet = res.values[off + lp.u_cols[mask]]
                order = np.argsort(-unmet)[:5]
                details.append(
                    {
                        "scenario": inst.scenarios[s].id,
                        "item": inst.item_ids[i],
                        "regions": [
                            inst.region_ids[int(lp.u_ri[mask][k, 0])]
                            for k in order
                            if unmet[k] > 1e-6
                        ],
                        "need": float(lp.need_item[i]),
                        "shortfall": slack,
                        "max_share": beta - slack / float(lp.need_item[i]),
                        "reason": "budget or depot volume too small for this need",
                    }
                )
    details.sort(key=lambda d: -d["shortfall"] / max(d["need"], 1e-9))
    if details:
        d = details[0]
        what = "in every scenario" if share is None else f"in scenarios of probability {share}"
        raise ServiceLevelInfeasibleError(
            f"service level {beta:.0%} {what} cannot be met within the budget and volumes: "
            f"scenario {d['scenario']}, item {d['item']} falls short by {d['shortfall']:,.0f} "
            f"units (regions most short: {d['regions']}); {len(details)} scenario-item pairs "
            "short",
            details,
        )
    raise ServiceLevelInfeasibleError(
        f"service level {beta:.0%} cannot be met (budget {budget}); no single scenario is short "
        "on its own, the scenario share cannot be reached together",
        details,
    )


# --------------------------------------------------------------------------------------------

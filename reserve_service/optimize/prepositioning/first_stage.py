"""Build: the first stage (F1-F6), shared by the extensive form and the L-shaped master."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from reserve_service.optimize.solvers import LinearModel, LinExpr, Var

from .instance import PrepositioningInstance


@dataclass
class _FirstStage:
    x: list[list[Var]]
    buy: dict[tuple[int, int], Var]
    release: dict[tuple[int, int], Var]
    move: dict[tuple[int, int, int], Var]
    open: dict[tuple[int, int], Var]
    v: list[Var] | None
    parts: dict[str, LinExpr]

    @property
    def cost(self) -> LinExpr:
        return LinExpr.total(self.parts.values())

    def link_vars(self) -> list[Var]:
        """First-stage variables that appear in second-stage right-hand sides: x (D·I), then v."""
        flat = [var for row in self.x for var in row]
        return flat + (self.v or [])


@dataclass
class _Options:
    budget: float | None
    service_level: float | None
    scenario_share: float | None
    integer_stock: bool
    fixed_stock: np.ndarray | None
    elastic_penalty: float | None  # None = hard service rows


def _add_first_stage(
    model: LinearModel, inst: PrepositioningInstance, opt: _Options
) -> _FirstStage:
    nd, ni, _, ns = inst.shape
    kind = "integer" if opt.integer_stock else "continuous"
    stock = np.asarray(inst.current_stock, dtype=float)
    vol = np.asarray(inst.item_m3, dtype=float)
    cap = np.asarray(inst.capacity_m3, dtype=float)
    sizes = {inst.depot_ids.index(d): s for d, s in inst.candidate_sizes.items() if s}
    # a depot that can never hold anything gets x fixed at 0
    x = []
    for j in range(nd):
        row = []
        for i in range(ni):
            ub = math.inf
            if cap[j] <= 0 and j not in sizes:
                ub = 0.0
            if opt.fixed_stock is not None:
                value = float(opt.fixed_stock[j, i])
                row.append(model.add_var(f"x[{j},{i}]", lb=value, ub=value, kind=kind))
            else:
                row.append(model.add_var(f"x[{j},{i}]", ub=ub, kind=kind))
        x.append(row)
    buy = {
        (j, i): model.add_var(f"b[{j},{i}]", kind=kind)
        for j in range(nd)
        for i in range(ni)
        if not (cap[j] <= 0 and j not in sizes)
    }
    release = {
        (j, i): model.add_var(f"l[{j},{i}]", ub=stock[j, i], kind=kind)
        for j in range(nd)
        for i in range(ni)
        if stock[j, i] > 0
    }
    move: dict[tuple[int, int, int], Var] = {}
    if inst.move_cost_m3 is not None:
        for j in range(nd):
            for k in range(nd):
                if j == k or (cap[k] <= 0 and k not in sizes):
                    continue
                for i in range(ni):
                    if stock[j, i] > 0:
                        move[j, k, i] = model.add_var(f"m[{j},{k},{i}]", ub=stock[j, i], kind=kind)
    opened = {
        (j, c): model.add_var(f"y[{j},{c}]", kind="binary")
        for j, classes in sizes.items()
        for c in range(len(classes))
    }
    v = None
    if opt.scenario_share is not None:
        v = [model.add_var(f"v[{s}]", kind="binary") for s in range(ns)]

    # (F1) balance: x = stock + bought − released − moved out + moved in
    balance: dict[tuple[int, int], dict[int, float]] = {
        (j, i): {x[j][i].index: 1.0} for j in range(nd) for i in range(ni)
    }
    for (j, i), var in buy.items():
        balance[j, i][var.index] = -1.0
    for (j, i), var in release.items():
        balance[j, i][var.index] = 1.0
    for (a, b, i), var in move.items():
        balance[a, i][var.index] = 1.0
        balance[b, i][var.index] = -1.0
    for (j, i), terms in balance.items():
        model.add_row(
            list(terms), list(terms.values()), "==", float(stock[j, i]), f"balance[{j},{i}]"
        )
    # (F2) outflow: only today's stock can be released or moved away
    outflow: dict[tuple[int, int], list[Var]] = {}
    for (a, _b, i), var in move.items():
        outflow.setdefault((a, i), []).append(var)
    for (j, i), var in release.items():
        outflow.setdefault((j, i), []).append(var)
    for (j, i), out in outflow.items():
        if len(out) > 1:
            model.add_row(out, np.ones(len(out)), "<=", float(stock[j, i]), f"outflow[{j},{i}]")
    # (F3) volume and (F4) one size class per candidate
    for j in range(nd):
        if cap[j] <= 0 and j not in sizes:
            continue
        expr = LinExpr.weighted(x[j], vol)
        for c, size in enumerate(sizes.get(j, [])):
            expr.terms[opened[j, c].index] = -float(size.capacity_m3)
        model.add_constraint(expr <= float(cap[j]), f"volume[{j}]")
        if j in sizes:
            ys = [opened[j, c] for c in range(len(sizes[j]))]
            model.add_row(ys, np.ones(len(ys)), "<=", 1.0, f"one_size[{j}]")

    parts = {
        "buy": LinExpr.weighted([buy[k] for k in buy], [inst.buy_cost[k[1]] for k in buy]),
        "move": LinExpr.weighted(
            list(move.values()),
            [float(inst.move_cost_m3[a, b]) * vol[i] for (a, b, i) in move]  # type: ignore[index]
            if move
            else [],
        ),
        "hold": LinExpr.weighted(
            [x[j][i] for j in range(nd) for i in range(ni)],
            [inst.hold_cost[i] for j in range(nd) for i in range(ni)],
        ),
        "open": LinExpr.weighted(
            [opened[k] for k in opened], [sizes[j][c].fixed_cost for (j, c) in opened]
        ),
        "release": LinExpr.weighted(
            [release[k] for k in release], [-inst.release_value[k[1]] for k in release]
        ),
    }
    fs = _FirstStage(x, buy, release, move, opened, v, parts)
    # (F5) budget on the net spend on changes: buying, moving, opening − release income
    if opt.budget is not None:
        spend = LinExpr.total([parts["buy"], parts["move"], parts["open"], parts["release"]])
        model.add_constraint(spend <= float(opt.budget), "budget")
    # (F6) the service level must hold in scenarios of total probability >= α
    if v is not None:
        probs = [sc.probability for sc in inst.scenarios]
        model.add_row(v, probs, ">=", float(opt.scenario_share) - 1e-9, "scenario_share")
    return fs

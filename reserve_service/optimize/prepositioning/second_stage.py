"""Build: the second stage (S1-S5) of one scenario as sparse arrays (shared by both methods)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from .first_stage import _Options
from .instance import PrepositioningInstance


@dataclass
class _ScenarioLP:
    """``min cost·y`` s.t. ``A y (<= or ==) h + T X``, ``y >= 0``; X = first-stage link vector.

    Costs are already weighted by the scenario probability; elastic slacks are not.
    """

    cost: np.ndarray
    A: sp.csr_matrix
    h: np.ndarray
    is_eq: np.ndarray
    T: sp.csr_matrix
    u_cols: np.ndarray  # column of unmet (r, i) pairs
    u_ri: np.ndarray  # (n_u, 2) region, item
    sigma_cols: np.ndarray  # elastic slack per item with a service row
    sigma_items: np.ndarray
    beta_rows: np.ndarray  # service row per item (S5)
    beta_items: np.ndarray
    need_rows: np.ndarray  # need row (S4) of each u column
    part_cols: dict[str, np.ndarray]
    need_item: np.ndarray  # (I,) total need per item

    def rhs(self, X: np.ndarray) -> np.ndarray:
        return self.h + self.T @ X


def _feasible_pairs(hours: np.ndarray, lead: np.ndarray, deadline: float) -> np.ndarray:
    """Boolean (sources, regions): lead + travel <= deadline (the "within 10 h" rule)."""
    with np.errstate(invalid="ignore"):
        return (lead[:, None] + hours) <= deadline + 1e-9


@dataclass
class _Builder:
    """Columns, rows ``A y (<= or ==) h`` and the link ``T`` of one scenario LP, as triplets."""

    p: float  # the scenario's probability, weighting every cost
    cost: list[float] = field(default_factory=list)
    parts: dict[str, list[int]] = field(
        default_factory=lambda: {"transport": [], "external": [], "penalty": [], "slack": []}
    )
    demand_terms: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    rows_i: list[int] = field(default_factory=list)
    rows_j: list[int] = field(default_factory=list)
    rows_v: list[float] = field(default_factory=list)
    h: list[float] = field(default_factory=list)
    is_eq: list[bool] = field(default_factory=list)
    t_rows: list[int] = field(default_factory=list)
    t_cols: list[int] = field(default_factory=list)
    t_vals: list[float] = field(default_factory=list)

    def new_col(self, c: float, part: str) -> int:
        self.cost.append(c)
        self.parts[part].append(len(self.cost) - 1)
        return len(self.cost) - 1

    def new_row(self, cols: Sequence[int], coefs: Sequence[float], rhs: float, eq: bool) -> int:
        r = len(self.h)
        self.rows_i.extend([r] * len(cols))
        self.rows_j.extend(cols)
        self.rows_v.extend(coefs)
        self.h.append(rhs)
        self.is_eq.append(eq)
        return r

    def link(self, row: int, col: int, value: float) -> None:
        """The first-stage column ``col`` (x or v) enters row ``row``'s right-hand side."""
        self.t_rows.append(row)
        self.t_cols.append(col)
        self.t_vals.append(value)


def _scenario_lp(inst: PrepositioningInstance, s: int, opt: _Options) -> _ScenarioLP:
    """The second stage of scenario ``s`` (S1-S5) as ``min c·y : A y (<=, ==) h + T X``."""
    nd, ni, nr, ns = inst.shape
    sc = inst.scenarios[s]
    need = np.asarray(sc.need, dtype=float)
    b = _Builder(float(sc.probability))
    need_regions = np.flatnonzero((need > 0).any(axis=1))
    _add_depot_shipments(b, inst, sc, opt, need_regions)
    _add_external_shipments(b, inst, sc, need_regions)
    u_cols, u_ri, need_rows = _add_unmet(b, inst, need, need_regions)
    need_item = need.sum(axis=0)
    service = _add_service_level(b, opt, u_cols, u_ri, need_item, nd * ni + s)
    n_link = nd * ni + (ns if opt.scenario_share is not None else 0)
    m, n = len(b.h), len(b.cost)
    return _ScenarioLP(
        cost=np.asarray(b.cost, dtype=float),
        A=sp.csr_matrix((b.rows_v, (b.rows_i, b.rows_j)), shape=(m, n)),
        h=np.asarray(b.h, dtype=float),
        is_eq=np.asarray(b.is_eq, dtype=bool),
        T=sp.csr_matrix((b.t_vals, (b.t_rows, b.t_cols)), shape=(m, n_link)),
        u_cols=np.asarray(u_cols, dtype=np.int64),
        u_ri=np.asarray(u_ri, dtype=np.int64).reshape(-1, 2),
        sigma_cols=np.asarray(service[0], dtype=np.int64),
        sigma_items=np.asarray(service[1], dtype=np.int64),
        beta_rows=np.asarray(service[2], dtype=np.int64),
        beta_items=np.asarray(service[3], dtype=np.int64),
        need_rows=np.asarray(need_rows, dtype=np.int64),
        part_cols={k: np.asarray(v, dtype=np.int64) for k, v in b.parts.items()},
        need_item=need_item,
    )


def _add_depot_shipments(
    b: _Builder, inst: PrepositioningInstance, sc: Any, opt: _Options, need_regions: np.ndarray
) -> None:
    """Depot shipments z on pairs that arrive in time, and (S1) depot supply Σ_r z <= (1 − δ) x."""
    nd, ni, _, _ = inst.shape
    need = np.asarray(sc.need, dtype=float)
    has_need = need > 0
    tau = np.asarray(inst.item_m3, dtype=float) * inst.transport_cost_m3h
    lead = (
        np.asarray(inst.depot_lead_hours, dtype=float)
        if inst.depot_lead_hours is not None
        else np.zeros(nd)
    )
    sizes = {inst.depot_ids.index(d) for d, sz in inst.candidate_sizes.items() if sz}
    can_hold = (np.asarray(inst.capacity_m3) > 0) | np.isin(np.arange(nd), list(sizes))
    if opt.fixed_stock is not None:
        can_hold &= opt.fixed_stock.sum(axis=1) > 0
    depot_ok = _feasible_pairs(sc.depot_hours[:, need_regions], lead, inst.deadline_hours)
    for j in range(nd):
        if not can_hold[j] or sc.depot_loss[j] >= 1:
            continue
        regions = need_regions[depot_ok[j]]
        if len(regions) == 0:
            continue
        for i in range(ni):
            cols = []
            for r in regions:
                if has_need[r, i]:
                    col = b.new_col(b.p * tau[i] * float(sc.depot_hours[j, r]), "transport")
                    b.demand_terms.setdefault((r, i), []).append(col)
                    cols.append(col)
            if cols:
                row = b.new_row(cols, [1.0] * len(cols), 0.0, False)
                b.link(row, j * ni + i, 1.0 - float(sc.depot_loss[j]))


def _add_external_shipments(
    b: _Builder, inst: PrepositioningInstance, sc: Any, need_regions: np.ndarray
) -> None:
    """External shipments w, (S2) stock limits and (S3) production limits."""
    has_need = np.asarray(sc.need, dtype=float) > 0
    tau = np.asarray(inst.item_m3, dtype=float) * inst.transport_cost_m3h
    T_hours = inst.deadline_hours
    item_pos = {item: k for k, item in enumerate(inst.item_ids)}
    for e, ext in enumerate(inst.external):
        i = item_pos[ext.item]
        hours = sc.external_hours[e]
        ok = [
            r
            for r in need_regions
            if has_need[r, i] and ext.lead_hours + hours[r] <= T_hours + 1e-9
        ]
        if not ok:
            continue
        cols = []
        for r in ok:
            col = b.new_col(b.p * (ext.unit_cost + tau[i] * float(hours[r])), "external")
            b.demand_terms.setdefault((r, i), []).append(col)
            cols.append(col)
        if ext.kind == "capacity":
            latest = np.array([T_hours - float(hours[r]) for r in ok])
            order = np.argsort(latest, kind="stable")
            for q in range(len(order)):
                if q + 1 < len(order) and latest[order[q + 1]] <= latest[order[q]] + 1e-12:
                    continue  # the row of the last region with this completion time covers it
                chosen = [cols[k] for k in order[: q + 1]]
                limit = ext.rate_per_day * max(0.0, latest[order[q]] - ext.lead_hours) / 24.0
                b.new_row(chosen, [1.0] * len(chosen), limit, False)
        else:
            b.new_row(cols, [1.0] * len(cols), float(ext.quantity), False)


def _add_unmet(
    b: _Builder, inst: PrepositioningInstance, need: np.ndarray, need_regions: np.ndarray
) -> tuple[list[int], list[tuple[int, int]], list[int]]:
    """Unmet need u and (S4) need balance Σ_j z + Σ_e w + u = n."""
    u_cols: list[int] = []
    u_ri: list[tuple[int, int]] = []
    need_rows: list[int] = []
    for r in need_regions:
        for i in range(need.shape[1]):
            if not need[r, i] > 0:
                continue
            col = b.new_col(b.p * float(inst.penalty[i]), "penalty")
            u_cols.append(col)
            u_ri.append((r, i))
            terms = b.demand_terms.get((r, i), []) + [col]
            need_rows.append(b.new_row(terms, [1.0] * len(terms), float(need[r, i]), True))
    return u_cols, u_ri, need_rows


def _add_service_level(
    b: _Builder,
    opt: _Options,
    u_cols: list[int],
    u_ri: list[tuple[int, int]],
    need_item: np.ndarray,
    v_col: int,
) -> tuple[list[int], list[int], list[int], list[int]]:
    """(S5) service level per item: Σ_r u <= (1 − β) need  (or need − β need v_s).

    Returns the slack columns and their items, and the service rows and their items.
    """
    sigma_cols: list[int] = []
    sigma_items: list[int] = []
    beta_rows: list[int] = []
    beta_items: list[int] = []
    if opt.service_level is None:
        return sigma_cols, sigma_items, beta_rows, beta_items
    beta = float(opt.service_level)
    by_item: dict[int, list[int]] = {}
    for col, (_r, i) in zip(u_cols, u_ri, strict=True):
        by_item.setdefault(i, []).append(col)
    for i, cols in sorted(by_item.items()):
        coefs = [1.0] * len(cols)
        if opt.elastic_penalty is not None:
            sig = b.new_col(float(opt.elastic_penalty), "slack")
            sigma_cols.append(sig)
            sigma_items.append(i)
            cols = cols + [sig]
            coefs = coefs + [-1.0]
        beta_items.append(i)
        if opt.scenario_share is None:
            beta_rows.append(b.new_row(cols, coefs, (1.0 - beta) * float(need_item[i]), False))
        else:
            row = b.new_row(cols, coefs, float(need_item[i]), False)
            beta_rows.append(row)
            b.link(row, v_col, -beta * float(need_item[i]))
    return sigma_cols, sigma_items, beta_rows, beta_items

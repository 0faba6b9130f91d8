"""Build: the second stage (S1-S5) of one scenario as sparse arrays (shared by both methods)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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


def _scenario_lp(inst: PrepositioningInstance, s: int, opt: _Options) -> _ScenarioLP:
    nd, ni, nr, ns = inst.shape
    sc = inst.scenarios[s]
    p = float(sc.probability)
    vol = np.asarray(inst.item_m3, dtype=float)
    lead = (
        np.asarray(inst.depot_lead_hours, dtype=float)
        if inst.depot_lead_hours is not None
        else np.zeros(nd)
    )
    T_hours = inst.deadline_hours
    need = np.asarray(sc.need, dtype=float)
    sizes = {inst.depot_ids.index(d) for d, sz in inst.candidate_sizes.items() if sz}
    can_hold = (np.asarray(inst.capacity_m3) > 0) | np.isin(np.arange(nd), list(sizes))
    if opt.fixed_stock is not None:
        can_hold &= opt.fixed_stock.sum(axis=1) > 0
    n_link = nd * ni + (ns if opt.scenario_share is not None else 0)
    tau = vol * inst.transport_cost_m3h

    cost: list[float] = []
    parts: dict[str, list[int]] = {"transport": [], "external": [], "penalty": [], "slack": []}
    demand_terms: dict[tuple[int, int], list[int]] = {}
    rows_i: list[int] = []
    rows_j: list[int] = []
    rows_v: list[float] = []
    h: list[float] = []
    is_eq: list[bool] = []
    t_rows: list[int] = []
    t_cols: list[int] = []
    t_vals: list[float] = []

    def new_col(c: float, part: str) -> int:
        cost.append(c)
        parts[part].append(len(cost) - 1)
        return len(cost) - 1

    def new_row(cols: Sequence[int], coefs: Sequence[float], rhs: float, eq: bool) -> int:
        r = len(h)
        rows_i.extend([r] * len(cols))
        rows_j.extend(cols)
        rows_v.extend(coefs)
        h.append(rhs)
        is_eq.append(eq)
        return r

    has_need = need > 0
    need_regions = np.flatnonzero(has_need.any(axis=1))
    depot_ok = _feasible_pairs(sc.depot_hours[:, need_regions], lead, T_hours)
    # depot shipments and (S1) depot supply: Σ_r z <= (1 − δ) x
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
                    col = new_col(p * tau[i] * float(sc.depot_hours[j, r]), "transport")
                    demand_terms.setdefault((r, i), []).append(col)
                    cols.append(col)
            if cols:
                row = new_row(cols, [1.0] * len(cols), 0.0, False)
                t_rows.append(row)
                t_cols.append(j * ni + i)
                t_vals.append(1.0 - float(sc.depot_loss[j]))
    # external shipments, (S2) stock limits and (S3) production limits
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
            col = new_col(p * (ext.unit_cost + tau[i] * float(hours[r])), "external")
            demand_terms.setdefault((r, i), []).append(col)
            cols.append(col)
        if ext.kind == "capacity":
            latest = np.array([T_hours - float(hours[r]) for r in ok])
            order = np.argsort(latest, kind="stable")
            for q in range(len(order)):
                if q + 1 < len(order) and latest[order[q + 1]] <= latest[order[q]] + 1e-12:
                    continue  # the row of the last region with this completion time covers it
                chosen = [cols[k] for k in order[: q + 1]]
                limit = ext.rate_per_day * max(0.0, latest[order[q]] - ext.lead_hours) / 24.0
                new_row(chosen, [1.0] * len(chosen), limit, False)
        else:
            new_row(cols, [1.0] * len(cols), float(ext.quantity), False)
    # unmet need and (S4) need balance
    u_cols: list[int] = []
    u_ri: list[tuple[int, int]] = []
    need_rows: list[int] = []
    for r in need_regions:
        for i in range(ni):
            if not has_need[r, i]:
                continue
            col = new_col(p * float(inst.penalty[i]), "penalty")
            u_cols.append(col)
            u_ri.append((r, i))
            terms = demand_terms.get((r, i), []) + [col]
            need_rows.append(new_row(terms, [1.0] * len(terms), float(need[r, i]), True))
    # (S5) service level per item: Σ_r u <= (1 − β) need  (or need − β need v_s)
    sigma_cols: list[int] = []
    sigma_items: list[int] = []
    beta_rows: list[int] = []
    beta_items: list[int] = []
    need_item = need.sum(axis=0)
    if opt.service_level is not None:
        beta = float(opt.service_level)
        by_item: dict[int, list[int]] = {}
        for col, (_r, i) in zip(u_cols, u_ri, strict=True):
            by_item.setdefault(i, []).append(col)
        for i, cols in sorted(by_item.items()):
            coefs = [1.0] * len(cols)
            if opt.elastic_penalty is not None:
                sig = new_col(float(opt.elastic_penalty), "slack")
                sigma_cols.append(sig)
                sigma_items.append(i)
                cols = cols + [sig]
                coefs = coefs + [-1.0]
            beta_items.append(i)
            if opt.scenario_share is None:
                beta_rows.append(new_row(cols, coefs, (1.0 - beta) * float(need_item[i]), False))
            else:
                row = new_row(cols, coefs, float(need_item[i]), False)
                beta_rows.append(row)
                t_rows.append(row)
                t_cols.append(nd * ni + s)
                t_vals.append(-beta * float(need_item[i]))
    m, n = len(h), len(cost)
    A = sp.csr_matrix((rows_v, (rows_i, rows_j)), shape=(m, n))
    T = sp.csr_matrix((t_vals, (t_rows, t_cols)), shape=(m, n_link))
    return _ScenarioLP(
        cost=np.asarray(cost, dtype=float),
        A=A,
        h=np.asarray(h, dtype=float),
        is_eq=np.asarray(is_eq, dtype=bool),
        T=T,
        u_cols=np.asarray(u_cols, dtype=np.int64),
        u_ri=np.asarray(u_ri, dtype=np.int64).reshape(-1, 2),
        sigma_cols=np.asarray(sigma_cols, dtype=np.int64),
        sigma_items=np.asarray(sigma_items, dtype=np.int64),
        beta_rows=np.asarray(beta_rows, dtype=np.int64),
        beta_items=np.asarray(beta_items, dtype=np.int64),
        need_rows=np.asarray(need_rows, dtype=np.int64),
        part_cols={k: np.asarray(v, dtype=np.int64) for k, v in parts.items()},
        need_item=need_item,
    )

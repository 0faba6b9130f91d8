"""Input checks of an instance and of the solve options, before any model is built."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .instance import PrepositioningInputError, PrepositioningInstance


def _array(value: Any, shape: tuple[int, ...], name: str, *, allow_inf: bool = False) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.shape != shape:
        raise PrepositioningInputError(f"{name} must have shape {shape}, got {arr.shape}", name)
    bad = np.isnan(arr) | (~np.isfinite(arr) if not allow_inf else np.isneginf(arr))
    if bad.any():
        raise PrepositioningInputError(f"{name} has non-finite entries", name)
    if (arr < 0).any():
        k = np.unravel_index(int(np.argmin(arr)), arr.shape)
        raise PrepositioningInputError(f"{name} must be >= 0, got {arr[k]} at {k}", name)
    return arr


def validate_instance(inst: PrepositioningInstance) -> None:
    """Raise :class:`PrepositioningInputError` for impossible or malformed instances."""
    nd, ni, nr, ns = inst.shape
    ne = len(inst.external)
    for name, ids in (
        ("depot_ids", inst.depot_ids),
        ("item_ids", inst.item_ids),
        ("region_ids", inst.region_ids),
    ):
        if len(set(ids)) != len(ids):
            raise PrepositioningInputError(f"{name} has duplicates", name)
    if nd == 0 or ni == 0:
        raise PrepositioningInputError("need at least one depot and one item", "depot_ids")
    stock = _array(inst.current_stock, (nd, ni), "current_stock")
    cap = _array(inst.capacity_m3, (nd,), "capacity_m3")
    vol = _array(inst.item_m3, (ni,), "item_m3")
    for name in ("buy_cost", "hold_cost", "release_value", "penalty"):
        _array(getattr(inst, name), (ni,), name)
    if inst.move_cost_m3 is not None:
        _array(inst.move_cost_m3, (nd, nd), "move_cost_m3")
    if inst.depot_lead_hours is not None:
        _array(inst.depot_lead_hours, (nd,), "depot_lead_hours")
    if not (math.isfinite(inst.transport_cost_m3h) and inst.transport_cost_m3h >= 0):
        raise PrepositioningInputError("transport_cost_m3h must be >= 0", "transport_cost_m3h")
    if not inst.deadline_hours > 0:
        raise PrepositioningInputError("deadline_hours must be > 0", "deadline_hours")
    used = stock @ vol
    for j in np.flatnonzero(used > cap + 1e-6):
        raise PrepositioningInputError(
            f"depot {inst.depot_ids[j]}: capacity {cap[j]:g} m³ is smaller than today's stock "
            f"{used[j]:g} m³",
            f"capacity_m3[{inst.depot_ids[j]}]",
        )
    depots = set(inst.depot_ids)
    for depot, sizes in inst.candidate_sizes.items():
        if depot not in depots:
            raise PrepositioningInputError(
                f"unknown candidate depot {depot!r}", f"candidate_sizes[{depot}]"
            )
        for size in sizes:
            if size.capacity_m3 < 0 or size.fixed_cost < 0:
                raise PrepositioningInputError(
                    f"size class of {depot} must have capacity and cost >= 0",
                    f"candidate_sizes[{depot}]",
                )
    items = set(inst.item_ids)
    seen: set[str] = set()
    for k, ext in enumerate(inst.external):
        where = f"external[{k}]"
        if ext.id in seen:
            raise PrepositioningInputError(f"duplicate external source {ext.id!r}", f"{where}.id")
        seen.add(ext.id)
        if ext.item not in items:
            raise PrepositioningInputError(f"unknown item id {ext.item!r}", f"{where}.item")
        if ext.kind not in ("enterprise_held", "agreement", "capacity"):
            raise PrepositioningInputError(f"unknown kind {ext.kind!r}", f"{where}.kind")
        for name in ("quantity", "rate_per_day", "lead_hours", "unit_cost"):
            value = getattr(ext, name)
            if not (math.isfinite(value) and value >= 0):
                raise PrepositioningInputError(f"{name} must be >= 0", f"{where}.{name}")
    if ns == 0:
        raise PrepositioningInputError("need at least one scenario", "scenarios")
    total = 0.0
    ids: set[str] = set()
    for k, sc in enumerate(inst.scenarios):
        where = f"scenarios[{k}]"
        if sc.id in ids:
            raise PrepositioningInputError(f"duplicate scenario id {sc.id!r}", f"{where}.id")
        ids.add(sc.id)
        if not (math.isfinite(sc.probability) and sc.probability >= 0):
            raise PrepositioningInputError("probability must be >= 0", f"{where}.probability")
        total += sc.probability
        _array(sc.need, (nr, ni), f"{where}.need")
        _array(sc.depot_hours, (nd, nr), f"{where}.depot_hours", allow_inf=True)
        _array(sc.external_hours, (ne, nr), f"{where}.external_hours", allow_inf=True)
        loss = _array(sc.depot_loss, (nd,), f"{where}.depot_loss")
        if (loss > 1).any():
            raise PrepositioningInputError("depot_loss must be <= 1", f"{where}.depot_loss")
    if abs(total - 1.0) > 1e-6:
        raise PrepositioningInputError(
            f"scenario probabilities sum to {total:.9g}, not 1", "scenarios.probability"
        )


def _check_fixed_stock(inst: PrepositioningInstance, fixed_stock: Any) -> None:
    if fixed_stock is None:
        return
    nd, ni, _, _ = inst.shape
    stock = _array(fixed_stock, (nd, ni), "fixed_stock")
    largest = np.array(
        [
            max((c.capacity_m3 for c in inst.candidate_sizes.get(d, [])), default=0.0)
            for d in inst.depot_ids
        ]
    )
    over = stock @ np.asarray(inst.item_m3, dtype=float) - np.asarray(inst.capacity_m3) - largest
    for j in np.flatnonzero(over > 1e-6):
        raise PrepositioningInputError(
            f"fixed stock at {inst.depot_ids[j]} exceeds its largest volume by {over[j]:g} m³",
            f"fixed_stock[{inst.depot_ids[j]}]",
        )


def _check_options(
    budget: float | None, service_level: float | None, scenario_share: float | None
) -> None:
    if budget is not None and not (math.isfinite(budget) and budget >= 0):
        raise PrepositioningInputError(f"budget must be >= 0, got {budget}", "budget")
    if service_level is not None and not 0 <= service_level <= 1:
        raise PrepositioningInputError(
            f"service_level must be in [0, 1], got {service_level}", "service_level"
        )
    if scenario_share is not None:
        if service_level is None:
            raise PrepositioningInputError("scenario_share needs a service_level", "scenario_share")
        if not 0 < scenario_share <= 1:
            raise PrepositioningInputError(
                f"scenario_share must be in (0, 1], got {scenario_share}", "scenario_share"
            )

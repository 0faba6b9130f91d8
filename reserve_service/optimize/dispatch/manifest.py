"""A vehicle's printable CSV manifest."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import timedelta

from reserve_service.optimize.dispatch.plan import DispatchPlan, ManifestLine
from reserve_service.optimize.dispatch.problem import DispatchInputError

MANIFEST_COLUMNS = (
    "vehicle_id",
    "stop",
    "action",
    "place_id",
    "node",
    "eta",
    "eta_h",
    "order_id",
    "item_id",
    "item_name",
    "quantity",
    "weight_kg",
    "volume_m3",
    "lot_no",
    "expiry",
    "source_id",
    "source_mode",
)


def plan_to_manifest_csv(plan: DispatchPlan, vehicle_id: str) -> str:
    """A printable CSV manifest: one row per item line per stop (load at sources, unload at regions)."""
    try:
        vp = plan.vehicle(vehicle_id)
    except KeyError:
        raise DispatchInputError("vehicle_id", f"no vehicle {vehicle_id!r} in the plan") from None
    items = {it.id: it for it in plan.problem.items}
    start = plan.problem.incident.start
    lines_by_order: dict[str, list[ManifestLine]] = defaultdict(list)
    for line in vp.manifest:
        lines_by_order[line.order_id].append(line)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    for k, stop in enumerate(vp.stops, start=1):
        eta = (start + timedelta(hours=stop.eta_h)).isoformat(timespec="minutes")
        for line in lines_by_order.get(stop.order_id, []):
            it = items[line.item_id]
            writer.writerow(
                [
                    vp.vehicle_id,
                    k,
                    "load" if stop.kind == "pickup" else "unload",
                    stop.place_id,
                    stop.node,
                    eta,
                    f"{stop.eta_h:.2f}",
                    line.order_id,
                    line.item_id,
                    it.name,
                    line.quantity,
                    f"{line.quantity * it.weight_kg:.1f}",
                    f"{line.quantity * it.volume_m3:.3f}",
                    line.lot_no,
                    line.expiry.isoformat() if line.expiry else "",
                    line.source_id,
                    line.source_mode,
                ]
            )
    writer.writerow([])
    writer.writerow(
        [
            "total_load_kg",
            f"{vp.total_load_kg:.1f}",
            "total_load_m3",
            f"{vp.total_load_m3:.3f}",
            "peak_load_kg",
            f"{vp.peak_load_kg:.1f}",
            "trips",
            vp.trips,
        ]
    )
    return buf.getvalue()

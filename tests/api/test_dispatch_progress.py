"""A dispatch job reports its progress while it solves and stops soon after a cancel.

Six small trucks share the township's 20 tents and 300 L of water (one trip each at most
200 kg), so routing has orders to improve for its whole 30 s budget; the job is watched,
then cancelled.  Timings are not asserted (the machine is shared): only that progress moves
and that the cancelled job ends long before its budget would have.
"""

from __future__ import annotations

import datetime as dt
import time

TOWN = "341302001000"


def test_progress_moves_and_cancel_stops_the_solve(client, roads):
    headers = roads.headers("dispatcher")
    fleet = [{"id": f"T{k}", "depot": "DEP-A", "weight_capacity_kg": 200, "volume_capacity_m3": 2}
             for k in range(6)]
    body = {"name": "flood", "start_at": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat(),
            "modes": ["government"], "fleet": fleet, "routing_time_limit_s": 30,
            "regions": [{"region": TOWN, "relocated_people": 100, "needs": {"1010101": 20, "1030101": 300}}]}
    incident = client.post("/api/v1/incidents", headers=headers, json=body)
    assert incident.status_code == 201, incident.json
    started = time.monotonic()
    job = client.post(f"/api/v1/incidents/{incident.json['id']}/plans", headers=headers).json
    messages = []
    while time.monotonic() - started < 25:
        state = client.get(job["url"], headers=headers).json
        if state["status"] == "running" and "routing" in (state["message"] or ""):
            messages.append(state["message"])
            if len(set(messages)) >= 2:
                break
        time.sleep(0.3)
    assert len(set(messages)) >= 2, messages  # the elapsed time in the message moves on
    assert "bound" in messages[-1]
    cancelled = client.post(f"{job['url']}/cancel", headers=headers)
    assert cancelled.status_code == 202
    while time.monotonic() - started < 28:
        state = client.get(job["url"], headers=headers).json
        if state["status"] != "running":
            break
        time.sleep(0.2)
    assert state["status"] == "cancelled", state

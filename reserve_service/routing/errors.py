"""Specific errors raised by the road-network router.

Every problem with caller-supplied input is a :class:`RoutingInputError` (a ``ValueError``) whose
``field`` names the offending column, property, tag or argument, so an HTTP adapter can map it to
``errors{field: [messages]}`` without parsing the message.
"""

from __future__ import annotations

from reserve_service.errors import InputError


class RoutingInputError(InputError):
    """Input to the router is malformed or impossible: ``RoutingInputError(field, message)``,
    ``field`` naming the problem, like every other :class:`InputError`."""


class NetworkFileError(RoutingInputError):
    """A road-network file (CSV, GeoJSON, OSM) cannot be read or has invalid content."""


class PolicyError(RoutingInputError):
    """The green-channel policy document is invalid."""


class UnknownProfileError(RoutingInputError):
    """A vehicle profile name is not declared in the policy."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__("profile", f"unknown vehicle profile {name!r}; known: {', '.join(known)}")
        self.name = name


class UnknownNodeError(RoutingInputError):
    """A node id is not in the graph."""

    def __init__(self, node: object, field: str = "node") -> None:
        super().__init__(field, f"node {node!r} is not in the road graph")
        self.node = node


class SnapDistanceError(RoutingInputError):
    """A point lies farther from every road node than the allowed snap distance."""

    def __init__(self, lat: float, lng: float, distance_m: float, max_snap_m: float) -> None:
        super().__init__(
            "point",
            f"point ({lat:.6f}, {lng:.6f}) is {distance_m:.0f} m from the nearest road node; "
            f"the maximum snap distance is {max_snap_m:.0f} m",
        )
        self.lat = lat
        self.lng = lng
        self.distance_m = distance_m
        self.max_snap_m = max_snap_m


class RoadEventError(RoutingInputError):
    """A road event is invalid (bad window, unknown edges, an area that closes nothing...)."""


class NoRouteError(LookupError):
    """No open route exists between two nodes for the given profile and time."""

    def __init__(self, source: object, target: object, profile: str) -> None:
        super().__init__(f"no open route from {source!r} to {target!r} for profile {profile!r}")
        self.source = source
        self.target = target
        self.profile = profile

"""Green-channel policy: vehicle profiles and the rules for approved relief vehicles.

The policy is a versioned YAML document (``policies/green_channel_v1.yaml``). It declares, per
vehicle profile, the speed by road class, the gross weight (checked against bridge limits), toll
rates per km by road class, the toll-plaza queue, and whether the vehicle is approved for the
green channel. The ``green_channel`` section says what approval grants. An edge's speed for a
vehicle is ``min(edge free speed, profile speed for the edge's class)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

import yaml

from reserve_service.routing.errors import PolicyError, UnknownProfileError

ROAD_CLASSES: tuple[str, ...] = (
    "expressway",
    "national",
    "provincial",
    "county",
    "township",
    "village",
)
DEFAULT_POLICY_PATH = Path(__file__).parent / "policies" / "green_channel_v1.yaml"


@dataclass(frozen=True)
class GreenChannelRules:
    """What green-channel approval grants a vehicle."""

    toll_exempt: bool
    skips_toll_plaza_queue: bool
    passes_traffic_control: bool
    passes_closures: bool = False


@dataclass(frozen=True)
class VehicleProfile:
    """One vehicle type: speeds, weight, toll rates and green-channel approval."""

    name: str
    description: str
    green_channel_approved: bool
    weight_t: float
    toll_plaza_queue_minutes: float
    speed_kmh: Mapping[str, float]
    toll_yuan_per_km: Mapping[str, float]


@dataclass(frozen=True)
class RoutingPolicy:
    """A validated green-channel policy document."""

    version: str
    effective_from: str
    green_channel: GreenChannelRules
    profiles: Mapping[str, VehicleProfile]
    document: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    def profile(self, name: str | VehicleProfile) -> VehicleProfile:
        """Return the profile called ``name`` (a profile object is returned unchanged)."""
        if isinstance(name, VehicleProfile):
            return name
        try:
            return self.profiles[name]
        except KeyError:
            raise UnknownProfileError(str(name), sorted(self.profiles)) from None

    def pays_toll(self, profile: VehicleProfile) -> bool:
        """True when the vehicle pays tolls on toll edges."""
        return not (profile.green_channel_approved and self.green_channel.toll_exempt)

    def queues_at_toll_plaza(self, profile: VehicleProfile) -> bool:
        """True when the vehicle waits the toll-plaza queue."""
        return not (profile.green_channel_approved and self.green_channel.skips_toll_plaza_queue)

    def passes_traffic_control(self, profile: VehicleProfile) -> bool:
        """True when the vehicle may use edges under traffic control (交通管制)."""
        return profile.green_channel_approved and self.green_channel.passes_traffic_control


def _number(value: Any, where: str, *, positive: bool) -> float:
    """Return ``value`` as a finite float, > 0 (``positive``) or >= 0, else raise PolicyError."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PolicyError(where, f"{where} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        bound = "> 0" if positive else ">= 0"
        raise PolicyError(where, f"{where} must be finite and {bound}, got {value!r}")
    return number


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise PolicyError(where, f"{where} must be true or false, got {value!r}")
    return value


def _by_class(value: Any, where: str, *, positive: bool) -> dict[str, float]:
    """Validate a mapping road class → number covering exactly the known classes."""
    if not isinstance(value, Mapping):
        raise PolicyError(where, f"{where} must map road class to a number")
    unknown = sorted(set(value) - set(ROAD_CLASSES))
    if unknown:
        raise PolicyError(where, f"{where} has unknown road classes {unknown}")
    missing = [c for c in ROAD_CLASSES if c not in value]
    if missing:
        raise PolicyError(where, f"{where} is missing road classes {missing}")
    return {c: _number(value[c], f"{where}.{c}", positive=positive) for c in ROAD_CLASSES}


def _profile(name: str, body: Any) -> VehicleProfile:
    where = f"profiles.{name}"
    if not isinstance(body, Mapping):
        raise PolicyError(where, f"{where} must be a mapping")
    for key in (
        "green_channel_approved",
        "weight_t",
        "toll_plaza_queue_minutes",
        "speed_kmh",
        "toll_yuan_per_km",
    ):
        if key not in body:
            raise PolicyError(f"{where}.{key}", f"{where} lacks {key!r}")
    return VehicleProfile(
        name=name,
        description=str(body.get("description", "")),
        green_channel_approved=_flag(
            body["green_channel_approved"], f"{where}.green_channel_approved"
        ),
        weight_t=_number(body["weight_t"], f"{where}.weight_t", positive=True),
        toll_plaza_queue_minutes=_number(
            body["toll_plaza_queue_minutes"], f"{where}.toll_plaza_queue_minutes", positive=False
        ),
        speed_kmh=_by_class(body["speed_kmh"], f"{where}.speed_kmh", positive=True),
        toll_yuan_per_km=_by_class(
            body["toll_yuan_per_km"], f"{where}.toll_yuan_per_km", positive=False
        ),
    )


def parse_policy(document: Mapping[str, Any]) -> RoutingPolicy:
    """Validate a policy document (already parsed from YAML/JSON) and return the policy."""
    if not isinstance(document, Mapping):
        raise PolicyError("document", "the policy document must be a mapping")
    if document.get("document") != "green_channel_policy":
        raise PolicyError("document", "'document' must be 'green_channel_policy'")
    version = document.get("version")
    if not isinstance(version, str) or not version:
        raise PolicyError("version", "'version' must be a non-empty string such as '1.0.0'")
    classes = document.get("road_classes")
    if list(classes or []) != list(ROAD_CLASSES):
        raise PolicyError("road_classes", f"'road_classes' must be {list(ROAD_CLASSES)}")
    rules_doc = document.get("green_channel")
    if not isinstance(rules_doc, Mapping):
        raise PolicyError("green_channel", "'green_channel' must be a mapping of rules")
    rules = GreenChannelRules(
        **{
            key: _flag(rules_doc.get(key), f"green_channel.{key}")
            for key in (
                "toll_exempt",
                "skips_toll_plaza_queue",
                "passes_traffic_control",
                "passes_closures",
            )
        }
    )
    if rules.passes_closures:
        raise PolicyError(
            "green_channel.passes_closures",
            "no vehicle passes a physically closed edge; green_channel.passes_closures must be false",
        )
    profiles_doc = document.get("profiles")
    if not isinstance(profiles_doc, Mapping) or not profiles_doc:
        raise PolicyError("profiles", "'profiles' must be a non-empty mapping")
    profiles = {str(name): _profile(str(name), body) for name, body in profiles_doc.items()}
    return RoutingPolicy(
        version=version,
        effective_from=str(document.get("effective_from", "")),
        green_channel=rules,
        profiles=profiles,
        document=dict(document),
    )


def load_policy(source: str | Path | IO[str] | Mapping[str, Any]) -> RoutingPolicy:
    """Load and validate a policy from a YAML/JSON path, an open text file or a mapping."""
    if isinstance(source, Mapping):
        return parse_policy(source)
    try:
        if isinstance(source, str | Path):
            text = Path(source).read_text(encoding="utf-8")
        else:
            text = source.read()
        document = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError("document", f"cannot read the policy document: {exc}") from exc
    return parse_policy(document)


@lru_cache(maxsize=1)
def default_policy() -> RoutingPolicy:
    """The shipped policy, ``policies/green_channel_v1.yaml``."""
    return load_policy(DEFAULT_POLICY_PATH)

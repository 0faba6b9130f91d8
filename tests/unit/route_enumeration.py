"""Every set of routes over customers 1..n, for tests that find optima by enumeration."""

from __future__ import annotations

import itertools
from collections.abc import Iterator


def all_route_sets(n: int, max_routes: int) -> Iterator[list[list[int]]]:
    """Every solution is a customer order cut into consecutive routes: yield them all (with
    repeats), at most ``max_routes`` routes each."""
    for order in itertools.permutations(range(1, n + 1)):
        for cuts in itertools.product((False, True), repeat=n - 1):
            if sum(cuts) + 1 > max_routes:
                continue
            routes, current = [], [order[0]]
            for c, cut in zip(order[1:], cuts, strict=True):
                if cut:
                    routes.append(current)
                    current = [c]
                else:
                    current.append(c)
            routes.append(current)
            yield routes

"""Vehicle routing engines (pure code): the CVRP, PyVRP as a backend, depot-loaded waves.

The VRPTW itself lives in :mod:`reserve_service.optimize.vrptw`; this package adds the CVRP
form (:mod:`.cvrp`), the PyVRP backend (:mod:`.pyvrp_backend`) and the routing of waves in
which every vehicle loads only at its own depot (:mod:`.depot_waves`).
"""

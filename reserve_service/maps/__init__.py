"""GeoJSON map layers for the console: boundaries, townships, roads, rivers, depots, road events.

``layers`` is pure (plain values in, GeoJSON dicts out); ``api`` adapts the database to it.
"""

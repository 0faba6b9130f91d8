"""A road network's tables as NumPy ``.npy`` files, memory-mapped by every process.

One folder per stored network, ``<graph dir>/<network uid>/``: a network row is immutable, so
its uid is its version and a folder, once complete, never changes. The first process that needs
a network writes the folder (into a temporary name, then one atomic rename); every other
process, web or worker, maps the same files read-only, so the operating system keeps one copy
of the columns in its page cache for all of them and nobody parses the CSV text again.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from reserve_service.routing.loaders import NetworkTables

FORMAT = 1
#: numeric edge and node columns, stored as they are
ARRAYS = ("lat", "lng", "edge_id", "u", "v", "length_m", "road_class", "speed_kmh", "oneway", "toll",
          "toll_plaza", "bridge", "lanes", "max_weight_t")
#: text columns (node ids when they are not integers, road names and refs)
TEXTS = ("name", "ref")


def save(folder: Path, tables: NetworkTables, arcs: Mapping[str, np.ndarray] | None = None) -> Path:
    """Write ``tables`` (and the graph's derived ``arcs``, see ``RoadGraph.arc_arrays``) under
    ``folder``, atomically: complete or absent; returns the folder."""
    folder = Path(folder)
    if (folder / "meta.json").exists():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = folder.with_name(f".{folder.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}")
    scratch.mkdir()
    try:
        for name in ARRAYS:
            np.save(scratch / f"{name}.npy", np.ascontiguousarray(getattr(tables, name)))
        integer_ids = all(isinstance(n, int) for n in tables.node_ids)
        np.save(scratch / "node_ids.npy", np.asarray(tables.node_ids, dtype=np.int64 if integer_ids else str))
        for name in TEXTS:
            np.save(scratch / f"{name}.npy", np.asarray(getattr(tables, name), dtype=str))
        _save_geometry(scratch, tables.geometry)
        if arcs:
            (scratch / "arcs").mkdir()
            for name, values in arcs.items():
                np.save(scratch / "arcs" / f"{name.lstrip('_')}.npy", np.ascontiguousarray(values))
        (scratch / "meta.json").write_text(json.dumps({
            "format": FORMAT, "nodes": len(tables.node_ids), "edges": len(tables.u),
            "integer_node_ids": integer_ids}))
        try:
            os.rename(scratch, folder)
        except OSError:  # another process finished first: its copy is the same network
            shutil.rmtree(scratch, ignore_errors=True)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return folder


def load(folder: Path) -> NetworkTables:
    """The tables stored under ``folder``, numeric columns memory-mapped read-only."""
    folder = Path(folder)
    meta = json.loads((folder / "meta.json").read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(f"{folder}: graph format {meta.get('format')}, expected {FORMAT}")
    arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in ARRAYS}
    texts = {name: np.load(folder / f"{name}.npy").tolist() for name in TEXTS}
    return NetworkTables(node_ids=np.load(folder / "node_ids.npy").tolist(), **arrays, **texts,
                         geometry=_load_geometry(folder, meta["edges"]))


def load_arcs(folder: Path) -> dict[str, np.ndarray] | None:
    """The stored derived arrays of the graph, memory-mapped read-only (None if not stored)."""
    arcs = Path(folder) / "arcs"
    if not arcs.is_dir():
        return None
    return {f"_{path.stem}": np.load(path, mmap_mode="r") for path in arcs.glob("*.npy")}


def is_stored(folder: Path) -> bool:
    return (Path(folder) / "meta.json").exists()


def _save_geometry(folder: Path, geometry: list) -> None:
    """Interior vertices of curved edges as one coordinate array with per-edge offsets."""
    lengths = np.array([0 if g is None else len(g) for g in geometry], dtype=np.int64)
    if not lengths.any():
        return
    coords = np.array([xy for g in geometry if g for xy in g], dtype=np.float64).reshape(-1, 2)
    np.save(folder / "geometry_offsets.npy", np.concatenate([[0], np.cumsum(lengths)]))
    np.save(folder / "geometry_coords.npy", coords)
    np.save(folder / "geometry_present.npy", np.array([g is not None for g in geometry]))


def _load_geometry(folder: Path, edges: int) -> list:
    if not (folder / "geometry_offsets.npy").exists():
        return [None] * edges
    offsets = np.load(folder / "geometry_offsets.npy")
    coords = np.load(folder / "geometry_coords.npy", mmap_mode="r")
    present = np.load(folder / "geometry_present.npy")
    return [[tuple(xy) for xy in coords[offsets[i]:offsets[i + 1]].tolist()] if present[i] else None
            for i in range(edges)]

"""Distances between places given as latitude and longitude (degrees)."""

from __future__ import annotations

import math

EARTH_RADIUS_MI = 3958.7613  # the mean Earth radius (IUGG), in statute miles


def great_circle_miles(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The haversine distance: accurate to well under a mile at a clinic's scale, and
    ZIP centroids are coarser than that anyway."""
    lat1, lon1 = map(math.radians, a)
    lat2, lon2 = map(math.radians, b)
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_MI * math.asin(min(1.0, math.sqrt(h)))


def distance_band(distance_mi: float | None, edges: tuple[float, ...]) -> str:
    """ "0-15", "15-30", "30-60", "60+" for edges (15, 30, 60); "unknown" without a distance.
    A distance on an edge falls in the lower band (15 miles is "0-15")."""
    if distance_mi is None:
        return "unknown"
    lower = 0.0
    for edge in edges:
        if distance_mi <= edge:
            return f"{lower:g}-{edge:g}"
        lower = edge
    return f"{lower:g}+"


def band_names(edges: tuple[float, ...]) -> tuple[str, ...]:
    lows = (0.0, *edges[:-1])
    return (
        *(f"{lo:g}-{hi:g}" for lo, hi in zip(lows, edges, strict=True)),
        f"{edges[-1]:g}+",
        "unknown",
    )

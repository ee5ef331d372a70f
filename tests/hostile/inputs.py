"""What the hostile tests share: a port of their own on 127.0.0.1 and the deep GeoJSON."""

from __future__ import annotations

import socket


def free_port(ports: range) -> int:
    """The first port of ``ports`` free on 127.0.0.1 (each module keeps its own range, so
    that servers of tests running side by side do not meet)."""
    for port in ports:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")


def geojson_nested(depth: int) -> bytes:
    """A one-feature GeoJSON whose property ``x`` nests ``depth`` empty lists."""
    return (
        b'{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": '
        b'{"type": "Point", "coordinates": [108.05, 12.66]}, "properties": {"x": '
        + b"[" * depth
        + b"]" * depth
        + b"}}]}"
    )

"""Smooth random fields over the scenario's box: shadowing, highlands and valleys.

Places are handled in a local flat frame (x east, y north, in km from the box's south-west
corner, equirectangular at the box's mid latitude). Over a box of about 150 km the distortion
is under 1 %, far below what the propagation models resolve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# Metres per degree of latitude near 12.5 N (WGS84 meridian arc), and of longitude at the
# equator; longitude degrees shrink with cos(latitude).
KM_PER_DEG_LAT = 110.6
KM_PER_DEG_LON_EQUATOR = 111.32


@dataclass(frozen=True)
class Box:
    """A latitude/longitude rectangle (WGS84 degrees) with a flat km frame for distances."""

    south: float
    west: float
    north: float
    east: float

    @property
    def km_per_deg_lon(self) -> float:
        """Kilometres per degree of longitude at the box's mid latitude."""
        return KM_PER_DEG_LON_EQUATOR * math.cos(math.radians((self.south + self.north) / 2))

    @property
    def width_km(self) -> float:
        """East-west extent, km."""
        return (self.east - self.west) * self.km_per_deg_lon

    @property
    def height_km(self) -> float:
        """North-south extent, km."""
        return (self.north - self.south) * KM_PER_DEG_LAT

    @property
    def area_km2(self) -> float:
        """Area, km² (flat frame)."""
        return self.width_km * self.height_km

    def to_xy(self, lat: FloatArray, lon: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Degrees to the local frame, km east and km north of the south-west corner."""
        x = (np.asarray(lon, dtype=np.float64) - self.west) * self.km_per_deg_lon
        y = (np.asarray(lat, dtype=np.float64) - self.south) * KM_PER_DEG_LAT
        return x, y

    def to_latlon(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """The local frame (km) back to latitude and longitude, degrees."""
        lat = self.south + np.asarray(y, dtype=np.float64) / KM_PER_DEG_LAT
        lon = self.west + np.asarray(x, dtype=np.float64) / self.km_per_deg_lon
        return lat, lon


class GaussianField:
    """A stationary Gaussian random field with zero mean and unit variance, on the box.

    White noise on a regular grid is filtered in the Fourier domain with a Gaussian kernel,
    which gives a squared-exponential correlation ``exp(-r² / (2 L²))`` with correlation length
    L; the grid is then bilinearly interpolated at any point. This is the usual way to draw
    spatially correlated log-normal shadowing (Gudmundson, Electronics Letters 27(23), 1991,
    measured decorrelation distances of a few hundred metres in suburban and rural macro cells).
    """

    def __init__(
        self, rng: np.random.Generator, box: Box, *, correlation_km: float, step_km: float
    ) -> None:
        self.box = box
        self.step_km = step_km
        # A margin of three correlation lengths keeps the FFT's wrap-around off the box.
        margin = 3.0 * correlation_km
        nx = int(math.ceil((box.width_km + 2 * margin) / step_km)) + 2
        ny = int(math.ceil((box.height_km + 2 * margin) / step_km)) + 2
        self._x0 = -margin
        self._y0 = -margin
        noise = rng.standard_normal((ny, nx))
        kx = np.fft.fftfreq(nx, d=step_km)
        ky = np.fft.fftfreq(ny, d=step_km)
        # Fourier transform of a Gaussian kernel with sd L/sqrt(2) (so that the smoothed white
        # noise has correlation exp(-r²/(2L²))): exp(-pi² L² k²).
        filt = np.exp(-(math.pi**2) * correlation_km**2 * (ky[:, None] ** 2 + kx[None, :] ** 2))
        smooth = np.fft.ifft2(np.fft.fft2(noise) * filt).real
        self._grid = (smooth - smooth.mean()) / smooth.std()

    def at_xy(self, x: FloatArray, y: FloatArray) -> FloatArray:
        """Field values at points of the local frame (km), bilinearly interpolated."""
        gx = (np.asarray(x) - self._x0) / self.step_km
        gy = (np.asarray(y) - self._y0) / self.step_km
        ny, nx = self._grid.shape
        gx = np.clip(gx, 0.0, nx - 1.000001)
        gy = np.clip(gy, 0.0, ny - 1.000001)
        ix = gx.astype(np.int64)
        iy = gy.astype(np.int64)
        fx = gx - ix
        fy = gy - iy
        g = self._grid
        top = g[iy, ix] * (1 - fx) + g[iy, ix + 1] * fx
        bottom = g[iy + 1, ix] * (1 - fx) + g[iy + 1, ix + 1] * fx
        return np.asarray(top * (1 - fy) + bottom * fy, dtype=np.float64)


@dataclass(frozen=True)
class Valley:
    """An elongated zone where terrain blocks the signal: a segment with a Gaussian profile.

    ``depth_db`` is the extra loss on the axis; it falls off as ``exp(-(r/width)²)`` with r
    the distance to the segment, so the loss is under 2 % of the depth at twice the width.
    Coordinates are in the local frame, km.
    """

    x0: float
    y0: float
    x1: float
    y1: float
    width_km: float
    depth_db: float

    def distance_km(self, x: FloatArray, y: FloatArray) -> FloatArray:
        """Distance from points of the local frame to the valley's axis, km."""
        dx = self.x1 - self.x0
        dy = self.y1 - self.y0
        length2 = dx * dx + dy * dy
        t = np.clip(
            ((np.asarray(x) - self.x0) * dx + (np.asarray(y) - self.y0) * dy) / length2, 0, 1
        )
        return np.asarray(
            np.hypot(x - (self.x0 + t * dx), y - (self.y0 + t * dy)), dtype=np.float64
        )

    def loss_db(self, x: FloatArray, y: FloatArray) -> FloatArray:
        """Extra loss at points of the local frame, dB (0 far away, ``depth_db`` on the axis)."""
        r = self.distance_km(x, y)
        return np.asarray(self.depth_db * np.exp(-((r / self.width_km) ** 2)), dtype=np.float64)


def valleys_loss_db(valleys: list[Valley], x: FloatArray, y: FloatArray) -> FloatArray:
    """Total valley loss at points of the local frame, dB; overlapping valleys do not add up
    beyond the deepest one (a phone behind two ridges is not twice as blocked)."""
    out = np.zeros(np.shape(x), dtype=np.float64)
    for valley in valleys:
        np.maximum(out, valley.loss_db(x, y), out=out)
    return out


def normal_to_unit(z: FloatArray) -> FloatArray:
    """Map a unit Gaussian field to 0..1, keeping its ranks: an index such as "how highland".

    A logistic curve with slope 1.7 stays within 0.01 of the normal CDF (Bowling et al.,
    J. Industrial Engineering and Management 2(1), 2009), without needing scipy.
    """
    return np.asarray(1.0 / (1.0 + np.exp(-1.7 * np.asarray(z))), dtype=np.float64)

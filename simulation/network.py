"""The operators' sites and the signal field they make over the grid.

Sites are omnidirectional (one cell per radio per site): sectors would change which cell
serves a phone but hardly where the coverage edge lies, and the edge is what deadzone measures.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from domain.propagation import hata_terms_db, lte_rsrp_eirp_dbm, nr_ss_rsrp_eirp_dbm
from domain.radio import NR_BAND_MHZ, NR_BANDWIDTH_MHZ, Radio, operator_code
from simulation.areas import Areas, footprint_km, nearest
from simulation.terrain import Box, Valley

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MCC_VIETNAM = 452
HANDSET_HEIGHT_M = 1.5  # Hata's reference handset height, metres

# Typical macro site (DESIGN.md "Planning helpers"): 46 dBm per LTE carrier behind a ~15 dBi
# antenna. UMTS: 43 dBm power amplifier with 10 % of it (33 dBm) on the pilot channel CPICH,
# which is what RSCP measures (Holma & Toskala, "WCDMA for UMTS", ch. 8 planning examples).
# GSM: 43 dBm (20 W) on the BCCH carrier, which the RSSI of an idle phone measures.
LTE_CARRIER_DBM = 46.0
UMTS_CPICH_DBM = 33.0
GSM_BCCH_DBM = 43.0
ANTENNA_GAIN_DBI = 15.0
# NR (5G) in towns: a massive-MIMO active antenna of 200 W (53 dBm) over 100 MHz, whose
# synchronisation beams add about 24 dBi (vendors' 64T64R 3.5 GHz units: 200-320 W, beam gain
# 24-25 dBi); 273 resource blocks at 30 kHz spacing (3GPP TS 38.104 table 5.3.2-1).
NR_CARRIER_DBM = 53.0
NR_ANTENNA_GAIN_DBI = 24.0
NR_RESOURCE_BLOCKS = 273

# Beyond this distance a site serves nobody: GSM's timing advance stops at 35 km (63 steps of
# 553.5 m, 3GPP TS 45.010) and the radio horizon of a 30-60 m mast seen from 1.5 m is 28-37 km
# (4.12 (sqrt(hb) + sqrt(hm)) km with the 4/3 earth radius).
MAX_RANGE_KM = 35.0

# Extra loss in hilly highland terrain, up to this many dB where the highland index is 1:
# Hata's formula assumes quasi-smooth terrain, and Okumura's rolling-hills correction reaches
# 10-15 dB for terrain undulation of 100-200 m (Okumura et al., Rev. Elec. Comm. Lab. 16, 1968).
HIGHLAND_LOSS_DB = 14.0

# Loss around the phone that Hata's open-area fit leaves out, dB, everywhere: coffee and rubber
# plantations and village trees (ITU-R P.833 vegetation attenuation, several dB per tens of
# metres of foliage at 900-2100 MHz) and phones used indoors part of the time (3GPP TR 38.901
# low-loss outdoor-to-indoor model, about 10-15 dB). A single figure, because the truth is
# what phones measure where people are.
CLUTTER_LOSS_DB = 10.0

# EARFCN / UARFCN / ARFCN chosen inside each band's downlink range (3GPP TS 36.101 table 5.7.3-1,
# TS 25.101 table 5.2, TS 45.005 §2): band 28 (700), band 8 (900), band 3 (1800), band 1 (2100).
LTE_EARFCN = {700: 9360, 900: 3550, 1800: 1650, 2100: 300}
LTE_BANDWIDTH_MHZ = {700: 10.0, 900: 10.0, 1800: 20.0, 2100: 20.0}
UMTS_UARFCN = 10700
UMTS_BAND_MHZ = 2100
GSM_BAND_MHZ = 900


def nr_arfcn(f_mhz: float) -> int:
    """NR-ARFCN of a frequency (3GPP TS 38.104 §5.4.2.1): 5 kHz steps up to 3 GHz, then
    15 kHz steps from 600000."""
    if f_mhz < 3000:
        return int(round(f_mhz * 1000 / 5))
    return 600_000 + int(round((f_mhz - 3000) * 1000 / 15))


@dataclass(frozen=True)
class OperatorProfile:
    """How one operator builds its network in the simulation.

    ``share`` is its share of residents' SIMs (roughly Vietnam's subscriber shares: Viettel
    about half, VinaPhone and MobiFone about a fifth each, Vietnamobile a few percent).
    ``village_site_p`` is the chance it has a site at a village of 1,500 people or more,
    ``fill_per_1000km2`` its rural coverage sites per 1,000 km² of lowland, ``gaps`` how many
    areas it leaves uncovered on purpose, and ``umts``/``gsm`` the share of its sites with a
    3G or 2G carrier.
    """

    mnc: int
    share: float
    village_site_p: float
    min_village: int
    fill_per_1000km2: float
    gaps: int
    umts: float
    gsm: float
    lte_bands: tuple[tuple[int, float], ...]
    nr_band_mhz: int | None = None

    def runs(self, radio: Radio) -> bool:
        """Whether the operator has this radio at all (its users may then camp on it)."""
        return {
            Radio.LTE: True,
            Radio.UMTS: self.umts > 0,
            Radio.GSM: self.gsm > 0,
            Radio.NR: self.nr_band_mhz is not None,
        }[radio]

    @property
    def code(self) -> str:
        """The operator key, e.g. ``452-04``."""
        return operator_code(MCC_VIETNAM, self.mnc)


# Site counts are tuned so that, with the losses below, each operator's LTE leaves roughly
# 5-25 % of the land below 1 bar, mostly in highlands, valleys and its gaps. Vietnam in 2026
# (DESIGN.md, ``domain.radio``): no 2G on land since 16 September 2024 (``gsm`` 0), LTE on
# every site, 3G on a remnant of the sites, 5G in the towns on each licensee's block; Viettel
# rolls out its 700 MHz block (2025) on rural sites. Vietnamobile runs LTE only.
OPERATORS: tuple[OperatorProfile, ...] = (
    OperatorProfile(
        4, 0.52, 0.9, 800, 18.0, 1, 0.3, 0.0, ((900, 0.3), (1800, 0.45), (700, 0.25)),
        NR_BAND_MHZ["452-04"],
    ),
    OperatorProfile(
        2, 0.21, 0.65, 1200, 14.0, 2, 0.3, 0.0, ((900, 0.3), (1800, 0.5), (2100, 0.2)),
        NR_BAND_MHZ["452-02"],
    ),
    OperatorProfile(
        1, 0.21, 0.65, 1200, 13.0, 2, 0.3, 0.0, ((900, 0.3), (1800, 0.5), (2100, 0.2)),
        NR_BAND_MHZ["452-01"],
    ),
    OperatorProfile(5, 0.06, 0.3, 5000, 2.0, 1, 0.0, 0.0, ((1800, 1.0),)),
)  # fmt: skip


@dataclass(frozen=True)
class Gap:
    """A disc an operator leaves without sites (km frame)."""

    operator: str
    x: float
    y: float
    radius_km: float


def place_sites(
    rng: np.random.Generator,
    box: Box,
    areas: Areas,
    *,
    highland: Callable[[FloatArray, FloatArray], FloatArray],
    valleys: list[Valley],
    density_scale: float,
    gap_radius_km: tuple[float, float],
    operators: tuple[OperatorProfile, ...] = OPERATORS,
) -> tuple[pd.DataFrame, list[Gap]]:
    """Sites of every operator, one row per transmitter (site x radio); see ``SITE_COLUMNS``.

    Sites go to villages and towns (one per 8,000 people in towns), along provincial roads,
    and as rural fill whose density falls with the highland index. Each operator leaves
    ``gaps`` discs (radius drawn in ``gap_radius_km``) empty, and nobody builds in a valley
    bottom (sites stand on ridges, which is why valleys are dark).
    """
    rows: list[dict[str, object]] = []
    gaps: list[Gap] = []
    site_id = 0
    pop = areas.village_population
    village_highland = highland(areas.village_x, areas.village_y)
    # One extra round of gaps per 5,000 km², so a province has as many holes per area as a
    # small box has.
    gap_rounds = 1 + int(box.area_km2 // 5000)
    for op in operators:
        xs: list[float] = []
        ys: list[float] = []
        in_town: list[bool] = []
        for v in range(pop.size):
            kind = areas.village_kind[v]
            if kind == "town":
                r = footprint_km(int(pop[v]), kind)
                n = max(1, int(round(pop[v] / 8000 * (0.5 + op.share))))
                for _ in range(n):
                    a = rng.uniform(0, 2 * math.pi)
                    d = r * math.sqrt(rng.random())
                    xs.append(areas.village_x[v] + d * math.cos(a))
                    ys.append(areas.village_y[v] + d * math.sin(a))
                    in_town.append(True)
            elif pop[v] >= op.min_village and rng.random() < op.village_site_p * (
                1.0 - 0.85 * float(village_highland[v])
            ):
                # Highland villages get a site far less often: long backhaul, hard access and
                # few subscribers, which is where Vietnam's remaining dead villages are.
                xs.append(areas.village_x[v] + rng.normal(0, 0.3))
                ys.append(areas.village_y[v] + rng.normal(0, 0.3))
                in_town.append(False)
        # Along provincial roads, about every 10 km (operators chase traffic on main roads).
        for k, kind in enumerate(areas.road_kind):
            if kind != "provincial":
                continue
            a, b = int(areas.road_from[k]), int(areas.road_to[k])
            length = math.hypot(
                areas.village_x[b] - areas.village_x[a], areas.village_y[b] - areas.village_y[a]
            )
            for t in np.arange(5.0, length - 3.0, 10.0) / max(length, 1e-9):
                if rng.random() < 0.4 + op.share:
                    xs.append(areas.village_x[a] + t * (areas.village_x[b] - areas.village_x[a]))
                    ys.append(areas.village_y[a] + t * (areas.village_y[b] - areas.village_y[a]))
                    in_town.append(False)
        # Rural fill, thinned in the highlands (acceptance (1 - h)²).
        n_fill = rng.poisson(op.fill_per_1000km2 * density_scale * box.area_km2 / 1000)
        fx = rng.uniform(0, box.width_km, n_fill)
        fy = rng.uniform(0, box.height_km, n_fill)
        keep = rng.random(n_fill) < (1 - highland(fx, fy)) ** 2
        xs += list(fx[keep])
        ys += list(fy[keep])
        in_town += [False] * int(keep.sum())

        sx = np.clip(np.array(xs), 0.0, box.width_km)
        sy = np.clip(np.array(ys), 0.0, box.height_km)
        keep = np.ones(sx.size, dtype=bool)
        for _ in range(op.gaps * gap_rounds):
            # A gap is centred on a village outside the towns, so that it leaves people dark.
            candidates = [
                v for v in range(pop.size) if areas.village_kind[v] in ("village", "remote")
            ]
            v = candidates[int(rng.integers(len(candidates)))]
            gap = Gap(
                op.code,
                float(areas.village_x[v]),
                float(areas.village_y[v]),
                float(rng.uniform(*gap_radius_km)),
            )
            gaps.append(gap)
            keep &= np.hypot(sx - gap.x, sy - gap.y) > gap.radius_km
        for valley in valleys:
            keep &= valley.distance_km(sx, sy) > 1.5 * valley.width_km
        sx, sy = sx[keep], sy[keep]
        town = np.array(in_town, dtype=bool)[keep]
        lat, lon = box.to_latlon(sx, sy)
        # One tracking/location area per commune: the area code is the commune's row + 1.
        area_codes = nearest(sx, sy, areas.commune_seat_x, areas.commune_seat_y) + 1
        bands = np.array([b for b, _ in op.lte_bands])
        band_p = np.array([p for _, p in op.lte_bands])
        for i in range(sx.size):
            site_id += 1
            rows += site_transmitters(
                rng,
                op,
                site_id,
                float(lat[i]),
                float(lon[i]),
                lte_band=int(rng.choice(bands, p=band_p / band_p.sum())),
                height_m=float(rng.uniform(30.0, 60.0)),
                area_code=int(area_codes[i]),
                nr=bool(town[i]),
            )
    table = pd.DataFrame(rows, columns=list(SITE_COLUMNS))
    table["built_at"] = pd.to_datetime(table["built_at"], utc=True).astype("datetime64[us, UTC]")
    return table, gaps


SITE_COLUMNS: dict[str, str] = {
    "site_id": "int: site number, shared by the transmitters of one mast",
    "operator": "str: operator key MCC-MNC, e.g. 452-04",
    "mcc": "int: mobile country code (452)",
    "mnc": "int: mobile network code",
    "radio": "str: gsm, umts, lte or nr",
    "band_mhz": "int: carrier frequency band, MHz (LTE 700, 900, 1800, 2100; UMTS 2100; "
    "NR the centre of the operator's 5G block, 2550, 3750 or 3850)",
    "lat": "float: latitude, WGS84 degrees",
    "lon": "float: longitude, WGS84 degrees",
    "height_m": "float: antenna height above ground, metres (30-60)",
    "power_dbm": "float: power of the measured channel at the antenna port, dBm "
    "(LTE, NR: whole carrier; UMTS: CPICH; GSM: BCCH)",
    "antenna_gain_dbi": "float: antenna gain, dBi",
    "eirp_dbm": "float: power_dbm + antenna_gain_dbi, dBm",
    "reference_eirp_dbm": "float: EIRP of what the phone's metric measures, dBm (LTE, NR: one "
    "resource element, for RSRP / SS-RSRP; UMTS: CPICH; GSM: BCCH)",
    "bandwidth_mhz": "float: carrier bandwidth, MHz",
    "area_code": "int: LAC/TAC",
    "cell_id": "int: cell identity (NR NCI = gNB id x 4096 + 1, LTE ECI = eNB id x 256 + 1, "
    "UMTS UC-Id, GSM CI)",
    "pci": "int: NR/LTE PCI or UMTS primary scrambling code; -1 for GSM",
    "arfcn": "int: NR-ARFCN, EARFCN, UARFCN or ARFCN",
    "built_at": "datetime64[us, UTC]: when the site went on air; NaT = before the window",
}


def site_transmitters(
    rng: np.random.Generator,
    op: OperatorProfile,
    site_id: int,
    lat: float,
    lon: float,
    *,
    lte_band: int,
    height_m: float,
    area_code: int,
    built_at: pd.Timestamp | None = None,
    nr: bool = False,
) -> list[dict[str, object]]:
    """The transmitter rows of one site: always LTE, 3G/2G as the operator's mix draws, and
    NR on the operator's 5G block where ``nr`` (town sites) and the operator has one."""
    common = {
        "site_id": site_id,
        "operator": op.code,
        "mcc": MCC_VIETNAM,
        "mnc": op.mnc,
        "lat": lat,
        "lon": lon,
        "height_m": round(height_m, 1),
        "antenna_gain_dbi": ANTENNA_GAIN_DBI,
        "area_code": area_code,
        "built_at": built_at if built_at is not None else pd.NaT,
    }
    bw = LTE_BANDWIDTH_MHZ[lte_band]
    out: list[dict[str, object]] = [
        common
        | {
            "radio": Radio.LTE.value,
            "band_mhz": lte_band,
            "power_dbm": LTE_CARRIER_DBM,
            "eirp_dbm": LTE_CARRIER_DBM + ANTENNA_GAIN_DBI,
            "reference_eirp_dbm": round(
                lte_rsrp_eirp_dbm(LTE_CARRIER_DBM, ANTENNA_GAIN_DBI, bw), 2
            ),
            "bandwidth_mhz": bw,
            "cell_id": (100_000 + site_id) * 256 + 1,
            "pci": site_id % 504,
            "arfcn": LTE_EARFCN[lte_band],
        }
    ]
    if nr and op.nr_band_mhz is not None:
        out.append(
            common
            | {
                "radio": Radio.NR.value,
                "band_mhz": op.nr_band_mhz,
                "power_dbm": NR_CARRIER_DBM,
                "eirp_dbm": NR_CARRIER_DBM + NR_ANTENNA_GAIN_DBI,
                "antenna_gain_dbi": NR_ANTENNA_GAIN_DBI,
                "reference_eirp_dbm": round(
                    nr_ss_rsrp_eirp_dbm(NR_CARRIER_DBM, NR_ANTENNA_GAIN_DBI, NR_RESOURCE_BLOCKS),
                    2,
                ),
                "bandwidth_mhz": NR_BANDWIDTH_MHZ,
                "cell_id": (200_000 + site_id) * 4096 + 1,
                "pci": site_id % 1008,
                "arfcn": nr_arfcn(op.nr_band_mhz),
            }
        )
    if rng.random() < op.umts:
        out.append(
            common
            | {
                "radio": Radio.UMTS.value,
                "band_mhz": UMTS_BAND_MHZ,
                "power_dbm": UMTS_CPICH_DBM,
                "eirp_dbm": UMTS_CPICH_DBM + ANTENNA_GAIN_DBI,
                "reference_eirp_dbm": UMTS_CPICH_DBM + ANTENNA_GAIN_DBI,
                "bandwidth_mhz": 5.0,
                "cell_id": (site_id % 4096) * 65536 + 1,
                "pci": site_id % 512,
                "arfcn": UMTS_UARFCN,
            }
        )
    if rng.random() < op.gsm:
        out.append(
            common
            | {
                "radio": Radio.GSM.value,
                "band_mhz": GSM_BAND_MHZ,
                "power_dbm": GSM_BCCH_DBM,
                "eirp_dbm": GSM_BCCH_DBM + ANTENNA_GAIN_DBI,
                "reference_eirp_dbm": GSM_BCCH_DBM + ANTENNA_GAIN_DBI,
                "bandwidth_mhz": 0.2,
                "cell_id": site_id % 65536,
                "pci": -1,
                "arfcn": int(rng.integers(1, 125)),
            }
        )
    return out


def best_server_dbm(
    box: Box, transmitters: pd.DataFrame, x: FloatArray, y: FloatArray, *, tile_km: float = 8.0
) -> tuple[FloatArray, IntArray]:
    """Strongest median received power at each point and which transmitter gives it.

    Median power = reference EIRP - rural Hata/COST-231 loss (``hata_terms_db``), from the
    transmitters within ``MAX_RANGE_KM``; returns dBm (-inf where none is in range) and the
    row position in ``transmitters`` (-1 where none). Points are processed in square tiles of
    ``tile_km`` so that each tile only meets the transmitters that can reach it.
    """
    best = np.full(x.size, -np.inf)
    server = np.full(x.size, -1, dtype=np.int64)
    if transmitters.empty:
        return best, server
    tx, ty = box.to_xy(transmitters["lat"].to_numpy(), transmitters["lon"].to_numpy())
    terms = [
        hata_terms_db(float(f), float(h), HANDSET_HEIGHT_M)
        for f, h in zip(transmitters["band_mhz"], transmitters["height_m"], strict=True)
    ]
    base = transmitters["reference_eirp_dbm"].to_numpy() - np.array([t[0] for t in terms])
    slope = np.array([t[1] for t in terms])
    tile = np.floor(x / tile_km).astype(np.int64) * 100_000 + np.floor(y / tile_km).astype(np.int64)
    order = np.argsort(tile, kind="stable")
    bounds = np.flatnonzero(np.diff(tile[order])) + 1
    for rows in np.split(order, bounds):
        cx, cy = x[rows], y[rows]
        near = (
            (tx > cx.min() - MAX_RANGE_KM)
            & (tx < cx.max() + MAX_RANGE_KM)
            & (ty > cy.min() - MAX_RANGE_KM)
            & (ty < cy.max() + MAX_RANGE_KM)
        )
        idx = np.flatnonzero(near)
        if idx.size == 0:
            continue
        d2 = (cx[:, None] - tx[None, idx]) ** 2 + (cy[:, None] - ty[None, idx]) ** 2
        # 0.5 log10(d²) = log10(d); distances under 1 km hold the 1 km loss (see propagation).
        log_d = 0.5 * np.log10(np.maximum(d2, 1.0))
        power = base[None, idx] - slope[None, idx] * log_d
        power[d2 > MAX_RANGE_KM**2] = -np.inf
        j = np.argmax(power, axis=1)
        got = power[np.arange(rows.size), j]
        best[rows] = got
        server[rows] = np.where(np.isfinite(got), idx[j], -1)
    return best, server

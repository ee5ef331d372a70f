"""Place names for the simulated province, in the style of Đắk Lắk's.

Commune names there mix Vietnamese (Hòa Thắng, Tân An) with Ê Đê and M'nông words (Ea "water,
stream", Cư "mountain", Krông "river", Buôn/Bon "village", Đắk "water" in M'nông). Villages are
"Thôn" plus a number or a Vietnamese name in Kinh settlements, and "Buôn" (Ê Đê) or "Bon"
(M'nông) plus a name in indigenous ones. The lists below only aim at plausible shapes, which is
what a map's labels, search and escaping need; they are not a gazetteer.
"""

from __future__ import annotations

import numpy as np

# Names the maps must escape correctly: an apostrophe (real names have them, e.g. Cư M'gar),
# an ampersand, and a hostile string that would run script if a map inserted it as HTML.
TRICKY_COMMUNE_NAMES: tuple[str, ...] = (
    "Xã Cư M'gar",
    "Xã Hòa Phú & Hòa Xuân",
    "<img src=x onerror=alert(1)>",
)

_COMMUNE_FIRST = (
    "Ea",
    "Cư",
    "Krông",
    "Đắk",
    "Hòa",
    "Tân",
    "Ia",
    "Yang",
    "Dray",
    "Buôn",
    "Ea H'",
    "Cư Ê",
)
_COMMUNE_SECOND = (
    "Kao",
    "Tu",
    "Bông",
    "Nuôl",
    "Phê",
    "Sin",
    "Pok",
    "Drông",
    "Wer",
    "Tih",
    "Lê",
    "Rốk",
    "Knốp",
    "Sar",
    "Huar",
    "Đôn",
    "Kênh",
    "Bhăng",
    "Tiêu",
    "Kly",
    "Pắc",
    "Yông",
    "Mút",
    "Ktur",
    "Thắng",
    "Phú",
    "Xuân",
    "Lập",
    "An",
    "Hiệp",
    "Bar",
    "Wy",
    "Sô",
    "Hleo",
    "Nam",
    "Tân",
)
_VILLAGE_EDE = (
    "Ko Tam",
    "Ea Sup",
    "Kô Siêr",
    "Ale",
    "Drai",
    "Hra",
    "Bir",
    "Ea Nao",
    "Tơng Jú",
    "M'ghí",
    "Cư Êbur",
    "Kmrơng Prông",
    "Ea Bông",
    "Đung",
    "Jang Lành",
    "Ea Tung",
    "Kram",
    "Alê A",
    "Trấp",
    "Dhăm",
    "Ea Khít",
    "Kdun",
    "Cuôr Đăng",
    "Ea Mdroh",
    "Tơ Lơ",
    "Ea Kmar",
    "Sút",
)
_VILLAGE_MNONG = ("Jun", "Đắk Phơi", "Yang Lah", "Bu Dăng", "Đắk Mil", "Ja Ráh", "Tu Srah")
_VILLAGE_KINH = ("Tân Lập", "Hòa Bình", "Quyết Thắng", "Thống Nhất", "Đoàn Kết", "Tiến Lợi")


def commune_names(rng: np.random.Generator, count: int, *, include_tricky: bool) -> list[str]:
    """``count`` distinct commune names; the tricky ones first when asked for."""
    cores = [
        f"{a} {b}" if not a.endswith("'") else f"{a}{b.lower()}"
        for a in _COMMUNE_FIRST
        for b in _COMMUNE_SECOND
    ]
    order = rng.permutation(len(cores))
    kinds = ("Xã", "Xã", "Xã", "Xã", "Phường", "Thị trấn")
    names = list(TRICKY_COMMUNE_NAMES) if include_tricky else []
    seen = set(names)
    for i in order:
        if len(names) >= count:
            break
        name = f"{kinds[int(i) % len(kinds)]} {cores[int(i)]}"
        if name not in seen:
            seen.add(name)
            names.append(name)
    if len(names) < count:
        # More communes than word pairs: number the rest rather than repeat a name.
        names += [f"Xã Mới {k}" for k in range(1, count - len(names) + 1)]
    return names[:count]


def village_names(rng: np.random.Generator, count: int) -> list[str]:
    """``count`` village names distinct within one commune ("Buôn Ko Tam", "Thôn 3", ...)."""
    names: list[str] = []
    seen: set[str] = set()
    number = 1
    while len(names) < count:
        roll = rng.random()
        if roll < 0.45:
            name = f"Thôn {number}"
            number += 1
        elif roll < 0.80:
            name = f"Buôn {_VILLAGE_EDE[int(rng.integers(len(_VILLAGE_EDE)))]}"
        elif roll < 0.90:
            name = f"Bon {_VILLAGE_MNONG[int(rng.integers(len(_VILLAGE_MNONG)))]}"
        else:
            name = f"Thôn {_VILLAGE_KINH[int(rng.integers(len(_VILLAGE_KINH)))]}"
        if name in seen:
            name = f"Thôn {number}"
            number += 1
        seen.add(name)
        names.append(name)
    return names

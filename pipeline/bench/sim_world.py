"""The simulated drive-in the matching benchmarks share: who is registered, how plates are
drawn, how a read goes wrong.

``match_simulation`` drives cars of this world through the grammar and the matcher,
``match_bound`` derives from the same model what any rule could do, ``match_reads`` and
``match_real_crops`` draw their registered populations from it. The figures are planning
guesses for a drive-in in Offenbach (see ``match_simulation``'s docstring for what they
produce), kept in one place so that the simulation and its bound cannot drift apart.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from pipeline.domain import Account
from pipeline.plate.districts import district_codes
from pipeline.plate.grammar import MAX_CHARS, Plate

# Share of cars by district at a drive-in in Offenbach (a planning guess: Stadt/Kreis Offenbach
# and Frankfurt dominate, then the Rhein-Main Kreise, then a long tail of other codes).
DISTRICT_WEIGHTS: dict[str, float] = {
    "OF": 34.0, "F": 20.0, "HU": 5.0, "MKK": 2.0, "DA": 5.0, "DI": 3.0, "GG": 4.0, "MTK": 4.0,
    "AB": 3.0, "HG": 3.0, "FB": 3.0, "WI": 2.0, "MZ": 1.5, "ERB": 1.0, "HP": 1.0, "GN": 1.0,
    "BÜD": 0.5, "SLÜ": 0.3, "MIL": 0.7, "ALZ": 0.5, "OBB": 0.3, "GI": 0.7, "LDK": 0.5,
}
OTHER_DISTRICTS = 3.0  # per cent drawn uniformly from all other official codes
TWO_CARS = 0.08
REGISTERED_SHARE = 0.8
ERROR_MIX: dict[str, float] = {"clean": 0.55, "one_confusion": 0.15, "two_confusions": 0.07,
                               "dropped": 0.07, "extra": 0.07, "separator": 0.09}
CLASSES = tuple(ERROR_MIX)
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
BANNED_SERIES = {"SS", "SA", "SD", "HJ", "KZ", "NS", "HH"}

# What OCR reads instead of a character, with relative frequency (plate-reading confusions:
# letter/digit shapes, round letters, thin verticals, FE-Schrift W, worn bars, digit blur).
CONFUSIONS: dict[str, tuple[tuple[str, int], ...]] = {
    "O": (("0", 5), ("D", 3), ("Q", 1)), "0": (("O", 5), ("D", 2), ("8", 1)),
    "D": (("O", 3), ("0", 3)), "Q": (("O", 3), ("0", 1)),
    "I": (("1", 5), ("L", 2), ("J", 1), ("T", 1)), "1": (("I", 5), ("7", 2), ("L", 1)),
    "L": (("I", 2), ("1", 1)), "J": (("I", 2), ("1", 1)),
    "B": (("8", 5), ("3", 1), ("R", 1)), "8": (("B", 5), ("3", 2), ("6", 1), ("0", 1)),
    "S": (("5", 5),), "5": (("S", 5), ("6", 1)), "Z": (("2", 5),), "2": (("Z", 5), ("7", 1)),
    "G": (("6", 4), ("C", 2)), "6": (("G", 4), ("8", 1), ("5", 1)), "C": (("G", 2),),
    "W": (("H", 5), ("M", 2)), "H": (("W", 2), ("M", 1), ("N", 1)),
    "M": (("W", 2), ("H", 2), ("N", 2)), "N": (("H", 1), ("M", 2)),
    "E": (("F", 3),), "F": (("E", 3),), "P": (("R", 2),), "R": (("P", 2), ("B", 1)),
    "K": (("X", 2),), "X": (("K", 2),), "U": (("V", 2),), "V": (("U", 2), ("Y", 1)),
    "A": (("4", 2),), "4": (("A", 2),), "T": (("7", 1), ("1", 1)), "7": (("1", 2), ("T", 1)),
    "3": (("8", 2),), "9": (("0", 1), ("8", 1)), "Y": (("V", 1),),
    "Ä": (("A", 5),), "Ö": (("O", 5),), "Ü": (("U", 5),),
}
SPURIOUS = "I1L"  # an edge, a bolt or the seals read as a thin glyph


def pick(rng: random.Random, weighted: dict[str, float]) -> str:
    return rng.choices(list(weighted), weights=list(weighted.values()))[0]


# Cars registered per code (rounded planning figures; codes that share a Kreis split it).
# Together with the share above they fix how densely registered plates fill each code's
# number space, which is what puts an unregistered car next to a registered one.
DISTRICT_CARS: dict[str, int] = {
    "OF": 330_000, "F": 420_000, "HU": 150_000, "MKK": 80_000, "DA": 230_000, "DI": 90_000,
    "GG": 200_000, "MTK": 190_000, "AB": 230_000, "HG": 190_000, "FB": 220_000,
    "WI": 170_000, "MZ": 250_000, "ERB": 75_000, "HP": 190_000, "GN": 60_000, "BÜD": 30_000,
    "SLÜ": 20_000, "MIL": 100_000, "ALZ": 30_000, "OBB": 25_000, "GI": 180_000,
    "LDK": 190_000,
}
OTHER_CARS = 150_000
# Short numbers are issued first and asked for as Wunschkennzeichen: relative to their share
# of the number space, a shape with 1/2/3/4 digits is this much more likely to be on a car
# (until the shape is 90% issued).
DIGIT_BOOST = {1: 20.0, 2: 8.0, 3: 3.0, 4: 1.0}
ONE_LETTER_BOOST = 2.0
MAX_ISSUED = 0.9


def shape_weights(district: str, cars: int) -> dict[tuple[int, int], float]:
    """(letters, digits) -> how many cars of ``district`` carry a plate of that shape: every
    shape filled to the same base fraction times its boost, capped at MAX_ISSUED."""
    sizes = {(n, d): 26 ** n * 9 * 10 ** (d - 1) for n in (1, 2) for d in (1, 2, 3, 4)
             if len(district) + n + d <= MAX_CHARS}
    boost = {k: DIGIT_BOOST[k[1]] * (ONE_LETTER_BOOST if k[0] == 1 else 1.0) for k in sizes}
    lo, hi = 0.0, 1.0
    for _ in range(60):  # bisection on the base fraction so that the shapes hold all cars
        mid = (lo + hi) / 2
        if sum(sizes[k] * min(MAX_ISSUED, boost[k] * mid) for k in sizes) < cars:
            lo = mid
        else:
            hi = mid
    return {k: sizes[k] * min(MAX_ISSUED, boost[k] * hi) for k in sizes}


class PlateSource:
    """Draws realistic plates for the Offenbach/Frankfurt area: a code by DISTRICT_WEIGHTS,
    a shape by how many of that code's cars carry it, then letters and digits uniformly."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        codes = district_codes()
        unknown = [d for d in DISTRICT_WEIGHTS if d not in codes]
        if unknown:
            raise ValueError(f"not official district codes: {unknown}")
        self.others = sorted(codes - set(DISTRICT_WEIGHTS))
        self._shapes: dict[str, tuple[list[tuple[int, int]], list[float]]] = {}

    def district(self) -> str:
        rng = self.rng
        if rng.random() * 100 < OTHER_DISTRICTS:
            return rng.choice(self.others)
        return pick(rng, DISTRICT_WEIGHTS)

    def shapes(self, district: str) -> tuple[list[tuple[int, int]], list[float]]:
        if district not in self._shapes:
            w = shape_weights(district, DISTRICT_CARS.get(district, OTHER_CARS))
            self._shapes[district] = (list(w), list(w.values()))
        return self._shapes[district]

    def letters(self, n: int) -> str:
        while True:
            s = "".join(self.rng.choice(_LETTERS) for _ in range(n))
            if s not in BANNED_SERIES:
                return s

    def digits(self, n: int) -> str:
        return str(self.rng.randint(1, 9)) + "".join(
            str(self.rng.randint(0, 9)) for _ in range(n - 1))

    def plate(self, district: str | None = None, letters: str | None = None) -> Plate:
        rng = self.rng
        district = district or self.district()
        keys, weights = self.shapes(district)
        if letters is None:
            n_letters, n_digits = rng.choices(keys, weights=weights)[0]
            letters = self.letters(n_letters)
        else:
            n_digits = rng.choices([d for n, d in keys if n == len(letters)],
                                   weights=[w for (n, _), w in zip(keys, weights, strict=True)
                                            if n == len(letters)])[0]
        r = rng.random()
        suffix = "E" if r < 0.02 else "H" if r < 0.03 else ""
        if len(district) + len(letters) + n_digits + len(suffix) > MAX_CHARS:
            suffix = ""
        return Plate(district, letters, self.digits(n_digits), suffix)


@dataclass
class World:
    """The registered plates (compact -> customer) and the accounts behind them."""

    owner: dict[str, str] = field(default_factory=dict)
    plates: dict[str, Plate] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)


def build_world(source: PlateSource, n_plates: int) -> World:
    world = World()
    rng = source.rng
    n = 0
    while len(world.owner) < n_plates:
        n += 1
        customer = f"{100000 + n}"
        cars = [source.plate()]
        if rng.random() < TWO_CARS and len(world.owner) + 1 < n_plates:
            first = cars[0]
            same_series = rng.random() < 0.5
            cars.append(source.plate(first.district, first.letters) if same_series
                        else source.plate(first.district if rng.random() < 0.7 else None))
        compacts = tuple(dict.fromkeys(c.compact for c in cars if c.compact not in world.owner))
        if not compacts:
            continue
        for car in cars:
            if car.compact in compacts:
                world.owner[car.compact] = customer
                world.plates[car.compact] = car
        world.accounts[customer] = Account(customer, f"Kunde {customer}", compacts)
    return world


def ocr_text(plate: Plate, rng: random.Random) -> list[str]:
    """The plate as EasyOCR tends to return it, as tokens: usually a gap at the seals and
    between letters and digits, sometimes a hyphen, sometimes nothing."""
    sep1 = rng.choices((" ", "-", ""), weights=(60, 25, 15))[0]
    sep2 = rng.choices((" ", ""), weights=(75, 25))[0]
    return list(plate.district + sep1 + plate.letters + sep2 + plate.digits + plate.suffix)


def _plate_positions(chars: list[str]) -> list[int]:
    return [i for i, c in enumerate(chars) if c not in " -"]


def confuse(chars: list[str], rng: random.Random, times: int,
            pairs: list[tuple[str, str]] | None = None) -> list[str]:
    """Replace ``times`` characters by look-alikes; the (true, read) pairs go to ``pairs``."""
    chars = chars[:]
    spots = [i for i in _plate_positions(chars) if chars[i] in CONFUSIONS]
    for i in rng.sample(spots, min(times, len(spots))):
        alts = CONFUSIONS[chars[i]]
        read = rng.choices([a for a, _ in alts], weights=[w for _, w in alts])[0]
        if pairs is not None:
            pairs.append((chars[i], read))
        chars[i] = read
    return chars


def drop(chars: list[str], rng: random.Random) -> list[str]:
    i = rng.choice(_plate_positions(chars))
    return chars[:i] + chars[i + 1:]


def extra(chars: list[str], rng: random.Random) -> list[str]:
    if rng.random() < 0.5:  # a spurious thin glyph at either edge or at the seals
        i = rng.choice((0, len(chars), next(i for i, c in enumerate(chars) if c in " -")
                        if any(c in " -" for c in chars) else 0))
        return chars[:i] + [rng.choice(SPURIOUS)] + chars[i:]
    i = rng.choice(_plate_positions(chars))  # a glyph read twice
    return chars[:i] + [chars[i]] + chars[i:]


def wrong_separator(plate: Plate, rng: random.Random) -> list[str]:
    """Gaps in the wrong place: the seals' gap shifted by one, the digit gap shifted by one,
    or no gaps at all, so that the grammar has to find the split itself."""
    body = list(plate.compact)
    d, n = len(plate.district), len(plate.letters)
    kind = rng.random()
    if kind < 0.3:
        return body
    cuts = {d, d + n}
    if kind < 0.65:
        cuts.discard(d)
        cuts.add(max(1, d + rng.choice((-1, 1))))
    else:
        cuts.discard(d + n)
        cuts.add(min(len(body) - 1, d + n + rng.choice((-1, 1))))
    out: list[str] = []
    for i, c in enumerate(body):
        if i in cuts and i:
            out.append(" ")
        out.append(c)
    return out


def corrupt(plate: Plate, error: str, rng: random.Random,
            pairs: list[tuple[str, str]] | None = None) -> str:
    chars = ocr_text(plate, rng)
    if error == "one_confusion":
        chars = confuse(chars, rng, 1, pairs)
    elif error == "two_confusions":
        chars = confuse(chars, rng, 2)
    elif error == "dropped":
        chars = drop(chars, rng)
    elif error == "extra":
        chars = extra(chars, rng)
    elif error == "separator":
        chars = wrong_separator(plate, rng)
    return "".join(chars)

"""German vehicle registration district codes (Unterscheidungszeichen).

Source: the official list is Anlage 1 of the Fahrzeug-Zulassungsverordnung (FZV), as published by
the Kraftfahrt-Bundesamt (KBA) as its list of Unterscheidungszeichen. Compiled 2026-11-25.

How it was compiled: written from knowledge of the official list (all codes currently issued plus
the old codes re-introduced under the Kennzeichenliberalisierung since November 2012), then
cross-checked for completeness against public derived material (a JSON export of the German
Wikipedia "Liste der Kfz-Kennzeichen in Deutschland" and the city list of the open-source
licenseplate-checker project). Disagreements were resolved in favour of the official list; no
third-party file was copied. Names and state assignments are our own wording.

Data file ``data/districts_de.csv``: UTF-8, header ``code,name,state``, one row per code, sorted by
code in plain Unicode code-point order (so umlaut codes such as ``AÖ`` sort after ``AZE``);
``state`` is the two-letter Land abbreviation (BW, BY, BE, BB, HB, HH, HE, MV, NI, NW, RP, SL, SN,
ST, SH, TH).

Doubtful codes:
- ``BK`` is shared by Backnang (Rems-Murr-Kreis, BW) and the Landkreis Börde (ST); one row,
  state BW.
- ``BÖ``, ``APD``, ``MY``, ``OTW``, ``SY``, ``WG``, ``WZ``, ``LF`` are re-introduced old codes that
  are assignable but rarely seen; included.
- Left out because, as far as we know, they are not (or no longer) assignable although they appear
  in older lists: ``AR``, ``BRI``, ``MES``, ``BEL``, ``EHI``, ``GEM``, ``KAR``, ``LOH``, ``MAR``,
  ``GRS``, ``OR``, ``JÜT``, ``LUK``, ``ALS``, ``LAT``, ``HÜN``, ``LS``, ``ISL``, ``MÜN``, ``OVP``,
  ``SNH``, ``BU``, ``NRÜ``, ``SPR``, ``SFA``. Re-check these against the current KBA list.
- ``HÖX`` is not a code: Höxter is ``HX``.
"""

import csv
import functools
from importlib import resources

# Intentionally left out: special series that are not district codes for ordinary registrations.
#   Y    Bundeswehr
#   X    NATO forces
#   0    diplomatic corps (0 followed by digits)
#   BD   Bundestag, Bundesrat, federal government and federal authorities
#   BG   Bundesgrenzschutz (historic; today BP)
#   BP   Bundespolizei
#   BW   Wasserstraßen- und Schifffahrtsverwaltung des Bundes
#   THW  Technisches Hilfswerk
#   Land government/police series: BBL, BWL, BYL, HEL, LSA, LSN, MVL, NL, NRW, RPL, SAL, SH, THL

_DATA_FILE = "districts_de.csv"


@functools.lru_cache(maxsize=1)
def load_districts() -> dict[str, str]:
    """Return the mapping district code -> district/city name (cached; do not mutate)."""
    data = resources.files("pipeline.plate") / "data" / _DATA_FILE
    with data.open("r", encoding="utf-8", newline="") as handle:
        return {row["code"]: row["name"] for row in csv.DictReader(handle)}


def district_codes() -> frozenset[str]:
    """Return the set of all valid district codes."""
    return frozenset(load_districts())

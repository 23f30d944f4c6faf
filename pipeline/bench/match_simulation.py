"""Simulation benchmark for fuzzy matching: how often would a misread check in the wrong customer?

    python -m pipeline.bench.match_simulation [--plates 22000] [--passages 100000] [--seed 2]
                                              [--frames 3-10] [--each-read] [--json] [--sweep]
                                              [--rule likelihood|cost] [--bound-samples N]
                                              [--calibration [--oracle]]

Registered plates are drawn for a drive-in in Offenbach: districts in rough proportion to how
many cars from each come to a utility there (OF and F most, then the neighbouring Kreise,
3% any other code), then a shape (1-2 letters, 1-4 digits) by how many of that code's cars
carry it: every plate is one real car, so short numbers, though popular, are few
(``shape_weights``); no leading zero, at most 8 characters, 2% E, 1% H. 8% of customers have
a second car, half of those in the same letter series.
Passages are 80% registered cars and 20% unregistered ones drawn from the *same* distribution,
so many unregistered plates are one confusion away from a registered one. Each read is OCR
text with separators as EasyOCR gives them, then an error class is applied, then it goes
through the real grammar (``parse_plate`` with the official districts) and the matcher:

- ``clean``: read right; ``one_confusion`` / ``two_confusions``: characters replaced by a
  look-alike from an OCR confusion table (letter/digit shapes, O/D/Q, I/L/J, W/H, E/F, digit
  blur ...); ``dropped`` / ``extra``: a character lost, or a spurious one (edge, bolt, doubled
  glyph); ``separator``: the gap between district and letters or letters and digits in the
  wrong place or missing, so the grammar may split the plate differently.

With ``--frames MIN-MAX`` (default 3-10) each car is read that many times: the error above is
in *every* read (dirt, a font the recogniser gets wrong, a bent plate), and each read also has
an error of its own at 30% (``FRAME_ERROR``). The reads go through the grammar and the
product's own tracker, and the voted plate is matched with its evidence (all reads), exactly as
``run`` does. ``--frames 1`` matches each passage as one lone read.

Per class it reports correct check-ins, needs_review, unregistered, WRONG-ACCOUNT check-ins,
cars the grammar rejected and second passages of one car (split); for unregistered cars
"correct" means reported unregistered. Multi-frame rows also group passages by what the voted
plate carries. Match latency (``FuzzyMatcher.match`` alone) mean/p95/p99.

``--rule`` chooses the text rule (default: ``MatchThresholds.text_rule``, the text
likelihood); ``--frames 1`` also prints the shares issue 26 measures: clean reads of
registered cars checked in, clean unregistered cars reported unregistered, and one-confusion
reads checked in, the last two against ``match_bound``'s bounds on the same seed (computed
here with ``--bound-samples``, its own default, so the figures are the same).

``--calibration`` (with ``--frames 1``) compares the text rule's leads on one-confusion reads with
the world's own log-odds (``match_bound.calibration``). Seed 2: its leads are 4.49 nats below the
world's on average (sd 2.23, 6,134 reads); the odds-ordered oracle checks in 2,675 of them at <= 1
wrong account per 100,000, the rule 1,323 (1,320 of them the oracle's). Seed 1: -4.51 (sd 2.18),
2,675 and 1,230. (At margin 7.5, before the rule weighed a dropped glyph: seed 2 -4.48, 2,616 and
1,029; seed 1 -4.51, 2,616 and 953.) A channel with the world's own confusion table in place of the
cost classes (tried on seed 1 only, not shipped: it is the simulation's table) checked in 53 % of
the parsed one-confusion reads instead of 46 %, with 12 wrong accounts instead of 8: a better
channel alone does not close the gap; the prior (cells against the world's own plate distribution)
and the rule's other explanations are the next places to look. Adding the pairs the cost table lacks
(9/8, 9/0, 5/6, 6/8, 8/0, 2/7, Y/V, B/R, B/3, I/T, T/1) to the text channel and its unregistered
variants at cost 0.5 or 0.6 (seed 1 only, margin 7.5, not shipped) left the one-confusion reads
checked in at 41.1 % (41.2 %), with 0 wrong accounts beyond exact hits instead of 1 (margin 5:
46.4 % and 3 instead of 46.1 % and 4): what a pair gives the registered plate it also gives the
unregistered plates one such confusion from every read. Summing the unregistered explanation over
every unregistered one-edit variant and free text (log-sum-exp with their priors) instead of taking
the best per edit class (seed 1 only, not shipped) left it at 41.2 % / 46.1 % / 48.4 % at margins
7.5 / 5 / 4, with 1 / 3 / 4 wrong accounts beyond exact hits (1 / 4 / 4). What the model rule
(``--oracle``) has over the text rule is its knowledge of the simulation's own table and plate
distribution.
``--calibration`` also prints :func:`model_check` (see the goals below).

The defaults of ``MatchThresholds`` were tuned with ``--seed 1 --sweep`` (tuning seed) and are
reported with ``--seed 2`` (the default, reporting seed): never tune on the reporting seed.

The text likelihood rule (default since 2026-12-02; ``pipeline.matching.text_likelihood``),
seed 2, against the cost rule on the same reads (``--rule cost``); settings chosen with
``--seed 1 --frames 1 --sweep`` (edit 2 nats + 10 per cost unit, margins 6.5 / rival 10 /
unregistered 2, a glyph the grammar dropped 4 nats or real; see ``MatchThresholds``), seed 3
a second look:

==========================  ===========================  ===========================
seed 2                      text likelihood              cost rule
==========================  ===========================  ===========================
``--frames 1``:
one-confusion checked in    5,401 / 11,956 = 45.2 %      4,056 = 33.9 %
 of match_bound's 72.5 %    62.3 % (after the grammar,   46.8 % (56.4 %)
                            60.1 %: 75.2 %)
 of its joint bound 53.5 %  84.4 %                       63.4 %
 of the model rule's 49.9 % 90.5 %                       68.0 %
clean registered in         42,578 / 44,048 = 96.66 %    96.66 % (the same)
 of the clean bound 99.37 % 97.3 %                       97.3 %
clean unregistered          10,941 / 11,072 = 98.82 %    10,163 = 91.79 %
 reported unregistered
registered checked in       74.5 %                       72.0 %
unregistered reported       95.7 %                       89.0 %
to review                   14,598                       20,089
registered reported         3,341                        1,193
 unregistered
wrong accounts              7, 6 of them exact hits      6, all exact hits
match p95 (CPU)             1.2 ms                       0.4 ms
default (``--frames 3-10``):
registered checked in       73.9 %                       71.5 %
unregistered reported       95.4 %                       88.3 %
to review                   14,913                       20,458
registered reported         3,568                        1,337
 unregistered
wrong accounts              2, 1 exact hit               3, 1 exact hit
match p95 (CPU)             1.5 ms                       0.5 ms
``--each-read``:
registered checked in       90.0 %                       89.2 %
unregistered reported       98.1 %                       92.1 %
to review                   7,413                        9,358
registered reported         209                          31
 unregistered
wrong accounts              2, both exact hits           4, 2 exact hits
match p95 (CPU)             1.6 ms                       1.3 ms
==========================  ===========================  ===========================

- The goals of issue 26 for lone reads: one-confusion reads >= 90 % of the bound. The raw bound
  (72.5 %) counts as free check-ins the 10.1 % of one-confusion reads the grammar rejects (the
  matcher never sees them) and those whose text no drawn plate has before the grammar's fixes
  (``OF0B123``) though after them it is an unregistered car's plate read right (``OFOB123``);
  ``match_bound`` also gives the bound after the grammar (60.1 % on seed 2), so 90 % of the raw
  bound (65 %) is above what any rule can do on the texts the matcher gets. That bound still counts
  one rival (the text read right) and gives the one-confusion reads the whole budget of one wrong
  account; counting every modelled car whose read is the text (58.0 %) and sharing the budget with
  every other class of read, as a rule must (``joint_bound``: 53.5 % of one-confusion reads, 80.5 %
  of registered cars), the rule reaches 84.4 % and 92.6 % (74.5 % of registered cars checked in).
  The model itself as the rule (below) reaches 49.9 % at one wrong account, and the rule 90.5 % of
  that (seed 4: 44.0 % of 49.0 %, 89.8 %). ``--calibration`` replays the rule's leads at lower
  margins (MODEL_CHECK_MARGINS) and asks the bound's model how many wrong accounts beyond exact
  hits its check-ins should cost (the odds taken on the text as the rule sees it: as read where
  the grammar dropped a glyph). Seeds 1-4 (2 and 4 never used for a choice), one-confusion reads
  checked in, wrong accounts beyond exact hits made and (the model) expected:

  ======  ==================  ==================  ==================  ==================
  margin  seed 1              seed 2              seed 3              seed 4
  ======  ==================  ==================  ==================  ==================
  6.5     43.7 %, 1 (0.36)    45.2 %, 1 (0.24)    44.4 %, 1 (0.85)    44.0 %, 0 (0.42)
  5.5     45.3 %, 2 (0.58)    46.5 %, 1 (0.36)    45.6 %, 1 (1.08)    45.6 %, 0 (0.66)
  5       46.5 %, 4 (0.82)    47.3 %, 3 (0.57)    46.6 %, 1 (1.36)    46.9 %, 0 (0.94)
  4.5     47.3 %, 4 (0.99)    48.4 %, 4 (0.75)    48.0 %, 1 (1.94)    48.0 %, 0 (1.33)
  4       48.7 %, 4 (1.75)    49.3 %, 5 (1.04)    49.0 %, 1 (2.89)    48.8 %, 0 (2.05)
  ======  ==================  ==================  ==================  ==================

  Pooled, the rule makes 3 / 4 / 8 / 9 / 10 wrong accounts in 400,000 passages where the model
  expects 1.9 / 2.7 / 3.7 / 5.0 / 7.7: the model is optimistic, 1.3 to 2.2 times as many made
  as expected (single seeds looked worse; it leaves out separator errors, the grammar's fixes
  and a spurious glyph at the seals). 90 % of the joint bound (48.2 %) takes a margin of about 4.5
  (47.9 % on average), at 2.25 wrong accounts beyond exact hits per 100,000 passages made and
  1.25 expected: beyond the budget of one either way. Within it the rule checks in 45.75 % (5.5,
  1.0 made) or, by the model's count, 46.8 % (5, 0.92 expected): 85-88 % of the joint bound. The
  wrong accounts at 4.5 are two-confusion reads one table confusion from the customer's plate
  (5), unregistered cars read right whose plate is one confusion from a customer's (3: the
  model's own odds against two of them are 2e-4, within what the model rule checks in, and
  3e-3; the third takes a Q for a misread D, which the simulation's table never makes) and a
  spurious glyph (1). Deciding by the posterior odds of the customer against every other
  explanation summed, instead of the best unregistered text and the best rival apart (a scratch
  replay on seeds 1-4, not shipped), checks in 0.3-0.7 points more at each margin, with the
  same wrong accounts but for one fewer twice and one more once (seed 2 at 6.5: 45.6 %; at 4.5:
  48.9 % with 4): not the 2-3 points missing. Neither is the unregistered explanation summed
  over every unregistered text one edit or two table confusions from the read (seeds 1 and 2:
  one wrong account fewer at margin 5, the same share at equal wrong accounts), nor charging a
  second edit less than the first (more wrong accounts). The simulation's own plate
  distribution in place of the cells prior, which no product has, gains 1.0-1.1 points at
  equal wrong accounts (seeds 1 and 2).
  ``--oracle`` runs the model itself as the rule (:func:`model_oracle`: it knows the simulation's
  confusion table and plate distribution, which no product rule can, and sees the same texts as the
  rule): at odds 1/1,000 it checks in 53.9 % (seed 1) and 54.7 % (seed 2) of one-confusion reads,
  about the joint bound, but makes 4 and 2 wrong accounts beyond exact hits; at odds 3/10,000, the
  largest with at most one on the tuning seed 1 (48.6 %, 1 wrong), it checks in 49.9 % on seed 2
  with 1 wrong. The text rule, with 1 wrong there too, checks in 45.2 %: 90.5 % of what the
  simulation's own model does at the same wrong accounts. Seed 4, never used for a choice
  (``--seed 4 --frames 1 --calibration --oracle``): the rule checks in 44.0 % of one-confusion lone
  reads with no wrong account beyond exact hits, the model rule at 3/10,000 49.0 % with 1 (the rule:
  89.8 % of it), the joint bound is 53.5 % (82.2 %). Before 2026-12-02 (margin 7.5, the grammar's
  shortened text only) the rule checked in 42.5 % on seed 2 and 40.9 % on seed 4 (85.7 % and 83.9 %
  of the model rule as it was then, on the shortened texts: 49.6 % and 48.7 %).
  Clean registered >= 99.5 % is above the bound (99.37 %); 971 of
  the 1,470 clean registered lone reads not checked in (2.2 %) are parses the grammar calls
  ambiguous (``FD-L 789`` or ``F-DL 789``: the same compact text either way), which never
  check in, and on seed 1 about 1 % had another customer's plate one lost character away,
  which the bound does not count (it counts confusions only) and which, checked in, cost 11
  exact-hit wrong accounts there. Clean unregistered >= 98 %: reached (98.8 %). Wrong
  accounts: 6 exact hits as the cost rule, plus 1 (a two-confusion read of an unregistered
  car one confusion from a customer's plate), within the target of 1 per 100,000 beyond
  exact hits. Match p95 <= 5 ms: reached in every mode.
- The price: misread registered cars whose unregistered explanation leads by 2 nats are
  reported unregistered instead of sent to review (lone reads 3,341 against 1,193; at margin
  7.5 before the dropped glyph was weighed, 3,530: two confusions 1,372, a lost character
  687, a spurious one 493, one confusion the cost table does not know, 12 nats, 936).
- Tuning (seed 1): margin 7 first; seed 3 then showed one wrong account more than the cost
  rule in the default mode (9 against 8, a lead of 7.2), so 7.5. That car was a text the
  grammar had shortened by a glyph; once the rule weighed the glyph as real (2026-12-02),
  6.5 was the least margin with at most one wrong account beyond exact hits in every mode
  of seeds 1 and 3 (``--sweep``): lone reads 1 and 1, errors every read repeats 0 and 0,
  each read its own confusion 0 and 1.

Figures of the cost rule (``--rule cost``; 22,000 plates, 100,000 passages, defaults
max_cost 1.0, slack 0.3, margin 0.8).
"Before": the same reads through the grammar before 2026-12-01, which now reads a 4 among
letters as A and a 7 as T and drops a glyph read twice or a spurious thin one at an end or the
seals when the rest is a plate as read (paired: the reads' confidences are drawn whether a
read parses or not):

===============  ===================================  =====================================
seed             errors every read repeats            each read its own confusion
===============  ===================================  =====================================
1 (tuning)       71.2 % of registered cars checked    89.4 % checked in (before 88.9 %),
                 in (before 65.9 %), 3 wrong (3)      0 wrong (0)
2 (reporting)    71.5 % (66.2 %), 3 wrong (4)         89.2 % (88.8 %), 4 wrong (4)
3 (second look)  71.7 % (66.3 %), 8 wrong (8)         89.5 % (88.9 %), 7 wrong (7)
===============  ===================================  =====================================

- Cars the grammar rejects get no arrival at all: with errors every read repeats 2,665 of
  100,000 (seed 2; before 7,511).
- One lone read per car (``--frames 1``, seed 2): 72.0 % of registered cars checked in
  (before 66.8 %), 33.9 % of those read with one confusion; 6 wrong accounts both times,
  all reads that were exactly another customer's plate.
- The evidence rule against the rule before it (per-character agreement >= 0.5 of the
  reads), each read its own confusion, on the previous stream: 88.7 % against 73.6 % of
  registered cars checked in (seed 2).
- "Exact hit": the voted plate, carrying most of the reads' weight, is exactly another
  customer's plate (``wrong_exact``); ``wrong_every_read``: no read of the car showed
  anything else, which no rule that checks in a registered car read right can refuse. With
  20 % unregistered cars drawn from the same dense number space these are a few per 100,000
  passages. Seed 3 was made after the rule was fixed; its wrong cases were read (all exact
  hits, the old rule's too) and it chose max_cost below.
- With errors every read repeats, 95.3 % of registered cars whose plate the vote got right
  are checked in (seed 2); a confusion in every read goes to review (0 % checked in).
- match latency (CPU, seed 2): p95 0.6 ms (errors every read repeats), 1.1 ms (each read).
- Tuning (seeds 1 and 3 only): slack 0.45 checked in 2 wrong accounts on seed 1 with a
  confusion in each read; the margin on the reads taken as one took the repeated-error wrong
  accounts of seed 1 from 12 to 4; max_cost 0.6 instead of 1.0 saved one of those and cost
  6.5 points of check-ins. Seed 2 was run twice during that work (slack 0.6, then 0.3).
- The grammar changes were judged on seed 1; a first version that also dropped a glyph on
  top of fixes made two more wrong accounts on seed 3, read there, and was narrowed; seed 2
  was run with each version. Before the confidences were drawn for every read, a grammar
  change moved the wrong counts by one or two through the random stream alone.

The issue's goal (0 wrong accounts *and* >= 99% for one confusion) is not reached, and no rule
can reach it in this world: ``python -m pipeline.bench.match_bound`` shows that checking in 99%
of one-confusion reads costs at least 45 wrong accounts per 100,000 passages here (an
unregistered car whose plate *is* the misread text reads the same). Exact hits remain
(above), and a confusion that the majority of a car's reads repeat looks exactly like an
unregistered car one confusion away from a customer, so such cars go to the operator.
Confusions of single frames are outvoted. The read mix is deliberately harsh (45% of cars
carry an error in every read); wrong check-ins scale with it and with the unregistered share.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, replace

from pipeline.bench.match_bound import (
    PASSAGES,
    Rivals,
    bound_curve,
    calibration,
    clean_bound,
    joint_bound,
    odds_against,
    read_probability,
)
from pipeline.bench.sim_world import (
    CLASSES,
    ERROR_MIX,
    REGISTERED_SHARE,
    PlateSource,
    World,
    build_world,
    confuse,
    corrupt,
    drop,
    extra,
    ocr_text,
    pick,
)
from pipeline.detection.types import Box
from pipeline.domain import Status
from pipeline.matching.distance import substitution_cost
from pipeline.matching.fuzzy import (
    TEXT_RULES,
    FuzzyMatcher,
    MatchThresholds,
    decide,
    guarded,
    judge_text,
    supported,
)
from pipeline.matching.likelihood import Judgement, lead_status
from pipeline.matching.matcher import Candidate, Evidence, lone_spurious
from pipeline.matching.text_likelihood import TextCase, judge_case
from pipeline.plate.districts import district_codes
from pipeline.plate.grammar import Plate, parse_plate
from pipeline.reading.plate_reader import PlateRead
from pipeline.tracking.passages import Passage as TrackedPassage
from pipeline.tracking.passages import PassageTracker, TrackerConfig


@dataclass
class Passage:
    truth: str | None  # customer number, None for an unregistered car
    error: str  # the error every read of this car carries ("clean": none)
    raw: str  # that read
    pair_cost: float | None = None  # one_confusion: what the matcher charges for that pair
    frames: tuple[str, ...] = ()  # multi-frame mode: each frame's read, with its own errors
    truth_compact: str = ""


# Multi-frame mode: each read of a car may also carry an error of its own (blur, angle,
# a glint), independent of the other frames, with this probability and mix.
FRAME_ERROR = 0.3
FRAME_ERROR_MIX: dict[str, float] = {"one_confusion": 0.5, "two_confusions": 0.1,
                                     "dropped": 0.2, "extra": 0.2}


def frame_reads(raw: str, rng: random.Random, n: int) -> tuple[str, ...]:
    """``n`` reads of a car whose every read is ``raw``, each with its own error at
    FRAME_ERROR."""
    out = []
    for _ in range(n):
        chars = list(raw)
        if rng.random() < FRAME_ERROR:
            error = pick(rng, FRAME_ERROR_MIX)
            chars = (confuse(chars, rng, 1) if error == "one_confusion"
                     else confuse(chars, rng, 2) if error == "two_confusions"
                     else drop(chars, rng) if error == "dropped" else extra(chars, rng))
        out.append("".join(chars))
    return tuple(out)


EACH_READ = "confusion_each_read"


def each_read_confused(plate: Plate, rng: random.Random, n: int) -> tuple[str, ...]:
    """``n`` reads of ``plate``, every one with one confusion of its own (and its own gaps):
    OCR that misreads some character in every frame, but not the same one each time."""
    return tuple("".join(confuse(ocr_text(plate, rng), rng, 1)) for _ in range(n))


def simulate_passages(source: PlateSource, world: World, n: int,
                      frames: tuple[int, int] = (1, 1),
                      per_read: bool = False) -> list[Passage]:
    """``n`` passages; with ``frames`` (min, max) above one, each car is read that many
    times: the car's error in every read, plus errors of each frame's own. ``per_read``:
    instead, every read of every car (registered or not) has one confusion of its own."""
    rng = source.rng
    registered = list(world.plates.values())
    out: list[Passage] = []
    for _ in range(n):
        error = EACH_READ if per_read else pick(rng, ERROR_MIX)
        if rng.random() < REGISTERED_SHARE:
            plate = rng.choice(registered)
            truth: str | None = world.owner[plate.compact]
        else:
            plate = source.plate()
            while plate.compact in world.owner:
                plate = source.plate()
            truth = None
        pairs: list[tuple[str, str]] = []
        if per_read:
            reads = each_read_confused(plate, rng, rng.randint(*frames))
            raw, reads = reads[0], reads if frames[1] > 1 else ()
        else:
            raw = corrupt(plate, error, rng, pairs)
            reads = frame_reads(raw, rng, rng.randint(*frames)) if frames[1] > 1 else ()
        out.append(Passage(truth, error, raw,
                           substitution_cost(*pairs[0]) if pairs else None, reads,
                           plate.compact))
    return out


_BOX = Box(800, 600, 160, 36)  # where the car's plate is in every frame (one track)


def track(frames: tuple[str, ...], districts: frozenset[str], rng: random.Random,
          ) -> list[TrackedPassage]:
    """One car's reads through the grammar and the product's own tracker (voting)."""
    tracker = PassageTracker(TrackerConfig(dedup_s=0.0))
    out = []
    for i, raw in enumerate(frames):
        # drawn for every read, parsed or not: another grammar sees the same confidences
        confidence = rng.uniform(0.6, 0.99)
        parsed = parse_plate(raw, districts)
        reads = [] if parsed is None else [
            PlateRead(_BOX, raw, confidence, parsed.plate, parsed.ambiguous,
                      as_read=parsed.as_read)]
        out += tracker.update(0.2 * i, reads)
    return out + tracker.flush()


OUTCOMES = ("correct", "needs_review", "unregistered", "wrong_account", "rejected", "split")


def outcome(truth: str | None, status: str, customer: str | None) -> str:
    if status == Status.MATCHED:
        return "correct" if customer == truth else "wrong_account"
    if status == Status.NEEDS_REVIEW:
        return "needs_review"
    return "correct" if truth is None else "unregistered"


@dataclass
class Run:
    counts: dict[tuple[str, str], Counter[str]]
    latencies_us: list[float]  # wall clock per match
    cpu_us: list[float]  # CPU time of the matching thread (without time lost to other jobs)
    wide: list[Wide]


@dataclass(frozen=True)
class Wide:
    """One match, with every candidate up to 1.9, to replay other thresholds on."""

    passage: Passage
    read: str
    candidates: list[Candidate]
    ambiguous: bool
    evidence: Evidence | None
    others: frozenset[str]
    case: TextCase | None = None  # the text likelihood rule's case (that rule only)


def voted_class(truth: str, voted: str, evidence: Evidence) -> str:
    """What the voted plate carries: right, one substitution (that some read of the car did
    not make, or that every read made), or another error."""
    if voted == truth:
        return "voted right"
    if len(voted) == len(truth) and sum(a != b for a, b in zip(voted, truth, strict=True)) == 1:
        return "voted 1 subst, not in all" if supported(truth, evidence) \
            else "voted 1 subst, in all"
    return "voted other error"


VOTED_CLASSES = ("voted right", "voted 1 subst, not in all", "voted 1 subst, in all",
                 "voted other error")


def run(world: World, passages: list[Passage], thresholds: MatchThresholds,
        keep_candidates: bool = False, progress: bool = True, seed: int = 0) -> Run:
    """Match every passage: a lone read as it is, a multi-frame passage through the
    product's tracker and then with its evidence (all reads of the car)."""
    districts = district_codes()
    rng = random.Random(seed)
    matcher = FuzzyMatcher(world.owner.items(), world.accounts.get, thresholds)
    wide_matcher = (FuzzyMatcher(world.owner.items(), world.accounts.get,
                                 MatchThresholds(max_cost=0.0, review_cost=1.9))
                    if keep_candidates else None)
    counts: dict[tuple[str, str], Counter[str]] = {}
    latencies: list[float] = []
    cpu: list[float] = []
    wide: list[Wide] = []
    step = max(1, len(passages) // 10)
    for k, p in enumerate(passages):
        if progress and k % step == 0:
            print(f"  {k}/{len(passages)} passages", file=sys.stderr)
        car = "registered" if p.truth else "unregistered"
        buckets = [counts.setdefault((p.error, car), Counter())]
        if p.pair_cost is not None:
            buckets.append(counts.setdefault((f"pair cost {p.pair_cost:.1f}", car), Counter()))
        if p.frames:
            tracked = [(t.plate, t.ambiguous, t.evidence, t.spurious)
                       for t in track(p.frames, districts, rng)]
        else:
            parsed = parse_plate(p.raw, districts)
            tracked = [] if parsed is None else [(
                parsed.plate, parsed.ambiguous, None,
                lone_spurious(parsed.plate.compact, parsed.as_read))]
        if not tracked:
            for b in buckets:
                b["rejected"] += 1
            continue
        if p.frames:
            voted, _, evidence, _ = tracked[0]
            key = voted_class(p.truth_compact, voted.compact, evidence or ())
            buckets.append(counts.setdefault((key, car), Counter()))
        for n, (plate, ambiguous, evidence, spurious) in enumerate(tracked):
            t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
            result = matcher.match(plate, ambiguous, evidence, spurious=spurious)
            latencies.append((time.perf_counter_ns() - t0) / 1000)
            cpu.append((time.thread_time_ns() - c0) / 1000)
            customer = result.account.customer_number if result.account else None
            verdict = outcome(p.truth, result.status, customer)
            if n and verdict != "wrong_account":
                verdict = "split"  # a second passage for one car (its own arrival)
            elif n:
                for b in buckets:
                    b["split"] += 1
            for b in buckets:
                b[verdict] += 1
                if verdict == "wrong_account" and result.cost == 0.0:
                    b["wrong_exact"] += 1  # the misread is itself another customer's plate
                if verdict == "wrong_account" and all(r == result.plate for r, _ in evidence
                                                      or ((plate.compact, 1.0),)):
                    b["wrong_every_read"] += 1  # no read of the car showed anything else
            if wide_matcher is not None and not n:
                compact = plate.compact
                others = wide_matcher.owners(r for r, _ in evidence or () if r != compact)
                case = matcher.text_case(plate, evidence, spurious)
                wide.append(Wide(p, compact, wide_matcher.candidates(compact), ambiguous,
                                 evidence, others, case))
    return Run(counts, latencies, cpu, wide)


def replay(wide: list[Wide], thresholds: MatchThresholds) -> dict[str, float]:
    """Outcome totals for other thresholds on the same reads (no new search needed)."""
    wrong = review = exact_wrong = clean_review = 0
    one_ok = one_n = 0
    unreg_review = unreg_n = 0
    for w in wide:
        p = w.passage
        status, best = decide(w.read, w.candidates, thresholds, w.ambiguous, w.evidence,
                              w.others)
        res = outcome(p.truth, status, best.customer_number if best else None)
        wrong += res == "wrong_account"
        exact_wrong += res == "wrong_account" and best is not None and best.cost == 0.0
        clean_review += p.error == "clean" and p.truth is not None and res == "needs_review"
        review += res == "needs_review"
        if p.error in ("one_confusion", EACH_READ) and p.truth:
            one_n += 1
            one_ok += res == "correct"
        if p.truth is None:
            unreg_n += 1
            unreg_review += res == "needs_review"
    return {"max_cost": thresholds.max_cost, "margin": thresholds.margin,
            "review_cost": thresholds.review_cost,
            "dropped_rival_cost": thresholds.dropped_rival_cost,
            "slack": thresholds.slack, "wrong_account": wrong,
            "wrong_exact": exact_wrong, "clean_registered_to_review": clean_review,
            "needs_review": review, "one_confusion_correct": one_ok / max(1, one_n),
            "unregistered_to_review": unreg_review / max(1, unreg_n)}


def leads(wide: list[Wide], base: MatchThresholds, edit: float,
          per_cost: float) -> list[tuple[Wide, Judgement]]:
    """Each text case judged with channel (``edit``, ``per_cost``) and zero margins: its
    leads, which the margins do not change (for replaying margins with :func:`replayed`)."""
    return [(w, judge_case(w.case, edit, per_cost, base.dropped_rival_cost,
                           base.text_spurious_nats, base.unregistered_share,
                           base.plates_around, base.text_prior, 0.0, 0.0, 0.0, w.ambiguous))
            for w in wide if w.case is not None]


def replayed(w: Wide, v: Judgement, margin: float, rival: float, unreg: float) -> str:
    """The text rule's status for a case's leads under these margins, guards included."""
    status = lead_status(v.over_unregistered, v.over_rival, margin, rival, unreg, w.ambiguous)
    return guarded(replace(v, status=status), w.case.owner,  # type: ignore[union-attr]
                   w.others)


def replay_text(wide: list[Wide], base: MatchThresholds,
                grid: list[tuple[float, float]],
                margins: list[tuple[float, float, float]]) -> list[dict[str, float]]:
    """The text likelihood rule's totals on the same cases for each (text_edit_nats,
    text_nats_per_cost) in ``grid`` and (text_margin, text_rival_margin,
    text_unregistered_margin) in ``margins``: one judgement per case and channel (the
    leads do not depend on the margins)."""
    out = []
    one = "one_confusion" if any(w.passage.error == "one_confusion" for w in wide) \
        else EACH_READ
    for edit, per_cost in grid:
        judged = leads(wide, base, edit, per_cost)
        for margin, rival, unreg in margins:
            c: Counter[str] = Counter()
            for w, v in judged:
                p = w.passage
                status = replayed(w, v, margin, rival, unreg)
                owner = w.case.owner  # type: ignore[union-attr]
                res = outcome(p.truth, status, owner[v.best] if status == Status.MATCHED
                              and v.best else None)
                car = "reg" if p.truth else "unreg"
                c[f"{p.error}/{car}/{res}"] += 1
                c[f"{p.error}/{car}"] += 1
                c[f"{car}/{res}"] += 1
                c[car] += 1
                c[res] += 1
                c["wrong_exact"] += res == "wrong_account" and v.best == w.read
            out.append({
                "text_edit_nats": edit, "text_nats_per_cost": per_cost, "text_margin": margin,
                "text_rival_margin": rival, "text_unregistered_margin": unreg,
                "wrong_account": c["wrong_account"], "wrong_exact": c["wrong_exact"],
                "needs_review": c["needs_review"],
                "registered_reported_unregistered": c["reg/unregistered"],
                "registered_correct": c["reg/correct"] / max(1, c["reg"]),
                "unregistered_correct": c["unreg/correct"] / max(1, c["unreg"]),
                "one_confusion_correct": c[f"{one}/reg/correct"] / max(1, c[f"{one}/reg"]),
                "clean_registered_correct": c["clean/reg/correct"] / max(1, c["clean/reg"]),
                "clean_unregistered_correct": c["clean/unreg/correct"]
                / max(1, c["clean/unreg"])})
    return out


SWEEP_TEXT_CHANNEL = [(2.0, 10.0), (2.0, 6.0), (1.0, 12.0), (3.0, 8.0)]
SWEEP_TEXT_MARGINS = [(m, r, u) for m in (5.0, 6.0, 6.5, 7.0, 7.5, 8.0) for r in (9.0, 10.0)
                      for u in (0.0, 1.0, 2.0)]
SWEEP_MAX_COST = (0.6, 1.0)
SWEEP_MARGIN = (0.8, 1.0)
SWEEP_SLACK = (0.0, 0.2, 0.3, 0.45, 0.6)


def summarise(result: Run) -> dict[str, object]:
    rows = []
    pair_classes = sorted({e for e, _ in result.counts if e.startswith("pair cost")})
    for error in (*CLASSES, EACH_READ, *pair_classes, *VOTED_CLASSES):
        for truth in ("registered", "unregistered"):
            c = result.counts.get((error, truth), Counter())
            total = sum(c.values()) - c["split"] - c["wrong_exact"] - c["wrong_every_read"]
            rows.append({"error": error, "car": truth, "passages": total,
                         **{o: c[o] for o in OUTCOMES}, "wrong_exact": c["wrong_exact"],
                         "wrong_every_read": c["wrong_every_read"],
                         "correct_share": c["correct"] / total if total else None,
                         "correct_share_parsed": c["correct"] / (total - c["rejected"])
                         if total > c["rejected"] else None})
    latency = {}
    for name, values in (("", result.latencies_us), ("cpu_", result.cpu_us)):
        lat = sorted(values)
        latency |= {f"{name}mean_us": statistics.fmean(lat) if lat else 0.0,
                    f"{name}p95_us": lat[int(0.95 * (len(lat) - 1))] if lat else 0.0,
                    f"{name}p99_us": lat[int(0.99 * (len(lat) - 1))] if lat else 0.0}
    totals = Counter[str]()
    for (error, _), c in result.counts.items():
        if error in (*CLASSES, EACH_READ):
            totals.update(c)
    return {"rows": rows, "latency": latency,
            "totals": {o: totals[o] for o in (*OUTCOMES, "wrong_exact", "wrong_every_read")}}


def print_table(summary: dict[str, object], header: str) -> None:
    print(header)
    cols = ("passages", "correct", "needs_review", "unregistered", "wrong_account",
            "wrong_exact", "wrong_every_read", "rejected", "split")
    widths = [max(13, len(c) + 1) for c in cols]
    print(f"{'error class':<26}{'car':<13}"
          + "".join(f"{c:>{w}}" for c, w in zip(cols, widths, strict=True))
          + f"{'correct %':>11}{'of parsed':>11}")
    for row in summary["rows"]:  # type: ignore[union-attr]
        if row["car"] == "registered" and row["error"] in ("pair cost 0.3", "voted right"):
            print("one_confusion by what the matcher charges for the confused pair:"
                  if row["error"] == "pair cost 0.3" else
                  "by what the voted plate carries (multi-frame):")
        if not row["passages"]:
            continue
        shares = "".join(f"{100 * x:>10.2f}%" if x is not None else f"{'-':>11}"
                         for x in (row["correct_share"], row["correct_share_parsed"]))
        print(f"{row['error']:<26}{row['car']:<13}"
              + "".join(f"{row[c]:>{w}}" for c, w in zip(cols, widths, strict=True)) + shares)
    totals = summary["totals"]
    lat = summary["latency"]
    print(f"totals: {totals}")
    for name, label in (("", "wall"), ("cpu_", "cpu")):
        print(f"match latency ({label}): mean {lat[name + 'mean_us']:.0f} us, "  # type: ignore[index]
              f"p95 {lat[name + 'p95_us']:.0f} us, p99 {lat[name + 'p99_us']:.0f} us")  # type: ignore[index]


def lone_shares(summary: dict[str, object]) -> dict[str, float]:
    """One lone read per car: the shares issue 26 measures (of every passage of the class,
    those the grammar rejected included)."""
    rows = {(r["error"], r["car"]): r for r in summary["rows"]}  # type: ignore[union-attr]
    out: dict[str, float] = {}
    for key, (error, car) in (("clean_registered", ("clean", "registered")),
                              ("clean_unregistered", ("clean", "unregistered")),
                              ("one_confusion", ("one_confusion", "registered"))):
        row = rows.get((error, car))
        if row and row["passages"]:
            out[key] = row["correct"] / row["passages"]
            out[key + "_passages"] = row["passages"]
            out[key + "_correct"] = row["correct"]
    return out


def bound_shares(seed: int, n_plates: int, samples: int,
                 lone: dict[str, float]) -> dict[str, float]:
    """``python -m pipeline.bench.match_bound --seed SEED`` on the same world (its own draws,
    so the same figures), and the lone-read shares as shares of its bounds."""
    rng = random.Random(seed)
    source = PlateSource(rng)
    world = build_world(source, n_plates)
    _, facts = bound_curve(source, world, samples, rng)
    facts |= clean_bound(source, world, samples, rng)
    facts |= joint_bound(source, world, facts["all_paths_samples"], rng)
    out = {"bound_one_confusion": facts["share_at_one_wrong"],
           "bound_one_confusion_joint": facts["joint_one_confusion"],
           "bound_registered_joint": facts["joint_registered"],
           "bound_one_confusion_after_grammar": facts["share_at_one_wrong_after_grammar"],
           "bound_one_confusion_all_paths_after_grammar":
               facts["all_paths_share_at_one_wrong_after_grammar"],
           "bound_clean_registered": facts["clean_share_at_one_wrong"]}
    if "one_confusion" in lone:
        for key in ("", "_after_grammar", "_all_paths_after_grammar", "_joint"):
            out[f"one_confusion_of_bound{key}"] = lone["one_confusion"] / max(
                1e-9, out[f"bound_one_confusion{key}"])
    if "clean_registered" in lone:
        out["clean_registered_of_bound"] = lone["clean_registered"] / max(
            1e-9, out["bound_clean_registered"])
    return out


def seen(w: Wide) -> str:
    """A lone read's text as the text rule sees it: as read where the grammar dropped a
    glyph (``ParseResult.as_read``), else as parsed. The model's odds are taken on it."""
    return w.case.spurious[0][1] if w.case is not None and w.case.spurious else w.read


def calibration_reads(wide: list[Wide], t: MatchThresholds,
                      ) -> list[tuple[str, str, float, bool]]:
    """(true compact, read, the text rule's lead over the unregistered explanation, checked
    in?) of each one-confusion lone read of a registered car, for ``match_bound.calibration``."""
    out = []
    for w in wide:
        p = w.passage
        if p.error != "one_confusion" or p.truth is None or w.case is None:
            continue
        v = judge_text(w.case, t, w.ambiguous)
        out.append((p.truth_compact, seen(w), v.over_unregistered, v.status == Status.MATCHED))
    return out


MODEL_CHECK_MARGINS = (5.5, 5.0, 4.5, 4.0)
MODEL_CHECK_EVERY = 5  # every 5th passage's right check-in sampled for the expected wrong


def model_check(wide: list[Wide], t: MatchThresholds, source: PlateSource, world: World,
                passages: list[Passage]) -> list[dict[str, float]]:
    """Does ``match_bound``'s model of every other car (``Rivals``) expect the wrong
    accounts the text rule makes? Per text margin (the configured one and
    MODEL_CHECK_MARGINS): the wrong accounts beyond exact hits it expects from the rule's
    right check-ins of registered cars (those of every MODEL_CHECK_EVERY-th case, scaled), those
    observed, right check-ins no modelled error of the customer's plates gives, and the
    share of one-confusion reads of registered cars checked in. Fewer expected than observed
    means the bounds, built on the same model, are optimistic."""
    rivals = Rivals(source, world)
    judged = leads(wide, t, t.text_edit_nats, t.text_nats_per_cost)
    one = sum(p.error == "one_confusion" and p.truth is not None for p in passages)
    out = []
    for margin in (t.text_margin, *MODEL_CHECK_MARGINS):
        expected, observed, unexplained, right, one_right = 0.0, 0, 0, 0, 0
        for k, (w, v) in enumerate(judged):
            status = replayed(w, v, margin, t.text_rival_margin, t.text_unregistered_margin)
            owner = w.case.owner  # type: ignore[union-attr]
            if status != Status.MATCHED or v.best is None:
                continue
            res = outcome(w.passage.truth, status, owner[v.best])
            if res == "wrong_account":
                observed += v.best != w.read
            elif w.passage.truth is not None:
                right += 1
                one_right += w.passage.error == "one_confusion"
                # sampled by passage, not by count: a lower margin's sample holds the higher's
                if k % MODEL_CHECK_EVERY == 0:
                    odds = odds_against(rivals, seen(w), owner[v.best])
                    if odds == math.inf:
                        unexplained += MODEL_CHECK_EVERY
                    else:
                        expected += odds * MODEL_CHECK_EVERY
        out.append({"margin": margin, "expected_wrong": expected * PASSAGES / len(passages),
                    "observed_wrong": observed, "unexplained": unexplained,
                    "one_confusion": one_right / max(1, one)})
    return out


ORACLE_ODDS = (1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5)


def model_oracle(wide: list[Wide], source: PlateSource, world: World,
                 passages: list[Passage]) -> list[dict[str, float]]:
    """The rule that knows ``match_bound``'s model of the world (its error paths, confusion
    table and plate distribution: the simulation's own, so not a rule the product could
    have): for each parsed lone read, the customer whose plates most likely give it, checked
    in when every other car is at most ``odds`` as likely to (ORACLE_ODDS); a read that is
    exactly a registered plate checks its customer in. Per odds: one-confusion reads of
    registered cars checked in, wrong accounts beyond exact hits made and expected by the
    model."""
    rivals = Rivals(source, world)
    p_car = rivals.p_registered_car
    one = sum(p.error == "one_confusion" and p.truth is not None for p in passages)
    decided = []  # (odds against the likeliest customer, customer, passage, exact)
    for w in wide:
        if w.case is None:
            continue
        text = seen(w)
        if text in world.owner:
            decided.append((0.0, world.owner[text], w.passage, True))
            continue
        own: dict[str, float] = {}
        for plate, customer in w.case.owner.items():
            own[customer] = own.get(customer, 0.0) + read_probability(plate, text)
        best = max(own, key=lambda c: own[c], default=None)
        if best is None or own[best] == 0.0:
            continue
        others = rivals.total(text, None) - p_car * own[best]
        decided.append((max(0.0, others) / (p_car * own[best]), best, w.passage, False))
    out = []
    for odds in ORACLE_ODDS:
        wrong = expected = right_one = 0.0
        for against, customer, p, exact in decided:
            if against > odds:
                continue
            if p.truth is None or p.truth != customer:
                wrong += not exact
            else:
                expected += against
                right_one += p.error == "one_confusion"
        out.append({"odds": odds, "one_confusion": right_one / max(1, one),
                    "wrong_beyond_exact": wrong,
                    "expected_wrong": expected * PASSAGES / len(passages)})
    return out


def print_calibration(c: dict[str, float]) -> None:
    print(f"text rule against the world's odds ({c['reads']} one-confusion lone reads one "
          "table confusion from the plate after the grammar):")
    print(f"  its lead minus the world's log-odds: mean {c['lead_error_mean']:+.2f} nats, "
          f"sd {c['lead_error_sd']:.2f}")
    print(f"  checked in: the odds-ordered oracle {c['oracle_checked_in']} (leads >= "
          f"{c['oracle_threshold']:.2f} nats, <= 1 wrong per 100,000), the rule "
          f"{c['rule_checked_in']}, {c['rule_within_oracle']} of them among the oracle's")


def print_lone(lone: dict[str, float]) -> None:
    def share(key: str, what: str) -> str:
        if key not in lone:
            return f"{what}: none"
        return (f"{what}: {lone[key + '_correct']:.0f} of {lone[key + '_passages']:.0f} "
                f"= {100 * lone[key]:.2f}%")

    print("lone reads (of every passage of the class, the grammar's rejects included):")
    line = share("one_confusion", "  one-confusion reads of registered cars checked in")
    if "bound_one_confusion" in lone and "one_confusion" in lone:
        line += (f"; {100 * lone['one_confusion_of_bound']:.1f}% of the bound "
                 f"({100 * lone['bound_one_confusion']:.1f}% at <= 1 wrong account per "
                 f"100,000), {100 * lone['one_confusion_of_bound_after_grammar']:.1f}% of it "
                 f"after the grammar ({100 * lone['bound_one_confusion_after_grammar']:.1f}%), "
                 f"{100 * lone['one_confusion_of_bound_all_paths_after_grammar']:.1f}% of the "
                 "all-paths bound after the grammar "
                 f"({100 * lone['bound_one_confusion_all_paths_after_grammar']:.1f}%), "
                 f"{100 * lone['one_confusion_of_bound_joint']:.1f}% of the joint bound "
                 f"({100 * lone['bound_one_confusion_joint']:.1f}%)")
    print(line)
    line = share("clean_registered", "  clean reads of registered cars checked in")
    if "bound_clean_registered" in lone and "clean_registered" in lone:
        line += (f"; {100 * lone['clean_registered_of_bound']:.1f}% of the bound "
                 f"({100 * lone['bound_clean_registered']:.2f}%)")
    print(line)
    print(share("clean_unregistered", "  clean unregistered cars reported unregistered"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipeline.bench.match_simulation",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--plates", type=int, default=22000, help="registered plates")
    ap.add_argument("--passages", type=int, default=100000, help="simulated passages")
    ap.add_argument("--seed", type=int, default=2, help="2 = reporting seed, 1 = tuning seed")
    ap.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    ap.add_argument("--frames", default="3-10", metavar="MIN-MAX",
                    help="reads per car, voted by the product's tracker (default 3-10); "
                         "1: every passage is one lone read")
    ap.add_argument("--each-read", action="store_true",
                    help="every read of every car has one confusion of its own (instead of "
                         "the error mix, whose error every read of a car repeats)")
    ap.add_argument("--sweep", action="store_true",
                    help="also replay a grid of max_cost/margin on the same reads (tuning)")
    ap.add_argument("--rule", choices=TEXT_RULES, default=None,
                    help="the text rule to match with (default: text_rule of MatchThresholds)")
    ap.add_argument("--calibration", action="store_true",
                    help="with --frames 1 and the text likelihood rule: compare its leads "
                         "on one-confusion reads with the world's own log-odds "
                         "(match_bound.calibration)")
    ap.add_argument("--oracle", action="store_true",
                    help="with --calibration, also the rule that knows match_bound's model of "
                         "the world (not one the product could have; slower)")
    ap.add_argument("--bound-samples", type=int, default=200_000, metavar="N",
                    help="with --frames 1, the bound of match_bound on the same seed drawn "
                         "with this many samples (its default, so the figures are the same); "
                         "0: not computed")
    args = ap.parse_args(argv)
    lo, _, hi = args.frames.partition("-")
    frames = (int(lo), int(hi or lo))
    rng = random.Random(args.seed)
    started = time.monotonic()
    print(f"drawing {args.plates} registered plates (seed {args.seed})", file=sys.stderr)
    source = PlateSource(rng)
    world = build_world(source, args.plates)
    passages = simulate_passages(source, world, args.passages, frames, args.each_read)
    thresholds = MatchThresholds()
    if args.rule:
        thresholds = replace(thresholds, text_rule=args.rule)
    print(f"matching {len(passages)} passages with {thresholds}", file=sys.stderr)
    calibrate = args.calibration and frames == (1, 1) and thresholds.text_rule == "likelihood"
    result = run(world, passages, thresholds, keep_candidates=args.sweep or calibrate,
                 seed=args.seed)
    summary = summarise(result)
    if calibrate:
        summary["calibration"] = asdict(calibration(
            source, world, calibration_reads(result.wide, thresholds), len(passages)))
        summary["model_check"] = model_check(result.wide, thresholds, source, world,
                                             passages)
        if args.oracle:
            summary["oracle"] = model_oracle(result.wide, source, world, passages)
    summary.update({"seed": args.seed, "frames": args.frames, "each_read": args.each_read,
                    "plates": len(world.owner),
                    "customers": len(world.accounts), "passages": len(passages),
                    "thresholds": {k: getattr(thresholds, k) for k in (
                        "max_cost", "margin", "review_cost", "dropped_rival_cost", "slack",
                        "text_rule", "text_edit_nats", "text_nats_per_cost", "text_margin",
                        "text_rival_margin", "text_unregistered_margin", "text_prior",
                        "unregistered_share", "plates_around")}})
    if frames == (1, 1):
        summary["lone"] = lone_shares(summary)
        if args.bound_samples > 0:
            summary["lone"] |= bound_shares(args.seed, args.plates, args.bound_samples,
                                            summary["lone"])
    if args.sweep:
        summary["sweep"] = [
            replay(result.wide, replace(thresholds, max_cost=m, margin=g, slack=k))
            for m in SWEEP_MAX_COST for g in SWEEP_MARGIN for k in SWEEP_SLACK]
        summary["text_sweep"] = replay_text(result.wide, thresholds, SWEEP_TEXT_CHANNEL,
                                            SWEEP_TEXT_MARGINS)
    summary["seconds"] = round(time.monotonic() - started, 1)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print_table(summary, f"seed {args.seed}: {len(world.owner)} plates of "
                f"{len(world.accounts)} customers, {len(passages)} passages, {thresholds}")
    if "lone" in summary:
        print_lone(summary["lone"])  # type: ignore[arg-type]
    if "calibration" in summary:
        print_calibration(summary["calibration"])  # type: ignore[arg-type]
        print("match_bound's model of every other car against the rule's wrong accounts "
              "beyond exact hits (per 100,000 passages):")
        for m in summary["model_check"]:  # type: ignore[union-attr]
            print(f"  text margin {m['margin']}: expected {m['expected_wrong']:.2f}, observed "
                  f"{m['observed_wrong']}; {m['unexplained']} right check-ins no modelled "
                  "error of the customer's plates gives (estimated); one-confusion reads "
                  f"checked in {100 * m['one_confusion']:.1f}%")
    for m in summary.get("oracle", ()):  # type: ignore[union-attr]
        print(f"  the model itself as the rule, odds against <= {m['odds']:g}: one-confusion "
              f"reads checked in {100 * m['one_confusion']:.1f}%, wrong accounts beyond exact "
              f"hits {m['wrong_beyond_exact']:.0f} (expected {m['expected_wrong']:.2f})")
    if args.sweep:
        print("\nsweep (same reads):")
        print(f"{'slack':>8}{'max_cost':>9}{'margin':>8}{'wrong':>8}{'exact':>7}"
              f"{'review':>8}"
              f"{'clean->rev':>11}{'1-conf ok*':>11}{'unreg->review':>15}")
        for s in summary["sweep"]:  # type: ignore[union-attr]
            print(f"{s['slack']:>8}{s['max_cost']:>9}{s['margin']:>8}"
                  f"{s['wrong_account']:>8}"
                  f"{s['wrong_exact']:>7}{s['needs_review']:>8}"
                  f"{s['clean_registered_to_review']:>11}{100 * s['one_confusion_correct']:>10.2f}%"
                  f"{100 * s['unregistered_to_review']:>14.2f}%")
    if args.sweep:
        print("* one-confusion reads of registered cars that the grammar parsed")
        print("\ntext likelihood sweep (same reads; shares of the cars the grammar parsed):")
        print(f"{'edit':>6}{'/cost':>6}{'margin':>7}{'rival':>6}{'unreg':>6}{'wrong':>6}"
              f"{'exact':>6}{'review':>7}{'reg->unreg':>11}{'1-conf ok':>10}{'clean reg':>10}"
              f"{'clean unreg':>12}")
        for s in summary["text_sweep"]:  # type: ignore[union-attr]
            print(f"{s['text_edit_nats']:>6}{s['text_nats_per_cost']:>6}{s['text_margin']:>7}"
                  f"{s['text_rival_margin']:>6}{s['text_unregistered_margin']:>6}"
                  f"{s['wrong_account']:>6}{s['wrong_exact']:>6}{s['needs_review']:>7}"
                  f"{s['registered_reported_unregistered']:>11}"
                  f"{100 * s['one_confusion_correct']:>9.2f}%"
                  f"{100 * s['clean_registered_correct']:>9.2f}%"
                  f"{100 * s['clean_unregistered_correct']:>11.2f}%")
    print(f"({summary['seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

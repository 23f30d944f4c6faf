"""The recogniser's per-frame character probabilities, kept with a read so that later stages
can ask how likely another text is (CTC forward algorithm), not only what the best path said.

Greedy decoding takes the most likely character in every frame; the most likely *text* can
differ, and a text the plate grammar prefers (an official district) may be nearly as likely
as the one read. ``CharScores.log_likelihood`` answers that question exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLANK = 0  # CTC blank: column 0, characters follow in ``charset`` order


@dataclass(frozen=True, eq=False)
class CharScores:
    """Log-probabilities (frames x (1 + len(charset))) of one crop; column 0 is the blank."""

    log_probs: np.ndarray
    charset: str

    def log_likelihood(self, texts: list[str]) -> np.ndarray:
        """log P(text | crop) for each text, summed over all CTC alignments; ``-inf`` for a
        text with a character the model does not know or too long for the frames."""
        index = {c: i + 1 for i, c in enumerate(self.charset)}
        out = np.full(len(texts), -np.inf)
        known = [i for i, t in enumerate(texts) if t and all(c in index for c in t)]
        if known:
            labels = [[index[c] for c in texts[i]] for i in known]
            out[known] = _ctc_forward(self.log_probs, labels)
        return out


def best_path(scores: np.ndarray, charset: str) -> str:
    """Greedy CTC decoding of (frames x classes) scores: the best class of every frame,
    repeats merged, blanks dropped (EasyOCR's ``decode_greedy``)."""
    best = scores.argmax(1)
    return "".join(charset[k - 1] for i, k in enumerate(best)
                   if k != BLANK and (i == 0 or k != best[i - 1]))


def _extended(labels: list[list[int]]
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The CTC state sequences of ``labels`` (blank, l1, blank, l2, ..., blank), padded to
    the longest: (states, index of each last state, which states exist, where a skip over a
    blank is allowed: between two different characters)."""
    n, longest = len(labels), max(len(lab) for lab in labels)
    states = 2 * longest + 1
    ext = np.full((n, states), BLANK)
    for i, lab in enumerate(labels):
        ext[i, 1:2 * len(lab):2] = lab
    ends = np.array([2 * len(lab) for lab in labels])
    valid = np.arange(states)[None, :] <= ends[:, None]
    skip = np.zeros((n, states), bool)
    skip[:, 2:] = (ext[:, 2:] != BLANK) & (ext[:, 2:] != ext[:, :-2])
    return ext, ends, valid, skip


def _ctc_forward(log_probs: np.ndarray, labels: list[list[int]]) -> np.ndarray:
    """CTC forward algorithm for several label sequences against the same frames at once."""
    frames = log_probs.shape[0]
    ext, ends, valid, skip = _extended(labels)
    n, states = ext.shape
    emit = np.where(valid[None], log_probs[:, ext], -np.inf)  # (frames, n, states)
    alpha = np.full((n, states), -np.inf)
    alpha[:, :2] = emit[0, :, :2]
    with np.errstate(invalid="ignore"):  # -inf + -inf inside logaddexp is fine
        for t in range(1, frames):
            prev1 = np.concatenate([np.full((n, 1), -np.inf), alpha[:, :-1]], axis=1)
            prev2 = np.concatenate([np.full((n, 2), -np.inf), alpha[:, :-2]], axis=1)
            prev2 = np.where(skip, prev2, -np.inf)
            alpha = np.logaddexp(np.logaddexp(alpha, prev1), prev2) + emit[t]
    rows = np.arange(n)
    return np.logaddexp(alpha[rows, ends], alpha[rows, ends - 1])


# A frame whose blank probability is above this is "certainly blank": a run of such frames
# scores every text like one such frame (within about 1e-4 per frame in log-likelihood).
CERTAIN_BLANK = float(np.log(0.9999))


def squeeze_blanks(log_probs: np.ndarray) -> np.ndarray:
    """``log_probs`` with every run of certainly-blank frames kept as its first frame only:
    the same likelihoods for every text to about 1e-4 per dropped frame, and a plate's
    ~50-60 frames become ~15-25, which is what makes scoring a car's reads cheap."""
    blank = log_probs[:, BLANK] > CERTAIN_BLANK
    keep = ~blank
    keep[1:] |= blank[1:] & ~blank[:-1]
    keep[0] = True
    return log_probs[keep]


def log_likelihood_reads(reads: list[np.ndarray], charset: str,
                         texts: list[str]) -> np.ndarray:
    """log P(text | read) for several reads' (frames x classes) scores and the same texts at
    once: a (reads x texts) array, ``-inf`` for a text the model cannot produce. Reads are
    padded to one length with certain-blank frames, which change no likelihood."""
    out = np.full((len(reads), len(texts)), -np.inf)
    index = {c: i + 1 for i, c in enumerate(charset)}
    known = [i for i, t in enumerate(texts) if t and all(c in index for c in t)]
    if not reads or not known:
        return out
    frames = max(r.shape[0] for r in reads)
    classes = reads[0].shape[1]
    pad = np.full((frames, classes), -np.inf)
    pad[:, BLANK] = 0.0
    stacked = np.stack([np.concatenate([r, pad[: frames - r.shape[0]]]) for r in reads])
    labels = [[index[c] for c in texts[i]] for i in known]
    n_reads, n_labels = len(reads), len(labels)
    # every (read, text) pair is one sequence: read-major
    flat = _ctc_forward_batched(stacked, labels)
    out[:, known] = flat.reshape(n_reads, n_labels)
    return out


def _ctc_forward_batched(log_probs: np.ndarray, labels: list[list[int]]) -> np.ndarray:
    """CTC forward for (reads x frames x classes) scores and label sequences: every label
    against every read, read-major (reads * labels values)."""
    n_reads, frames, _ = log_probs.shape
    ext, ends, valid, skip = _extended(labels)
    n, states = ext.shape
    # (reads, frames, labels, states) -> (frames, reads * labels, states), in probabilities:
    # each sequence's alpha is rescaled to a maximum of 1 every frame and the scale kept in
    # logs, so no sum needs a logaddexp (several times faster) and nothing underflows that
    # is within ~700 nats of the sequence's best alignment
    emit = np.exp(log_probs[:, :, ext])
    emit = np.where(valid[None, None], emit, 0.0)
    emit = emit.transpose(1, 0, 2, 3).reshape(frames, n_reads * n, states)
    skip = np.tile(skip, (n_reads, 1))
    m = n_reads * n
    alpha = np.zeros((m, states))
    alpha[:, :2] = emit[0, :, :2]
    log_scale = np.zeros(m)
    step = np.zeros((m, states))
    for t in range(1, frames):
        scale = alpha.max(1)
        scale[scale <= 0] = 1.0
        log_scale += np.log(scale)
        alpha /= scale[:, None]
        step[:] = alpha
        step[:, 1:] += alpha[:, :-1]
        step[:, 2:] += np.where(skip[:, 2:], alpha[:, :-2], 0.0)
        alpha = step * emit[t]
    rows = np.arange(m)
    ends_all = np.tile(ends, n_reads)
    with np.errstate(divide="ignore"):
        return np.log(alpha[rows, ends_all] + alpha[rows, ends_all - 1]) + log_scale

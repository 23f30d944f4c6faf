"""Edit distance and character alignment between plate strings (tracking, evaluation)."""

from __future__ import annotations


def levenshtein(a: str, b: str) -> int:
    """Insertions, deletions and substitutions needed to turn ``a`` into ``b``."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def substitutions(truth: str, read: str) -> list[tuple[str, str]]:
    """The (true, read) character pairs an optimal alignment substitutes; ``""`` stands for
    a dropped or an extra character."""
    n, m = len(truth), len(read)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        d[i][0] = i
    for j in range(m + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1,
                          d[i - 1][j - 1] + (truth[i - 1] != read[j - 1]))
    out: list[tuple[str, str]] = []
    i, j = n, m
    while i or j:
        if i and j and d[i][j] == d[i - 1][j - 1] + (truth[i - 1] != read[j - 1]):
            if truth[i - 1] != read[j - 1]:
                out.append((truth[i - 1], read[j - 1]))
            i, j = i - 1, j - 1
        elif i and d[i][j] == d[i - 1][j] + 1:
            out.append((truth[i - 1], ""))
            i -= 1
        else:
            out.append(("", read[j - 1]))
            j -= 1
    return out[::-1]

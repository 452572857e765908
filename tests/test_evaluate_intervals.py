#!/usr/bin/python3
"""test_evaluate_intervals.py -- tools/evaluate.py scores intervals as documented: the M4
interval score and MSIS, coverage pooled over series per horizon, and the reading of
`tickcast replay --format json` lines, against numbers worked out by hand.

Prints TAP; every case is skipped, saying so, without numpy or statsmodels (the
evaluation's own needs; neither R nor torch is needed).

Environment: TC_SOURCE_ROOT (the repository; default this file's parent).
"""
import math
import os
import sys

ROOT = os.environ.get("TC_SOURCE_ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))


def close(a, b, tol=1e-12):
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tol


def interval_score_by_hand():
    """the interval score of a pair inside, above and below [0, 2] at a = 0.2 is 2, 32 and 12"""
    import evaluate
    got = evaluate.interval_score([1, 5, -1], [0, 0, 0], [2, 2, 2], 0.2)
    want = [2.0, 2 + 10 * 3.0, 2 + 10 * 1.0]
    return [] if all(close(g, w) for g, w in zip(got, want)) else [f"got {list(got)}, want {want}"]


def _series():
    """10 readings, history 7 (in-sample naive MAE 2), the interval [15, 19]
    at every origin and step, and no bounds at origin 7, k = 1."""
    import numpy as np
    x = np.array([0, 2, 4, 6, 8, 10, 12, 20, 16, 18], dtype=float)
    lo = np.full((10, 12), 15.0)
    hi = np.full((10, 12), 19.0)
    lo[7, 0] = np.nan
    return x, lo, hi


def msis_and_hits_by_hand():
    """MSIS and hits per horizon over the scored origins, a pair without bounds left out"""
    import evaluate
    x, lo, hi = _series()
    r = evaluate.score_intervals(x, lo, hi, n_hist=7, m=1, level=0.8)
    # k = 1: origins 6, 8 (7 has no bounds): y = 20 above (4 + 10 * 1 = 14), y = 18 inside (4)
    # k = 2: origins 6, 7: y = 16, 18 inside (4, 4); k = 3: origin 6: y = 18 inside (4)
    # scaled by the history's naive MAE, 2.
    want = {"hits": [1, 2, 1], "pairs": [2, 2, 1], "missing": [1, 0, 0],
            "MSIS": [(14 + 4) / 2 / 2, 4 / 2, 4 / 2]}
    bad = []
    for key, w in want.items():
        got = list(r[key][:3])
        if not all(close(float(g), float(v)) for g, v in zip(got, w)):
            bad.append(f"{key}[k=1..3] {got}, want {w}")
    if any(r["pairs"][3:]) or not all(math.isnan(v) for v in r["MSIS"][3:]):
        bad.append("steps 4..12 have no scored pairs and must count none")
    return bad


def coverage_pooled_by_hand():
    """coverage pools hits and pairs over series per horizon, not the series' shares"""
    import numpy as np
    import accuracy_report
    z = np.zeros(12, int)
    a = {"hits": np.r_[1, 2, 1, z[3:]], "pairs": np.r_[2, 2, 1, z[3:]]}
    b = {"hits": np.r_[3, 0, 0, z[3:]], "pairs": np.r_[3, 2, 0, z[3:]]}
    rows = [{"iv": {"default": a}}, {"iv": {"default": b}}]
    per_k, total = accuracy_report.coverage(rows, "default")
    want = [4 / 5, 2 / 4, 1 / 1]
    bad = [] if all(close(float(g), w) for g, w in zip(per_k[:3], want)) else [
        f"per k {list(per_k[:3])}, want {want}"]
    if not all(math.isnan(v) for v in per_k[3:]):
        bad.append("steps without pairs must be NaN")
    if not close(float(total), 7 / 10):
        bad.append(f"overall {total}, want 0.7")
    return bad


def replay_json_read():
    """replay --format json lines give forecast, lower and upper per tick; bounds absent while warming are NaN"""
    import evaluate
    f = list(range(12))
    lines = [
        '{"series":"a","t":1,"forecast":%s,"warm":false}' % f,
        '{"series":"b","t":1,"forecast":%s,"lower":%s,"upper":%s,"warm":false}'
        % (f, [v - 1 for v in f], [v + 1 for v in f]),
        '{"series":"a","t":2,"forecast":%s,"lower":%s,"upper":%s}'
        % ([v + 10 for v in f], [v + 9 for v in f], [v + 11 for v in f]),
    ]
    got = evaluate.parse_replay_json("\n".join(lines) + "\n", ["a", "b"])
    fa, la, ua = got["a"]
    fb, lb, ub = got["b"]
    bad = []
    if fa.shape != (2, 12) or fb.shape != (1, 12):
        bad.append(f"shapes {fa.shape}, {fb.shape}")
    elif not (math.isnan(la[0, 0]) and la[1, 3] == 12 and ua[1, 3] == 14 and fa[1, 0] == 10
              and lb[0, 11] == 10 and ub[0, 0] == 1):
        bad.append(f"values: a lower {la.tolist()}, b lower {lb.tolist()}")
    return bad


def main():
    tests = [interval_score_by_hand, msis_and_hits_by_hand, coverage_pooled_by_hand,
             replay_json_read]
    print("TAP version 13")
    print("1..%d" % len(tests))
    missing = []
    for mod in ("numpy", "statsmodels"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    failed = 0
    for i, fn in enumerate(tests, 1):
        name = fn.__doc__.strip()
        if missing:
            print(f"ok {i} - {name} # SKIP {', '.join(missing)} not installed")
            continue
        problems = fn()
        if problems:
            failed += 1
            print(f"not ok {i} - {name}")
            for p in problems:
                print("# " + p)
        else:
            print(f"ok {i} - {name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""test_scaler_vectors.py -- the scaler's rule is stated once and shared: the
committed tests/data/scaler/vectors.txt (which tests/test_scaler.c replays
through core/scaler.c) is what tools/scaler.py computes now, and the rule in
tools/scaler.py's docstring is the one docs/models.md and core/scaler.h state.
Plain Python; prints TAP.

Environment: TC_SOURCE_ROOT (the repository; default this file's parent).
"""
import os
import sys

ROOT = os.environ.get("TC_SOURCE_ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import gen_scaler_vectors  # noqa: E402  (tools/gen_scaler_vectors.py)
import scaler  # noqa: E402  (tools/scaler.py)


def rule_lines():
    """The rule's lines in tools/scaler.py's docstring: the indented block
    from "on the first reading" to "forecast, back", without the indent."""
    doc = scaler.__doc__.splitlines()
    start = next(i for i, l in enumerate(doc) if "on the first reading" in l)
    end = next(i for i, l in enumerate(doc) if "forecast, back" in l)
    return [l.strip() for l in doc[start:end + 1]]


def read(*path):
    with open(os.path.join(ROOT, *path)) as f:
        return f.read()


def vectors_are_current():
    return read("tests", "data", "scaler", "vectors.txt") == gen_scaler_vectors.render()


def states_the_rule(text, comment=False):
    """Every line of the rule, in order and whole (in a C comment: after its "*")."""
    lines = [l.strip() for l in text.splitlines()]
    if comment:
        lines = [l[1:].strip() if l.startswith("*") else l for l in lines]
    want = rule_lines()
    for i in range(len(lines) - len(want) + 1):
        if lines[i:i + len(want)] == want:
            return True
    return False


CASES = [
    ("tests/data/scaler/vectors.txt is what tools/gen_scaler_vectors.py writes now "
     "(rerun it after changing tools/scaler.py)", vectors_are_current),
    ("docs/models.md states tools/scaler.py's rule line for line",
     lambda: states_the_rule(read("docs", "models.md"))),
    ("core/scaler.h states tools/scaler.py's rule line for line",
     lambda: states_the_rule(read("core", "scaler.h"), comment=True)),
]


def main():
    print(f"1..{len(CASES)}")
    failed = 0
    for n, (name, check) in enumerate(CASES, 1):
        try:
            ok = check()
            why = ""
        except Exception as e:  # noqa: BLE001 -- a TAP line either way
            ok, why = False, f" ({type(e).__name__}: {e})"
        failed += not ok
        print(f"{'ok' if ok else 'not ok'} {n} - {name}{why}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

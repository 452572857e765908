#!/usr/bin/python3
"""replay_speed.py -- series-steps per second of `tickcast replay` for several model configs.

Makes one input of N series x T ticks of text readings (`s<i> <value> <t>`,
random walks, every series a reading every tick) and times `tickcast replay
-q --config C < input > /dev/null` for each config, the configs taking turns
in every round so that a busy spell on a shared machine falls on all of them.
A rate is N * T / the median wall time of the runs: replay's all-in work
(reading and parsing the lines, filing, the scaler, stepping the layers and
the head, formatting the forecasts), the same for every config but the step.

  /usr/bin/python3 tools/replay_speed.py models/compare/*/tickcast.yaml
  /usr/bin/python3 tools/replay_speed.py --series 16384 --ticks 20 --runs 5 --threads 2 A.yaml B.yaml

Needs numpy, not torch.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)


def make_input(path, series, ticks, seed=0):
    rng = np.random.default_rng(seed)
    x = 100.0 + np.cumsum(rng.standard_normal((ticks, series)), axis=0)
    with open(path, "w") as f:
        for t in range(ticks):
            f.write("".join(f"s{i} {x[t, i]:.6g} {t + 1}\n" for i in range(series)))


def time_replay(tickcast, config, input_path, env):
    with open(input_path) as fin, open(os.devnull, "w") as fout:
        t0 = time.perf_counter()
        r = subprocess.run([tickcast, "replay", "-q", "--config", config], stdin=fin,
                           stdout=fout, stderr=subprocess.PIPE, text=True, env=env)
        dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"tickcast replay --config {config} failed ({r.returncode}): "
                           f"{r.stderr[-2000:]}")
    return dt


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("configs", nargs="+", help="tickcast configs, one per model")
    ap.add_argument("--series", type=int, default=16384, help="series (16384)")
    ap.add_argument("--ticks", type=int, default=20, help="ticks (20)")
    ap.add_argument("--runs", type=int, default=5, help="runs per config (5)")
    ap.add_argument("--threads", type=int, default=2, help="OMP_NUM_THREADS (2)")
    ap.add_argument("--tickcast", default=os.path.join(ROOT, "build", "cli", "tickcast"),
                    help="the tickcast program (default: build/cli/tickcast)")
    args = ap.parse_args(argv)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "readings.txt")
        make_input(path, args.series, args.ticks)
        for c in args.configs:                        # a first run each: page cache, weights
            time_replay(args.tickcast, c, path, env)
        times = {c: [] for c in args.configs}
        for _ in range(args.runs):
            for c in args.configs:
                times[c].append(time_replay(args.tickcast, c, path, env))
    steps = args.series * args.ticks
    print(f"{args.series} series x {args.ticks} ticks, OMP_NUM_THREADS={args.threads}, "
          f"median of {args.runs} runs")
    print("| config | median s | min s | max s | series-steps/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for c, ts in times.items():
        med = statistics.median(ts)
        print(f"| {c} | {med:.3f} | {min(ts):.3f} | {max(ts):.3f} | {steps / med:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

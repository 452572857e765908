#!/usr/bin/python3
"""verify_replay.py -- random models and inputs through PyTorch and `tickcast replay`.

Each trial draws a model (1..3 layers of random sizes, nn.GRU in one stack or
per layer, random input size and head), a batch of series and steps, writes
the weights and a config to a temp folder, runs `tickcast replay` on readings
one second apart (one bucket per step), and compares every forecast with
PyTorch's. Prints the largest difference per trial; exits 1 above 1e-4.

  /usr/bin/python3 tools/verify_replay.py [--trials N] [--seed S] [--tickcast PATH]
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import write_safetensors  # noqa: E402


def draw_model(rng):
    layers = [rng.choice([1, 3, 8, 17, 32, 40, 64, 100]) for _ in range(rng.randint(1, 3))]
    input_size = rng.choice([1, 1, 2, 5])
    outputs = rng.choice([1, 4, 12, 30])
    grus = []
    prev = input_size
    for h in layers:
        grus.append(torch.nn.GRU(prev, h, batch_first=True).double())
        prev = h
    head = torch.nn.Linear(prev, outputs).double()
    for m in grus + [head]:
        for p in m.parameters():
            with torch.no_grad():
                p.copy_(p.float().double())  # exactly representable in float32
    return input_size, layers, grus, head


def state_dict(grus, head):
    sd = {}
    for k, g in enumerate(grus):
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            sd[f"gru.{name}_l{k}"] = getattr(g, f"{name}_l0").detach().float().numpy()
    sd["fc.weight"] = head.weight.detach().float().numpy()
    sd["fc.bias"] = head.bias.detach().float().numpy()
    return sd


def trial(rng, tickcast, folder):
    input_size, layers, grus, head = draw_model(rng)
    series, steps = rng.choice([1, 3, 40, 700]), rng.randint(1, 12)
    x = torch.randn(series, steps, input_size).float().double()
    with torch.no_grad():
        out = x
        for g in grus:
            out, _ = g(out)
        want = head(out)  # (series, steps, outputs)
    write_safetensors(os.path.join(folder, "m.safetensors"), state_dict(grus, head))
    with open(os.path.join(folder, "c.yaml"), "w") as f:
        f.write("model:\n  weights: m.safetensors\n"
                f"  input_size: {input_size}\n  layers:\n")
        for h in layers:
            f.write(f"    - {{type: gru, hidden: {h}}}\n")
        f.write(f"  head: {{type: linear, outputs: {head.out_features}}}\n"
                "tick: {clock: event, interval_ms: 1000}\n")
    lines = []
    for t in range(steps):
        for s in range(series):
            values = ",".join("%.9g" % v for v in x[s, t].tolist())
            lines.append(f"s{s} {values} {t}")
    got = subprocess.run([tickcast, "replay", "-q", "--config", os.path.join(folder, "c.yaml")],
                         input="\n".join(lines) + "\n", capture_output=True, text=True, check=True)
    worst = 0.0
    rows = got.stdout.splitlines()
    assert len(rows) == series * steps, f"{len(rows)} lines, expected {series * steps}"
    for i, row in enumerate(rows):
        fields = row.split()
        t, s = divmod(i, series)
        assert fields[0] == f"s{s}" and fields[1] == str(t), row[:40]
        diff = (torch.tensor([float(v) for v in fields[2:]], dtype=torch.float64) - want[s, t]).abs()
        worst = max(worst, diff.max().item())
    return f"I={input_size} layers={layers} O={head.out_features} series={series} steps={steps}", worst


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--tickcast", default="build/cli/tickcast")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    failed = 0
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.trials):
            what, worst = trial(rng, args.tickcast, folder)
            ok = worst <= 1e-4
            failed += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {worst:.2e}  {what}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

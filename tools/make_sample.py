#!/usr/bin/python3
"""make_sample.py -- the bundled sample model and readings for the quick start.

Trains a small forecaster (nn.GRU(1, 64, 2) + nn.Linear(64, 12): output k
forecasts the reading k+1 ticks ahead) for a couple of minutes on synthetic
seasonal series, and writes:
  models/sample.safetensors   its state_dict, as tickcast loads it
  models/sample-readings.txt  readings of 8 unseen series, for `tickcast replay`
It is a placeholder until the trained default model exists: good enough to
show forecasts that follow a wave, not a model to rely on.

Run with Debian's Python (python3-torch): /usr/bin/python3 tools/make_sample.py
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import write_safetensors  # noqa: E402

HORIZON = 12
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


class Forecaster(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = torch.nn.GRU(1, 64, num_layers=2, batch_first=True)
        self.fc = torch.nn.Linear(64, HORIZON)

    def forward(self, x):
        out, _ = self.gru(x)
        return self.fc(out)


def synthetic(gen, n, length):
    """Unit-scale waves: random period, phase, trend and noise."""
    t = torch.arange(length, dtype=torch.float32)
    period = 6 + 30 * torch.rand(n, 1, generator=gen)
    phase = 2 * math.pi * torch.rand(n, 1, generator=gen)
    trend = 0.01 * torch.randn(n, 1, generator=gen)
    noise = 0.1 * torch.rand(n, 1, generator=gen) * torch.randn(n, length, generator=gen)
    return torch.sin(2 * math.pi * t / period + phase) + trend * (t - length / 2) + noise


def targets(series):
    """y[:, t, k] = series[:, t + k + 1]; the last HORIZON steps are dropped."""
    n, length = series.shape
    idx = torch.arange(length - HORIZON)[:, None] + torch.arange(1, HORIZON + 1)[None, :]
    return series[:, idx]


def main():
    torch.manual_seed(0)
    torch.set_num_threads(2)
    gen = torch.Generator().manual_seed(1)
    model = Forecaster()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(400):
        x = synthetic(gen, 64, 96)
        pred = model(x[:, :, None])[:, : -HORIZON]
        loss = torch.nn.functional.mse_loss(pred, targets(x))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0:
            print(f"step {step}: mse {loss.item():.4f}", file=sys.stderr)
    print(f"final mse {loss.item():.4f}", file=sys.stderr)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    os.makedirs(os.path.join(ROOT, "models"), exist_ok=True)
    write_safetensors(os.path.join(ROOT, "models", "sample.safetensors"), state)
    series = synthetic(torch.Generator().manual_seed(2), 8, 120)
    with open(os.path.join(ROOT, "models", "sample-readings.txt"), "w") as f:
        for t in range(series.shape[1]):
            for s in range(series.shape[0]):
                f.write(f"sensor-{s} {series[s, t].item():.6g} {1700000000 + t}\n")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""bench_torch.py -- PyTorch's nn.GRU + nn.Linear on bench_compare's weights, driven over stdin.

bench_compare (benches/bench_torch_client.c) starts this once and keeps it
running, so that its timed runs can alternate with tickcast's and oneDNN's.
The first line written is "ready <about>" or "unavailable <why>"; then one
command per line on stdin, one reply per line on stdout, "ok ..." or
"error <message>":

  load PATH H MAXB S  the weights and inputs bench_compare wrote (raw float32,
                      little-endian): per layer weight_ih [3H, I_k], weight_hh
                      [3H, H], bias_ih [3H], bias_hh [3H]; fc.weight [O, H],
                      fc.bias [O]; inputs [MAXB, I]; check inputs [S, MAXB, I]
  prepare B THREADS   torch.set_num_threads(THREADS); zero state for B series
  warm SECONDS        step until SECONDS have passed     -> ok STEPS ELAPSED_S
  run STEPS           step STEPS times                   -> ok ELAPSED_S
  check B PATH        S steps from a zero state on the check inputs; writes
                      the outputs [S, B, O] then the hidden state [L, B, H]
                      to PATH as raw float32
  quit

PyTorch runs as it runs best here (see docs/measuring.md): under
torch.inference_mode(), the hidden state carried from step to step, OpenBLAS
(reported in the ready line), and the glibc malloc settings that bench_compare
puts in this process's environment.
"""
import os
import sys
import time

LAYERS = 2
INPUT = 1
OUTPUTS = 12


def blas_library():
    """The BLAS shared object this process mapped, e.g. 'openblas-openmp/libblas.so.3'."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "blas" in line and "/" in line}
    except OSError:
        return "unknown"
    blas = [p for p in paths if "libblas" in p or "libopenblas" in p] or sorted(paths)
    names = sorted("/".join(p.split("/")[-2:]) for p in blas)
    return ",".join(names) if names else "none mapped"


class Bench:
    def __init__(self, torch, np):
        self.torch = torch
        self.np = np
        self.gru = None
        self.fc = None

    def load(self, path, hidden, max_batch, check_steps):
        torch, np = self.torch, self.np
        hidden, max_batch, check_steps = int(hidden), int(max_batch), int(check_steps)
        data = np.fromfile(path, dtype="<f4")
        pos = 0

        def take(*shape):
            nonlocal pos
            n = int(np.prod(shape))
            if pos + n > data.size:
                raise ValueError(f"{path}: ends at {data.size} floats, expected more")
            t = torch.from_numpy(data[pos:pos + n].reshape(shape).copy())
            pos += n
            return t

        self.gru = torch.nn.GRU(INPUT, hidden, LAYERS)
        self.fc = torch.nn.Linear(hidden, OUTPUTS)
        with torch.no_grad():
            for k in range(LAYERS):
                inp = INPUT if k == 0 else hidden
                getattr(self.gru, f"weight_ih_l{k}").copy_(take(3 * hidden, inp))
                getattr(self.gru, f"weight_hh_l{k}").copy_(take(3 * hidden, hidden))
                getattr(self.gru, f"bias_ih_l{k}").copy_(take(3 * hidden))
                getattr(self.gru, f"bias_hh_l{k}").copy_(take(3 * hidden))
            self.fc.weight.copy_(take(OUTPUTS, hidden))
            self.fc.bias.copy_(take(OUTPUTS))
        self.gru.eval()
        self.fc.eval()
        self.hidden = hidden
        self.inputs = take(max_batch, INPUT)
        self.check_inputs = take(check_steps, max_batch, INPUT)
        if pos != data.size:
            raise ValueError(f"{path}: {data.size} floats, expected {pos}")
        return "ok"

    def step(self, x, h):
        out, h = self.gru(x, h)
        return self.fc(out[0]), h

    def prepare(self, batch, threads):
        batch = int(batch)
        self.torch.set_num_threads(int(threads))
        self.x = self.inputs[:batch].reshape(1, batch, INPUT)
        self.h = self.torch.zeros(LAYERS, batch, self.hidden)
        return f"ok threads={self.torch.get_num_threads()}"

    def warm(self, seconds):
        seconds = float(seconds)
        steps, t0 = 0, time.perf_counter()
        elapsed = 0.0
        while elapsed < seconds:
            _, self.h = self.step(self.x, self.h)
            steps += 1
            elapsed = time.perf_counter() - t0
        return f"ok {steps} {elapsed:.9f}"

    def run(self, steps):
        x, h, step = self.x, self.h, self.step
        t0 = time.perf_counter()
        for _ in range(int(steps)):
            _, h = step(x, h)
        elapsed = time.perf_counter() - t0
        self.h = h
        return f"ok {elapsed:.9f}"

    def check(self, batch, path):
        torch = self.torch
        batch = int(batch)
        h = torch.zeros(LAYERS, batch, self.hidden)
        ys = []
        for s in range(self.check_inputs.shape[0]):
            y, h = self.step(self.check_inputs[s, :batch].reshape(1, batch, INPUT), h)
            ys.append(y)
        out = torch.cat([torch.stack(ys).reshape(-1), h.reshape(-1)])
        out.numpy().astype("<f4").tofile(path)
        return "ok"


def main():
    try:
        import numpy as np
        import torch
    except Exception as e:  # ImportError, or a broken install
        print(f"unavailable {sys.executable} cannot import torch and numpy: {e}", flush=True)
        return 0
    torch.ones(64, 64) @ torch.ones(64, 64)  # maps the BLAS library
    malloc = "tuned" if os.environ.get("MALLOC_MMAP_THRESHOLD_") else "default"
    print(f"ready PyTorch {torch.__version__}, BLAS {blas_library()}, glibc malloc {malloc}",
          flush=True)
    bench = Bench(torch, np)
    commands = {"load": bench.load, "prepare": bench.prepare, "warm": bench.warm,
                "run": bench.run, "check": bench.check}
    with torch.inference_mode():
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            if words[0] == "quit":
                break
            try:
                reply = commands[words[0]](*words[1:])
            except Exception as e:
                reply = f"error {words[0]}: {type(e).__name__}: {e}".replace("\n", " ")
            print(reply, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Generate tickcast's golden test data: tests/data/golden/<case>/.

Run with Debian's /usr/bin/python3, which has PyTorch (1.13) and numpy; the
`python3` first on PATH may be a pyenv interpreter without torch:

    /usr/bin/python3 tools/gen_golden.py            # from the repository root

Each case folder holds
    config.yaml        tickcast's config (model + event-clock tick section)
    model.safetensors  float32 weights, named as nn.GRU / nn.LSTM / nn.RNN /
                       nn.Linear / nn.LayerNorm name them
    input.txt          readings `<series> <v1>[,<v2>...] <timestamp>`, as
                       `tickcast replay` reads them
    expected.txt       `# tolerance <x>`, then one line per forecast:
                       `<series> <bucket start seconds> <y1> ... <yO>`

The expectation is computed in float64 from the float32 weights and float32
input values that the files hold, so it is the exact answer that float32 C code
approximates; the tolerance bounds the C code's float32 rounding. Two parts:

  * the tick semantics (docs/design.md, "Ticks", event clock, as replay runs it) are
    implemented here in plain Python (`event_ticks`), independently of the C
    code: which series step in which bucket, with which (aggregated) input;
  * with `model.scaler: ema` (one case), each series' inputs are standardised
    and its outputs restored by tools/scaler.py, the rule's Python twin, and
    the standardised input is rounded to float32, as the C model takes it;
  * the model is an independent reference: PyTorch's nn.GRU for
    `reset_after: true`, a hand-written numpy formula (Cho et al.) for
    `reset_after: false`, the source article's own code for the article
    case, and nn.GRU / nn.LSTM / nn.RNN with an nn.Sequential head for the
    stacks of tools/golden_stack.py (gru, lstm and rnn layers from several
    modules, MLP heads with every head op). A second, generic numpy implementation cross-checks each of them in
    float64 and estimates the float32 error, which must stay well below the
    case's tolerance.

Everything is seeded (one numpy Generator per case, derived from the case name),
so a rerun writes the same bytes.
"""

import argparse
import math
import os
import shutil
import sys
import zlib
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import article_gru  # noqa: E402  (tools/article_gru.py)
import golden_stack  # noqa: E402  (tools/golden_stack.py)
from golden_stack import Layer, Op, StackSpec, uniform  # noqa: E402
from scaler import EmaScaler  # noqa: E402  (tools/scaler.py)
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402

SEED = 20240611
T0_MS = 1_700_000_000_000     # epoch-scale timestamps, as real producers send
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "tests", "data", "golden")

torch.set_num_threads(1)      # bitwise-reproducible float64 results


# --------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------

def fmt_float(v):
    """'%.9g': enough digits for strtof to give back the same float32."""
    return "%.9g" % float(v)


def fmt_seconds(ms):
    """Milliseconds -> seconds as tickcast prints them: f"{ms/1000:.3f}" with
    trailing zeros, then a trailing '.', stripped (12000 -> "12", 1500 -> "1.5").
    Done in integers so epoch-scale values are exact."""
    assert isinstance(ms, int) and ms >= 0
    s = f"{ms // 1000}.{ms % 1000:03d}".rstrip("0").rstrip(".")
    assert s == f"{ms / 1000:.3f}".rstrip("0").rstrip("."), ms
    return s


def fmt_values(v):
    """A float32 vector as 'a,b,c', checking each prints back exactly."""
    out = []
    for x in np.asarray(v, dtype=np.float32):
        s = fmt_float(x)
        assert np.float32(float(s)) == x, (s, x)
        out.append(s)
    return ",".join(out)


# --------------------------------------------------------------------------
# Model weights
# --------------------------------------------------------------------------

@dataclass
class Spec:
    input_size: int
    hidden: list                  # H_k per layer
    outputs: int
    reset_after: bool
    tensors: dict = field(default_factory=dict)   # name -> float32 ndarray

    def layer_inputs(self):
        return [self.input_size] + self.hidden[:-1]

    def state_widths(self):
        return self.hidden

    def numpy_model(self, dtype):
        return NumpyGRU(self, dtype)


def random_spec(rng, input_size, hidden, outputs, reset_after=True):
    """PyTorch's default init scale: U(-1/sqrt(H), 1/sqrt(H)) for every GRU
    tensor, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the head; biases included,
    so they are nonzero."""
    spec = Spec(input_size, list(hidden), outputs, reset_after)
    t = spec.tensors
    for k, (n_in, h) in enumerate(zip(spec.layer_inputs(), spec.hidden)):
        b = 1.0 / math.sqrt(h)
        t[f"gru.weight_ih_l{k}"] = uniform(rng, b, (3 * h, n_in))
        t[f"gru.weight_hh_l{k}"] = uniform(rng, b, (3 * h, h))
        t[f"gru.bias_ih_l{k}"] = uniform(rng, b, (3 * h,))
        t[f"gru.bias_hh_l{k}"] = uniform(rng, b, (3 * h,))
    b = 1.0 / math.sqrt(spec.hidden[-1])
    t["fc.weight"] = uniform(rng, b, (outputs, spec.hidden[-1]))
    t["fc.bias"] = uniform(rng, b, (outputs,))
    for name, arr in t.items():
        if "bias" in name:
            assert np.all(arr != 0), name
    return spec


# --------------------------------------------------------------------------
# Reference models. Each has step(x, hs) -> (new_hs, y) on float64 numpy
# arrays: x [S, I], hs = [h_k [S, H_k] per layer], y [S, O].
# --------------------------------------------------------------------------

class Net(nn.Module):
    """The source article's PyTorch module: the names tickcast's file uses."""

    def __init__(self, input_size, hidden, num_layers, outputs):
        super().__init__()
        self.gru = nn.GRU(input_size, hidden, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden, outputs)


class TorchOracle:
    """nn.GRU (reset_after semantics), float64.

    Equal layer sizes: one Net with nn.GRU(num_layers=L), loaded with
    load_state_dict(strict=True), which proves the tensor names and shapes are
    exactly PyTorch's. Different sizes: a chain of single-layer nn.GRUs, layer
    k loaded from the _l{k} tensors, run one after another at each step."""

    def __init__(self, spec):
        assert spec.reset_after
        sd = {k: torch.from_numpy(v.copy()) for k, v in spec.tensors.items()}
        self.equal = len(set(spec.hidden)) == 1
        if self.equal:
            net = Net(spec.input_size, spec.hidden[0], len(spec.hidden), spec.outputs)
            net.load_state_dict(sd, strict=True)
            self.net = net.double().eval()
        else:
            self.layers = []
            for k, (n_in, h) in enumerate(zip(spec.layer_inputs(), spec.hidden)):
                g = nn.GRU(n_in, h, 1, batch_first=True)
                g.load_state_dict({f"{w}_l0": sd[f"gru.{w}_l{k}"] for w in
                                   ("weight_ih", "weight_hh", "bias_ih", "bias_hh")},
                                  strict=True)
                self.layers.append(g.double().eval())
            fc = nn.Linear(spec.hidden[-1], spec.outputs)
            fc.load_state_dict({"weight": sd["fc.weight"], "bias": sd["fc.bias"]}, strict=True)
            self.fc = fc.double().eval()

    @torch.no_grad()
    def step(self, x, hs):
        inp = torch.from_numpy(x).unsqueeze(1)                  # [S, 1, I]
        if self.equal:
            h0 = torch.from_numpy(np.stack(hs))                 # [L, S, H]
            out, hn = self.net.gru(inp, h0)
            y = self.net.fc(out[:, -1])
            return [hn[k].numpy().copy() for k in range(len(hs))], y.numpy()
        new = []
        for g, h in zip(self.layers, hs):
            inp, hn = g(inp, torch.from_numpy(h).unsqueeze(0))
            new.append(hn[0].numpy().copy())
        return new, self.fc(inp[:, -1]).numpy()


class NumpyGRU:
    """The GRU written out by hand from docs/design.md, "The model", in a chosen dtype.

    reset_after=True:  n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    reset_after=False: n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)   (Cho et al.)

    In float64 it is the oracle of the reset_after=false cases and the
    cross-check of the others; in float32 it estimates float32 rounding."""

    def __init__(self, spec, dtype=np.float64):
        self.spec, self.dtype = spec, dtype
        self.t = {k: v.astype(dtype) for k, v in spec.tensors.items()}

    def step(self, x, hs):
        dt, t = self.dtype, self.t
        inp = x.astype(dt)
        new = []
        with np.errstate(over="ignore"):
            sig = lambda a: 1.0 / (1.0 + np.exp(-a))  # noqa: E731
            for k, h in enumerate(hs):
                h = h.astype(dt)
                H = self.spec.hidden[k]
                W_ih, W_hh = t[f"gru.weight_ih_l{k}"], t[f"gru.weight_hh_l{k}"]
                b_ih, b_hh = t[f"gru.bias_ih_l{k}"], t[f"gru.bias_hh_l{k}"]
                gi = inp @ W_ih.T + b_ih                        # [S, 3H] rows r, z, n
                r_, z_, n_ = slice(0, H), slice(H, 2 * H), slice(2 * H, 3 * H)
                r = sig(gi[:, r_] + h @ W_hh[r_].T + b_hh[r_])
                z = sig(gi[:, z_] + h @ W_hh[z_].T + b_hh[z_])
                if self.spec.reset_after:
                    n = np.tanh(gi[:, n_] + r * (h @ W_hh[n_].T + b_hh[n_]))
                else:
                    n = np.tanh(gi[:, n_] + (r * h) @ W_hh[n_].T + b_hh[n_])
                h = (1 - z) * n + z * h
                new.append(h)
                inp = h
        y = inp @ t["fc.weight"].T + t["fc.bias"]
        return new, y


class ArticleOracle:
    """The source article's own forward code (tools/article_gru.gru), float64."""

    def __init__(self, params):
        self.params = {k: torch.from_numpy(np.asarray(v, dtype=np.float64))
                       for k, v in params.items()}

    @torch.no_grad()
    def step(self, x, hs):
        (h,) = hs
        y, (hn,) = article_gru.gru(torch.from_numpy(x).unsqueeze(0),
                                   (torch.from_numpy(h),), self.params)
        return [hn.numpy().copy()], y.numpy()


# --------------------------------------------------------------------------
# Tick semantics (event clock, as `tickcast replay` runs it)
# --------------------------------------------------------------------------

@dataclass
class Tick:
    interval_ms: int = 1000
    flush_ms: int = 1000
    aggregate: str = "last"     # last | mean | min | max | sum
    missing: str = "skip"       # skip | hold | zero


def bucket_of(ts, interval_ms):
    """floor(t * 1000 / interval_ms), exactly (t parsed as a decimal). The
    timestamps used here are whole milliseconds, so double arithmetic, as in C,
    gives the same bucket; that is asserted."""
    exact = math.floor(Fraction(ts) * 1000 / interval_ms)
    assert exact == math.floor(float(ts) * 1000.0 / interval_ms), ts
    return exact


def aggregate(values, how):
    a = np.stack(values).astype(np.float64)    # elementwise over the readings
    return {"last": lambda: a[-1], "mean": lambda: a.mean(axis=0),
            "min": lambda: a.min(axis=0), "max": lambda: a.max(axis=0),
            "sum": lambda: a.sum(axis=0)}[how]()


def event_ticks(readings, tick, input_size, fresh=None):
    """Replay `readings` [(series, float32 vector, timestamp string)] in file
    order. Returns (ticks, late): ticks is a list of (bucket, [(series, x)])
    with the series in registration order, x the float64 input of its step.
    When `fresh` is a list, it gets, per tick, the set of series that had a
    reading in it (the others step by tick.missing).

    - a reading opens its bucket if none is open; a reading of a later bucket
      steps the open bucket and opens its own; a reading of an earlier bucket
      is late: dropped, and it does not register its series;
    - a series registers on its first accepted reading (hidden state zeros);
    - a series' readings in one bucket are combined by tick.aggregate;
    - a known series without readings in the bucket: skip (no step), hold (its
      previous step's input again), zero (a zero input);
    - only buckets with an accepted reading step; end of input steps the open
      bucket."""
    ticks, late = [], []
    order, registered = [], set()
    last_input = {}
    open_bucket, pending = None, {}

    def close():
        batch = []
        for s in order:
            if s in pending:
                x = aggregate(pending[s], tick.aggregate)
            elif tick.missing == "skip":
                continue
            elif tick.missing == "hold":
                x = last_input[s]
            else:
                x = np.zeros(input_size)
            last_input[s] = x
            batch.append((s, x))
        ticks.append((open_bucket, batch))
        if fresh is not None:
            fresh.append(set(pending))

    for i, (s, v, ts) in enumerate(readings):
        b = bucket_of(ts, tick.interval_ms)
        if open_bucket is not None and b < open_bucket:
            late.append(i)
            continue
        if open_bucket is not None and b > open_bucket:
            close()
            pending = {}
        open_bucket = b
        if s not in registered:
            registered.add(s)
            order.append(s)
        pending.setdefault(s, []).append(np.asarray(v, dtype=np.float32))
    if open_bucket is not None:
        close()
    return ticks, late


def run_model(ticks, model, spec):
    """Step `model` through the ticks, one batched step per bucket. Returns
    [(series, bucket, y)] in output order."""
    state = {}
    out = []
    for bucket, batch in ticks:
        names = [s for s, _ in batch]
        x = np.stack([x for _, x in batch]).astype(np.float64)
        hs = [np.stack([state[s][k] if s in state else np.zeros(w)
                        for s in names]) for k, w in enumerate(spec.state_widths())]
        new, y = model.step(x, hs)
        for i, s in enumerate(names):
            state[s] = [h[i] for h in new]
            out.append((s, bucket, y[i]))
    return out


# --------------------------------------------------------------------------
# Readings
# --------------------------------------------------------------------------

def regular_stream(rng, series, steps, input_size, interval_ms=1000):
    """Every series once per bucket, at the bucket start. The first bucket
    lists the series in order (that is their registration order); later
    buckets list them shuffled, so output order must come from registration,
    not from file order."""
    readings = []
    for step in range(steps):
        ts = fmt_seconds(T0_MS + step * interval_ms)
        names = list(series) if step == 0 else [series[i] for i in rng.permutation(len(series))]
        for s in names:
            readings.append((s, rng.standard_normal(input_size).astype(np.float32), ts))
    return readings


# The replay script: (series, bucket relative to T0, ms into that bucket, late?)
# with interval_ms 500. Buckets 0-3 and 8-11 receive readings (8 steps); 4-7 are
# a gap of empty buckets. Points it exercises:
#   - several readings per series per bucket, at non-integer timestamps, some
#     exactly on a bucket boundary (.0 / .5) and some 1 ms before the next;
#   - series missing from some buckets (A in 1, B in 3/9, D in 9, E in 8/10...);
#   - late readings: into the bucket just closed, into long-closed ones, into
#     a never-opened gap bucket (5 < 8), and at the last ms of the previous one;
#   - a late reading of a series not yet known ("late_newcomer", bucket 2) does
#     not register it: "edge.eu-west.temp" (accepted next) comes first;
#     "ghost" only ever sends late readings and never appears in the output;
#   - a reading whose timestamp is earlier than the one before it, but in the
#     open bucket, is accepted, and is the "last" (file order, not time order);
#   - readings in a bucket listed out of registration order.
A, B, C = "web-01.cpu", "db/main:p99_ms", "sensor_7"
D, E, G = "edge.eu-west.temp", "late_newcomer", "ghost"
REPLAY_SCRIPT = [
    # bucket 0
    (A, 0, 0, False), (B, 0, 120, False), (A, 0, 250, False), (C, 0, 310, False),
    (A, 0, 499, False),
    # bucket 1 (A missing)
    (B, 1, 5, False), (C, 1, 100, False), (B, 1, 200, False), (C, 1, 450, False),
    (B, 1, 460, False),
    # bucket 2: opened by A; then E (unknown yet) late, D registers, E registers
    (A, 2, 50, False), (G, 1, 300, True), (E, 1, 400, True), (D, 2, 20, False),
    (E, 2, 60, False), (A, 1, 499, True), (A, 2, 40, False), (B, 2, 300, False),
    (C, 0, 10, True),
    # bucket 3 (B missing)
    (C, 3, 10, False), (A, 3, 100, False), (D, 3, 200, False), (C, 3, 210, False),
    (E, 3, 220, False), (C, 3, 480, False),
    # buckets 4-7: empty. bucket 8 (C, E missing)
    (B, 8, 0, False), (C, 5, 100, True), (A, 8, 250, False), (D, 3, 499, True),
    (B, 8, 400, False), (D, 8, 410, False),
    # bucket 9 (B, D missing)
    (A, 9, 1, False), (E, 9, 2, False), (G, 0, 0, True), (C, 9, 300, False),
    (A, 9, 301, False), (E, 9, 499, False),
    # bucket 10 (A, C, E missing)
    (D, 10, 100, False), (D, 10, 101, False), (D, 10, 102, False), (B, 10, 350, False),
    # bucket 11: all, listed out of registration order, plus a late one
    (E, 11, 0, False), (C, 11, 0, False), (A, 11, 0, False), (D, 11, 0, False),
    (B, 11, 0, False), (A, 11, 250, False), (C, 11, 260, False), (B, 10, 499, True),
]
REPLAY_INTERVAL_MS = 500


def replay_stream(rng, input_size):
    readings, late = [], []
    for i, (s, b, off, is_late) in enumerate(REPLAY_SCRIPT):
        assert 0 <= off < REPLAY_INTERVAL_MS
        ts = fmt_seconds(T0_MS + b * REPLAY_INTERVAL_MS + off)
        readings.append((s, rng.standard_normal(input_size).astype(np.float32), ts))
        if is_late:
            late.append(i)
    return readings, late


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------

@dataclass
class Case:
    name: str
    covers: str
    spec: Spec
    oracle: object
    readings: list
    tick: Tick
    tolerance: float
    expect_late: list = None      # indices of readings that must be late
    scaler: dict = None           # model.scaler ema: {"alpha": a, "warmup": w}
    rel_tolerance: float = 0.0    # added to the tolerance, times |expected value|


def rng_for(name):
    """One Generator per name, independent of which other cases exist."""
    return np.random.default_rng([SEED, zlib.crc32(name.encode())])


def series_names(prefix, n):
    return [f"{prefix}{i:0{len(str(n - 1))}d}" for i in range(n)]


def simple_case(name, covers, input_size, hidden, outputs, series, steps, tol,
                reset_after=True):
    rng = rng_for(name)
    spec = random_spec(rng, input_size, hidden, outputs, reset_after)
    oracle = TorchOracle(spec) if reset_after else NumpyGRU(spec, np.float64)
    return Case(name, covers, spec, oracle,
                regular_stream(rng, series, steps, input_size), Tick(), tol)


def article_case(name, covers, input_size, hidden, outputs, series, steps, tol):
    rng = rng_for(name)
    b = 1.0 / math.sqrt(hidden)
    shapes = {"W_xz": (input_size, hidden), "W_hz": (hidden, hidden), "b_z": (hidden,),
              "W_xr": (input_size, hidden), "W_hr": (hidden, hidden), "b_r": (hidden,),
              "W_xh": (input_size, hidden), "W_hh": (hidden, hidden), "b_h": (hidden,),
              "W_hq": (hidden, outputs), "b_q": (outputs,)}
    params = {n: uniform(rng, b, shapes[n]) for n in article_gru.PARAM_NAMES}
    for n in ("b_z", "b_r", "b_h", "b_q"):
        assert np.all(params[n] != 0)
    sd = article_gru.to_state_dict(params)
    assert article_gru.model_sizes(params) == (input_size, hidden, outputs)
    spec = Spec(input_size, [hidden], outputs, False,
                {k: v.numpy().copy() for k, v in sd.items()})
    return Case(name, covers, spec, ArticleOracle(params),
                regular_stream(rng, series, steps, input_size), Tick(), tol)


def replay_case(name, covers, family, input_size, tick):
    """Replay cases of one family share their model and input.txt; only the
    tick section of the config (and so the expectation) differs."""
    spec = random_spec(rng_for(family + "/model"), input_size, [12], 2 * input_size)
    readings, late = replay_stream(rng_for(family + "/input"), input_size)
    return Case(name, covers, spec, TorchOracle(spec), readings, tick, 1e-5, late)


def scaled_stream(rng, series, buckets, input_size, interval_ms=1000):
    """Series (name, first, offsets, scales): readings offset + scale * N(0, 1)
    per value. Each series starts in bucket `first`, then has no reading in about
    one bucket of four (tick.missing applies) and two in about one of five
    (the last counts), at times inside the bucket."""
    readings = []
    for b in range(buckets):
        for name, first, offset, scale in series:
            if b < first or (b > first and rng.random() < 0.25):
                continue
            for _ in range(2 if rng.random() < 0.2 else 1):
                ms = T0_MS + b * interval_ms + int(rng.integers(0, interval_ms))
                v = np.asarray(offset) + np.asarray(scale) * rng.standard_normal(input_size)
                readings.append((name, v.astype(np.float32), fmt_seconds(ms)))
    # within a bucket, readings go in time order, as a producer sends them
    return sorted(readings, key=lambda r: Fraction(r[2]))


def scaler_case(name, covers, tick, alpha, warmup):
    rng = rng_for(name)
    spec = random_spec(rng, 2, [16], 4)
    series = [("plant.flow", 0, (100.0, 1e4), (2.0, 30.0)),
              ("grid.load", 0, (1e4, 100.0), (20.0, 0.5)),
              ("edge.temp", 1, (-40.0, 0.25), (0.1, 0.01)),
              ("late.join", 5, (3.0, -1e4), (1.0, 5.0))]
    readings = scaled_stream(rng, series, 14, 2)
    # A forecast is m + s * y_model: the model's float32 error grows by s (at
    # most ~60 here) and the result is rounded to float32 (up to 6e-8 of
    # ~1e4). Absolute 1e-4 covers the first, relative 1e-6 the second, each
    # with a margin of 10 or more (checked by check_scaled).
    return Case(name, covers, spec, TorchOracle(spec), readings, tick, 1e-4,
                scaler={"alpha": alpha, "warmup": warmup}, rel_tolerance=1e-6)


def scale_ticks(ticks, fresh, scaler, input_size):
    """The scaler's side of each tick (tools/scaler.py; core/scaler.h in C):
    a series with a reading updates its scaler with it, then every input is
    standardised, and rounded to float32 as the C model takes it. Returns the
    standardised ticks and, per step in output order, the scaler's figures
    (m, s) to restore that step's outputs with."""
    scalers, scaled, figures = {}, [], []
    for (bucket, batch), got in zip(ticks, fresh):
        out = []
        for s, x in batch:
            x = [float(v) for v in x]
            sc = scalers.setdefault(s, EmaScaler(scaler["alpha"], input_size))
            if s in got:
                sc.update(x)
            z = np.asarray(sc.standardise(x), dtype=np.float32).astype(np.float64)
            out.append((s, z))
            figures.append((list(sc.m), [sc.scale(i) for i in range(input_size)]))
        scaled.append((bucket, out))
    return scaled, figures


def restore(y, m, scale):
    """tools/scaler.py's restore with the figures scale_ticks kept."""
    w = len(m)
    return np.array([m[k % w] + scale[k % w] * float(yk) for k, yk in enumerate(y)])


def stack_case(name, covers, spec, series, steps, tol):
    """A stack of gru/lstm/rnn layers and an MLP head (tools/golden_stack.py),
    PyTorch's modules as the oracle."""
    rng = rng_for(name)
    golden_stack.random_stack(rng, spec)
    spec.outputs = golden_stack.outputs(spec)
    return Case(name, covers, spec, golden_stack.TorchStack(spec),
                regular_stream(rng, series, steps, spec.input_size), Tick(), tol)


def stack_cases(T5):
    abc = ["alpha", "bravo", "charlie"]
    lstm, rnn = "lstm", "rnn"
    return [
        stack_case("lstm2_h12_h9", "2 LSTM layers (12, 9) of module `lstm` (the second's "
                   "module and index by default), nn.Linear head `fc` by default; chain of "
                   "nn.LSTMs",
                   StackSpec(1, [Layer(lstm, 12, lstm, 0, write=("module",)),
                                 Layer(lstm, 9, lstm, 1)],
                             [Op("linear", "fc", 4)], {}, head_mapping=True),
                   abc, 8, T5),
        stack_case("rnn_relu_h10", "1 nn.RNN layer, nonlinearity relu, H=10; module and "
                   "head from model.tensors {gru: rnn, head: out}",
                   StackSpec(1, [Layer(rnn, 10, rnn, 0, "relu", write=("nonlinearity",))],
                             [Op("linear", "out", 3)], {"gru": "rnn", "head": "out"},
                             head_mapping=True),
                   ["r.a", "r.b", "r.c", "r.d"], 8, T5),
        stack_case("rnn_tanh_h13_h7", "2 nn.RNN tanh layers (13, 7) of module `enc` with "
                   "explicit module and index, input_size=2; head of module attributes "
                   "fc1, Tanh, Dropout, fc2, GELU (erf), LayerNorm without affine, out, "
                   "Sigmoid, each linear with `module:`",
                   StackSpec(2, [Layer(rnn, 13, "enc", 0, write=("nonlinearity", "module",
                                                                  "index")),
                                 Layer(rnn, 7, "enc", 1, write=("module", "index"))],
                             [Op("linear", "fc1", 8, write_module=True), Op("tanh"),
                              Op("dropout"), Op("linear", "fc2", 6, write_module=True),
                              Op("gelu"), Op("layernorm", affine=False),
                              Op("linear", "out", 3, write_module=True), Op("sigmoid")],
                             {}),
                   abc, 6, T5),
        stack_case("gru2_lstm1_mlp", "nn.GRU(num_layers=2, H=16) `gru`, then nn.LSTM(H=8) "
                   "`lstm`; head nn.Sequential(Linear, ReLU, Linear) `head` (head.0, head.2 "
                   "by position)",
                   StackSpec(1, [Layer("gru", 16, "gru", 0, write=("module",)),
                                 Layer("gru", 16, "gru", 1),
                                 Layer(lstm, 8, lstm, 0, write=("module",))],
                             [Op("linear", "head.0", 12), Op("relu"),
                              Op("linear", "head.2", 6)], {"head": "head"}),
                   ["g.a", "g.b", "g.c", "g.d"], 6, T5),
        stack_case("lstm_input3_layernorm", "nn.LSTM(3, 20) `lstm`, input_size=3; head "
                   "nn.Sequential(Linear, LayerNorm(eps=1e-3), GELU(tanh), Linear) `head`",
                   StackSpec(3, [Layer(lstm, 20, lstm, 0, write=("module",))],
                             [Op("linear", "head.0", 16),
                              Op("layernorm", "head.1", eps=0.001),
                              Op("gelu", approximate="tanh"),
                              Op("linear", "head.3", 6)], {"head": "head"}),
                   ["imu.x", "imu.y", "imu.z"], 6, T5),
    ]


def all_cases():
    T5, T50 = 1e-5, 1e-4
    abc = ["alpha", "bravo", "charlie"]
    cases = [
        simple_case("gru1_h1", "1 GRU layer with H=1 (degenerate sizes)",
                    1, [1], 1, abc, 5, T5),
        simple_case("gru2_h7_h23", "2 GRU layers of different sizes (7, 23), "
                    "not multiples of any SIMD width; chain of nn.GRUs",
                    1, [7, 23], 5, ["m.a", "m.b", "m.c", "m.d"], 5, T5),
        simple_case("gru3_h64_o12", "3 equal GRU layers H=64, O=12; one nn.GRU(num_layers=3)",
                    1, [64, 64, 64], 12, abc, 5, T5),
        simple_case("input3_h16", "input_size=3 (readings 'a,b,c'), H=16, O=6 (2 steps x 3)",
                    3, [16], 6, ["imu.x", "imu.y", "imu.z"], 5, T5),
        simple_case("reset_before_h16_h9", "reset_after: false (Cho et al.), 2 layers "
                    "(16, 9), nonzero bias_hh; hand-written numpy oracle",
                    1, [16, 9], 4, abc, 5, T5, reset_after=False),
        article_case("article_gru_h24", "the source article's hand-written GRU, "
                     "converted by tools/article_gru.to_state_dict, reset_after: "
                     "false; expectation from the article's own code",
                     1, 24, 4, abc, 5, T5),
        simple_case("one_series", "a single series, 1 layer H=32, O=3",
                    1, [32], 3, ["only"], 5, T5),
        simple_case("series1100_h32", "1100 series x 3 steps (several blocks), "
                    "1 layer H=32, O=3", 1, [32], 3,
                    series_names("host", 1100), 3, T5),
        simple_case("steps50_series4", "50 steps x 4 series, 2 layers (48, 24), O=6",
                    1, [48, 24], 6, ["w", "x", "y", "z"], 50, T50),
    ]
    for agg in ("last", "mean", "min", "max", "sum"):
        cases.append(replay_case(
            f"replay_agg_{agg}", f"replay, interval 500 ms, aggregate: {agg} "
            "(elementwise, input_size=2), missing: skip; late readings, a gap",
            "replay_agg", 2, Tick(interval_ms=REPLAY_INTERVAL_MS, flush_ms=1000,
                                  aggregate=agg, missing="skip")))
    for miss in ("skip", "hold", "zero"):
        cases.append(replay_case(
            f"replay_missing_{miss}", f"replay, interval 500 ms, missing: {miss}"
            + (" (repeats the aggregated input)" if miss == "hold" else "")
            + ", aggregate: mean, input_size=1; late readings, a gap",
            "replay_missing", 1, Tick(interval_ms=REPLAY_INTERVAL_MS, flush_ms=1000,
                                      aggregate="mean", missing=miss)))
    cases.append(scaler_case(
        "replay_scaler_ema", "replay with model.scaler {type: ema, alpha: 0.3, warmup: 3}: "
        "input_size=2, values offset by 100, 1e4, -1e4 with scales 0.01..30, missing: hold "
        "(held inputs standardised, no update), a series joining late; expectation by "
        "tools/scaler.py", Tick(missing="hold"), 0.3, 3))
    return cases + stack_cases(T5)


# --------------------------------------------------------------------------
# Writing and checking
# --------------------------------------------------------------------------

def config_yaml(case):
    s, t = case.spec, case.tick
    lines = [f"# generated by tools/gen_golden.py -- do not edit; {case.covers}",
             "model:",
             "  weights: model.safetensors",
             f"  input_size: {s.input_size}",
             f"  reset_after: {'true' if s.reset_after else 'false'}",
             "  layers:"]
    if isinstance(s, StackSpec):
        lines = lines[:-1] + golden_stack.model_lines(s)
    else:
        lines += [f"    - {{type: gru, hidden: {h}}}" for h in s.hidden]
        lines += [f"  head: {{type: linear, outputs: {s.outputs}}}"]
    if case.scaler:
        lines += [f"  scaler: {{type: ema, alpha: {case.scaler['alpha']}, "
                  f"warmup: {case.scaler['warmup']}}}"]
    lines += ["tick:",
              "  clock: event",
              f"  interval_ms: {t.interval_ms}",
              f"  flush_ms: {t.flush_ms}",
              f"  aggregate: {t.aggregate}",
              f"  missing: {t.missing}"]
    return "\n".join(lines) + "\n"


def check_case(case, ticks, out):
    """Cross-check the oracle with the generic numpy GRU (float64, must agree
    to ~1e-12) and estimate float32 error (must be under tolerance / 10)."""
    ref64 = run_model(ticks, case.spec.numpy_model(np.float64), case.spec)
    ref32 = run_model(ticks, case.spec.numpy_model(np.float32), case.spec)
    y = np.stack([o[2] for o in out])
    d64 = np.abs(y - np.stack([o[2] for o in ref64])).max()
    d32 = np.abs(y - np.stack([o[2] for o in ref32])).max()
    assert [o[:2] for o in ref64] == [o[:2] for o in out]
    assert d64 < 1e-12, (case.name, d64)
    assert d32 < case.tolerance / 10, (case.name, d32)
    return d32


def check_scaled(case, ticks, out, figures, restored):
    """As check_case, on the standardised ticks; then the float32 estimate
    restored and rounded to float32, as C prints it, must stay within a tenth
    of each value's tolerance (absolute + relative)."""
    check_case(case, ticks, out)
    ref32 = run_model(ticks, case.spec.numpy_model(np.float32), case.spec)
    worst = 0.0
    for (_, _, y32), (m, scale), want in zip(ref32, figures, restored):
        got = restore(y32, m, scale).astype(np.float32).astype(np.float64)
        err = np.abs(got - want)
        allowed = case.tolerance + case.rel_tolerance * np.abs(want)
        assert np.all(err < allowed / 10), (case.name, err, allowed)
        worst = max(worst, float(np.max(err)))
    return worst


def write_case(case, root):
    d = os.path.join(root, case.name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    s = case.spec
    write_safetensors(os.path.join(d, "model.safetensors"), s.tensors)
    back = read_safetensors(os.path.join(d, "model.safetensors"))
    assert set(back) == set(s.tensors)
    assert all(np.array_equal(back[k], s.tensors[k]) for k in back)

    fresh = []
    ticks, late = event_ticks(case.readings, case.tick, s.input_size, fresh)
    if case.expect_late is not None:
        assert late == case.expect_late, (case.name, late, case.expect_late)
    else:
        assert not late
    if case.scaler:
        ticks, figures = scale_ticks(ticks, fresh, case.scaler, s.input_size)
        out = run_model(ticks, case.oracle, s)
        restored = [restore(y, m, scale) for (_, _, y), (m, scale) in zip(out, figures)]
        d32 = check_scaled(case, ticks, out, figures, restored)
        out = [(series, bucket, y) for (series, bucket, _), y in zip(out, restored)]
    else:
        out = run_model(ticks, case.oracle, s)
        d32 = check_case(case, ticks, out)

    with open(os.path.join(d, "config.yaml"), "w") as f:
        f.write(config_yaml(case))
    with open(os.path.join(d, "input.txt"), "w") as f:
        for series, v, ts in case.readings:
            assert len(v) == s.input_size
            f.write(f"{series} {fmt_values(v)} {ts}\n")
    with open(os.path.join(d, "expected.txt"), "w") as f:
        rel = f" relative {case.rel_tolerance:.0e}" if case.rel_tolerance else ""
        f.write(f"# tolerance {case.tolerance:.0e}{rel}\n")
        for series, bucket, y in out:
            ts = fmt_seconds(bucket * case.tick.interval_ms)
            f.write(f"{series} {ts} " + " ".join(fmt_float(v) for v in y) + "\n")
    tol = f"{case.tolerance:.0e}"
    if case.rel_tolerance:
        tol += f" + {case.rel_tolerance:.0e}·\\|y\\|"
    return {"name": case.name, "covers": case.covers, "in": len(case.readings),
            "out": len(out), "ticks": len(ticks), "late": len(late),
            "tol": tol, "f32err": d32}


README = """\
# Golden test data

Each folder here is one end-to-end case for `tickcast replay` against PyTorch:
`config.yaml` (model and event-clock tick settings), `model.safetensors` (random
float32 weights named as `nn.GRU`/`nn.LSTM`/`nn.RNN`/`nn.Linear`/`nn.LayerNorm` name them), `input.txt` (readings
`<series> <v1>[,<v2>...] <timestamp>`) and `expected.txt` (`# tolerance <x>`, then
one line per forecast, `<series> <bucket start seconds> <y1> ... <yO>`, in tick
order and, within a tick, in the series' registration order; `# tolerance <a>
relative <r>` allows `a + r·|y|`). The expectations
are computed in float64 from the exact float32 weights and inputs, by PyTorch's
`nn.GRU` (or, for `reset_after: false`, a hand-written formula and the source
article's own code; for the stacks, `nn.GRU`/`nn.LSTM`/`nn.RNN` and an `nn.Sequential`
head of `nn.Linear`, `nn.ReLU`, `nn.Tanh`, `nn.Sigmoid`, `nn.GELU`, `nn.LayerNorm`,
`nn.Dropout`), cross-checked by a generic numpy implementation, with the tick semantics of docs/design.md, "Ticks" implemented
independently in Python; compare each value within the stated absolute
tolerance; the scaler case standardises inputs and restores outputs with
`tools/scaler.py`. Do not edit these files: regenerate them all, deterministically, from
the repository root with `/usr/bin/python3 tools/gen_golden.py` (Debian's Python,
which has PyTorch and numpy).

| case | covers | input lines | forecast lines | tolerance |
| --- | --- | ---: | ---: | --- |
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for case in all_cases():
        r = write_case(case, args.out)
        rows.append(r)
        print(f"{r['name']:22s} in {r['in']:5d}  out {r['out']:5d}  ticks {r['ticks']:3d}  "
              f"late {r['late']}  tol {r['tol']}  float32 err {r['f32err']:.1e}")
    with open(os.path.join(args.out, "README.md"), "w") as f:
        f.write(README)
        for r in rows:
            f.write(f"| `{r['name']}` | {r['covers']} | {r['in']} | {r['out']} | {r['tol']} |\n")


if __name__ == "__main__":
    main()

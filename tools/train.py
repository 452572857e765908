#!/usr/bin/python3
"""train.py -- trains tickcast's bundled default model.

A generic, zero-shot forecaster: nn.GRU(1, 64, 2) + nn.Linear(64, 12), output
k (0-based) forecasts the reading k+1 ticks after the tick that produced it.

Data. Each batch mixes four sources (shares --synth-frac, --kernel-frac,
--mixup-frac, --real-frac):
  - real series: every series of the training datasets of
    tools/series_data.py (the ts objects of R's forecast, AER and tseries
    packages, and statsmodels' time-series datasets), each dataset the same
    share, split evenly among its series; the held-out datasets
    (series_data.is_heldout, docs/accuracy.md) are never read here;
  - KernelSynth (tools/kernel_synth.py): --kernel-bank draws from Gaussian
    processes with random composite kernels, lengths 256..1024, drawn once
    from the seed and cached;
  - TSMixup (tools/kernel_synth.py): a fresh pool every --refresh steps of
    convex combinations (Dirichlet weights) of 1 to 3 mean-scaled series
    taken from the real training series, the KernelSynth bank and the
    current hand-made pool;
  - the hand-made generator below (trends, seasons of several periods and
    shapes, level shifts, random walks, AR quasi-cycles, noise of several
    kinds, spikes, intermittent counts), a fresh pool every --refresh steps.
With --validate, the validation datasets (is_validation: a hash of the
dataset's name, 1 in VAL_MOD of the training datasets) are left out and the
model is scored on them at the end (mean MASE as tools/evaluate.py computes
it, and seasonal naive's): the recipe was chosen on those.

Scaling. The model sees each series standardised by tickcast's per-series EMA
scaler (tools/scaler.py, `model.scaler: {type: ema, alpha: ALPHA, warmup:
WARMUP}` in config/tickcast.yaml). At tick t, after the reading x_t updated
m_t and s_t, the input is z_t = (x_t - m_t) / s_t and the targets are the next
HORIZON readings standardised with the same m_t and s_t:
    y_k = (x_{t+k} - m_t) / s_t,  k = 1..HORIZON,
so that the daemon's restore, m_t + s_t * y_k, is the forecast in the series'
own units. At the start of a series the scaler is cold (the first input is 0,
the next ones are large, s grows towards its level over ~1/ALPHA readings):
training windows that start at a series' first reading weight the loss of the
first WARMUP-1 steps by WARMUP_WEIGHT (none on the very first, where s is
~1e-6), the daemon marks those forecasts not warm; windows that start
mid-series carry the scaler from the series' start, as the daemon would, and
skip the loss of their first BURN_IN steps (the GRU starts from a zero state
there, which the daemon never does mid-series).

Loss (--loss mase, the default): absolute errors in the standardised units,
each window's divided by its own seasonal-naive error in those units (the
mean |x_t - x_{t-p}| / s_t over the window, p the series' known period or 1,
at least NAIVE_FLOOR), so that seasonal, smooth and trending series, where a
small error in z is a large one against a naive forecast, count as much as
noisy ones, as they do in MASE. Targets clipped to
+-TARGET_CLIP (a series that sat flat has a tiny s, and its next move is a
huge z). Each window is sign-flipped at random (x -> -x is a series too).

Writes models/default.safetensors (gru.* and fc.*, float32) and edits the
model.weights, model.layers and model.scaler lines of config/tickcast.yaml,
and sets model.intervals to {level: INTERVAL_LEVEL} (bounds the daemon
calibrates online from each series' errors; the model itself is unchanged); then runs a few
series through `tickcast replay --config config/tickcast.yaml` and compares
them with PyTorch + tools/scaler.py (needs the C scaler; skipped, with a note,
when `tickcast check` rejects model.scaler).

  /usr/bin/python3 tools/train.py                 # the bundled default (800 steps: 36.9 min on an AMD EPYC, cpu family 26, 2 threads, shared)
  /usr/bin/python3 tools/train.py --steps 100 --out /tmp/m   # a smoke test
  /usr/bin/python3 tools/train.py --cell lstm --hidden 56 --out /tmp/lstm   # another cell

--cell lstm or rnn (nn.LSTM, nn.RNN with tanh), --hidden and --layers train
another recurrent stack with the same head, data and loss; the config written
says so in model.layers ({type: lstm, hidden: H, module: lstm}, ...). The
defaults (gru, 64, 2) build the same module, drawing the same random numbers,
as before the options existed.

Seeded (torch, numpy, random; the KernelSynth bank from the seed too):
the same seed, data and threads give the same model. torch.set_num_threads
(--threads, 2). The recurrent stack and head are those of earlier versions,
so a step costs the same FLOPs per series-step (1.0x).
"""
import argparse
import math
import os
import random
import re
import subprocess
import sys
import time
import warnings

import numpy as np

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)
from scaler import EmaScaler, EPS  # noqa: E402

HORIZON = 12
CELL = "gru"            # --cell: the recurrent layers' kind (gru | lstm | rnn)
HIDDEN = 64             # --hidden
LAYERS = 2              # --layers
ALPHA = 0.05            # model.scaler.alpha
WARMUP = 24             # model.scaler.warmup: readings before a series is warm
WARMUP_WEIGHT = 0.25    # loss weight of steps 2..WARMUP-1 of a series
BURN_IN = 16            # mid-series windows: steps without loss at the window's start
TARGET_CLIP = 50.0
NAIVE_FLOOR = 0.05      # the smallest naive error a window's loss is divided by
INTERVAL_LEVEL = 0.8    # model.intervals.level written to the config

# --------------------------------------------------------------------------
# Real series: tools/series_data.py (R packages and statsmodels.datasets)
# --------------------------------------------------------------------------
# The held-out datasets (series_data.is_heldout) never enter training. Of the
# rest, the datasets that VAL_SALT's hash picks (1 in VAL_MOD) are the
# validation set of --validate runs, which leave them out of training and
# score on them: the recipe was chosen on those, never on the held-out set.
VAL_SALT = "tickcast-validation-v1"
VAL_MOD = 6


def is_validation(dataset):
    import hashlib
    h = hashlib.sha256(f"{VAL_SALT}:{dataset}".encode()).hexdigest()
    return int(h[:8], 16) % VAL_MOD == 0


def real_split(validate):
    """(train, validation, {series: dataset}): lists of (series, values,
    period). Without validate, the validation datasets are trained on too
    and validation is empty."""
    import series_data
    ds = series_data.all_datasets()
    train_set, val = [], []
    owner = {}
    for k in sorted(ds):
        if series_data.is_heldout(k):
            continue
        items = [(n, v, series_data.period(f)) for n, v, f in ds[k]]
        for n, _, _ in items:
            owner[n] = k
        if validate and is_validation(k):
            val.extend(s for s in items if len(s[1]) >= series_data.MIN_HELDOUT)
        else:
            train_set.extend(items)
    return train_set, val, owner


# --------------------------------------------------------------------------
# Synthetic series
# --------------------------------------------------------------------------

def _unit(v):
    s = v.std()
    return (v - v.mean()) / s if s > 1e-12 else v * 0.0


def _noise(rng, T):
    kind = rng.integers(6)
    if kind == 0:
        e = rng.standard_normal(T)
    elif kind == 1:
        e = rng.standard_t(3, T)
    elif kind == 2:
        e = rng.laplace(size=T)
    elif kind == 3:
        e = rng.uniform(-1, 1, T)
    elif kind == 4:                                   # AR(1)
        phi = rng.uniform(-0.5, 0.95)
        w = rng.standard_normal(T)
        e = np.empty(T)
        e[0] = w[0]
        for t in range(1, T):
            e[t] = phi * e[t - 1] + w[t]
    else:                                             # heteroscedastic
        vol = np.exp(0.5 * _unit(np.cumsum(rng.standard_normal(T))))
        e = rng.standard_normal(T) * vol
    return _unit(e)


def _season(rng, T):
    t = np.arange(T)
    if rng.random() < 0.75:
        P = float(rng.choice([4, 4, 5, 7, 12, 12, 12, 24, 24, 52]))
    else:
        P = rng.uniform(3, 60)
    if rng.random() < 0.5 and float(P).is_integer():     # a fixed random pattern
        pat = rng.standard_normal(int(P))
        pat = np.convolve(np.r_[pat, pat], np.ones(2) / 2, "same")[:int(P)] \
            if rng.random() < 0.5 else pat
        s = pat[t % int(P)]
    else:                                                 # a few harmonics
        s = np.zeros(T)
        for k in range(1, rng.integers(1, 4) + 1):
            s += rng.standard_normal() / k * np.sin(2 * np.pi * k * t / P + rng.uniform(0, 2 * np.pi))
    s = _unit(s)
    if rng.random() < 0.3:                                # slowly changing amplitude
        s *= np.exp(0.3 * _unit(np.cumsum(rng.standard_normal(T))) * rng.uniform(0, 1))
    return s, P


def _trend(rng, T):
    t = np.arange(T, dtype=float)
    kind = rng.integers(4)
    if kind == 0:
        v = t
    elif kind == 1:                                       # damped
        phi = rng.uniform(0.95, 0.999)
        v = np.cumsum(phi ** t)
    elif kind == 2:                                       # piecewise linear
        cps = np.sort(rng.integers(0, T, rng.integers(1, 4)))
        slope = np.zeros(T)
        sl = rng.standard_normal()
        last = 0
        for c in list(cps) + [T]:
            slope[last:c] = sl
            sl = rng.standard_normal()
            last = c
        v = np.cumsum(slope)
    else:                                                 # exponential growth
        v = np.exp(rng.uniform(0.5, 3) * t / T)
    return _unit(v) * rng.choice([-1, 1])


def _ar2_cycle(rng, T):
    """A quasi-cycle (sunspot-like): AR(2) with complex roots."""
    r, P = rng.uniform(0.85, 0.99), rng.uniform(6, 40)
    a1, a2 = 2 * r * np.cos(2 * np.pi / P), -r * r
    w = rng.standard_normal(T + 100)
    v = np.zeros(T + 100)
    for t in range(2, T + 100):
        v[t] = a1 * v[t - 1] + a2 * v[t - 2] + w[t]
    return _unit(v[100:])


def synthetic(rng, T, with_period=False):
    """One series of length T: a random mix of the kinds below. With
    with_period, returns (x, period): its main season's period when that is a
    whole number of steps, else 1."""
    x, period = _synthetic(rng, T)
    return (x, period) if with_period else x


def _synthetic(rng, T):
    u = rng.random()
    if u < 0.07:                                          # intermittent demand
        p = rng.uniform(0.03, 0.5)
        x = (rng.random(T) < p) * rng.gamma(rng.uniform(0.5, 5), 1.0, T)
        if rng.random() < 0.5:
            x = np.round(x * rng.uniform(1, 10))
        return x, 1
    if u < 0.15:                                          # plain random walk (+ drift)
        x = np.cumsum(rng.standard_normal(T) + rng.normal(0, 0.3) * (rng.random() < 0.5))
        return x + rng.normal(0, 0.3) * _noise(rng, T) * (rng.random() < 0.5), 1
    x = np.zeros(T)
    period = 1
    w = lambda lo, hi: math.exp(rng.uniform(math.log(lo), math.log(hi)))  # noqa: E731
    if rng.random() < 0.75:
        s, P = _season(rng, T)
        period = int(P) if float(P).is_integer() else 1
        x += w(0.3, 3) * s
        if rng.random() < 0.2:
            s2, _ = _season(rng, T)
            x += w(0.1, 1) * s2
    if rng.random() < 0.45:
        x += w(0.2, 4) * _trend(rng, T)
    if rng.random() < 0.3:
        x += w(0.2, 3) * _unit(np.cumsum(rng.standard_normal(T)))
    if rng.random() < 0.15:
        x += w(0.3, 2) * _ar2_cycle(rng, T)
    if rng.random() < 0.25:                               # level shifts
        for c in rng.integers(1, T, rng.integers(1, 4)):
            x[c:] += rng.normal(0, w(0.5, 3))
    x += w(0.02, 1.0) * _noise(rng, T)
    if rng.random() < 0.1:                                # spikes
        k = rng.random(T) < rng.uniform(0.005, 0.05)
        sign = 1.0 if rng.random() < 0.5 else np.sign(rng.standard_normal(T))
        x += k * np.abs(rng.normal(0, 1, T)) * w(2, 8) * sign
    if rng.random() < 0.15:                               # multiplicative, positive
        x = np.exp(w(0.1, 0.8) * _unit(x))
    if rng.random() < 0.05:                               # counts
        x = np.round(x - x.min()) if x.std() > 3 else np.round((x - x.min()) * 5)
    return x * w(0.01, 1000) + rng.normal(0, 100) * (rng.random() < 0.3), period


# --------------------------------------------------------------------------
# Scaler (vectorised twin of tools/scaler.py) and training windows
# --------------------------------------------------------------------------

def ema_scale(x, alpha=ALPHA):
    """x: (N, T) float64. Returns m, s (N, T): after the update with x[:, t]."""
    N, T = x.shape
    m = np.empty_like(x)
    v = np.empty_like(x)
    mc, vc = x[:, 0].copy(), np.zeros(N)
    m[:, 0], v[:, 0] = mc, vc
    for t in range(1, T):
        d = x[:, t] - mc
        mc = mc + alpha * d
        vc = (1.0 - alpha) * (vc + alpha * d * d)
        m[:, t], v[:, t] = mc, vc
    return m, np.sqrt(v + EPS)


def check_scaler():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 50)).cumsum(1) * 7 + 3
    m, s = ema_scale(x)
    for i in range(3):
        sc = EmaScaler(ALPHA)
        for t in range(50):
            sc.update([x[i, t]])
            assert abs(sc.m[0] - m[i, t]) < 1e-9 and abs(sc.scale() - s[i, t]) < 1e-9


class Pool:
    """Padded series (N, T) with lengths, their scaler figures, and sampling."""

    def __init__(self, series, periods):
        self.period = np.asarray(periods, dtype=int)
        T = max(len(v) for v in series)
        self.n = np.array([len(v) for v in series])
        x = np.empty((len(series), T))
        for i, v in enumerate(series):
            x[i, :len(v)] = v
            x[i, len(v):] = v[-1]
        self.x = x
        self.m, self.s = ema_scale(x)


def make_batch(rng, pool, idx, L, p_start, naive_scale=True):
    """Windows of L input steps. Returns z (B, L, 1), y (B, L, H), w (B, L, H)."""
    B = len(idx)
    H = HORIZON
    n = pool.n[idx]
    hi = np.maximum(n - H - L, 0)                # latest start with all targets inside
    start = np.where(rng.random(B) < p_start, 0,
                     (rng.random(B) * (hi + 1)).astype(int))
    start = np.minimum(start, hi)
    tt = start[:, None] + np.arange(L)[None, :]              # (B, L)
    Tm = pool.x.shape[1]
    ttc = np.minimum(tt, Tm - 1)
    rows = idx[:, None]
    x, m, s = pool.x[rows, ttc], pool.m[rows, ttc], pool.s[rows, ttc]
    z = (x - m) / s
    tk = tt[:, :, None] + np.arange(1, H + 1)[None, None, :]   # (B, L, H)
    xk = pool.x[rows[:, :, None], np.minimum(tk, Tm - 1)]
    y = (xk - m[:, :, None]) / s[:, :, None]
    valid = tk < n[:, None, None]
    count = tt + 1                                            # readings the scaler has had
    wt = np.where(count >= WARMUP, 1.0, np.where(count >= 2, WARMUP_WEIGHT, 0.0))
    burn = (start[:, None] > 0) & (np.arange(L)[None, :] < BURN_IN)
    wt = np.where(burn, 0.0, wt)
    w = valid * wt[:, :, None]
    if naive_scale:
        # MASE-like: each window's errors over its own seasonal-naive error in
        # the same units, the mean |x_t - x_{t-p}| / s_t over the window's
        # steps with loss (p: the series' period, 1 without one).
        lag = pool.period[idx][:, None]
        xp = pool.x[rows, np.maximum(ttc - lag, 0)]
        dz = np.abs(x - xp) / s
        use = (wt > 0) & (tt >= lag) & (tt < n[:, None])
        sc = (dz * use).sum(1) / np.maximum(use.sum(1), 1)
        w = w / np.clip(sc, NAIVE_FLOOR, None)[:, None, None]
    sign = np.where(rng.random(B) < 0.5, 1.0, -1.0)[:, None]  # x -> -x is a series too
    z = z * sign
    y = np.clip(y * sign[:, :, None], -TARGET_CLIP, TARGET_CLIP)
    y = np.where(valid, y, 0.0)
    return (z[:, :, None].astype(np.float32), y.astype(np.float32), w.astype(np.float32))


# --------------------------------------------------------------------------
# Model, training
# --------------------------------------------------------------------------

CELLS = ("gru", "lstm", "rnn")


def build_model(cell=CELL, hidden=HIDDEN, layers=LAYERS):
    """nn.GRU / nn.LSTM / nn.RNN (tanh) of `layers` layers of `hidden` units,
    kept as the attribute named after the cell (so its tensors are gru.*,
    lstm.* or rnn.*), and nn.Linear(hidden, HORIZON) as fc."""
    from torch import nn
    kind = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}[cell]

    class Forecaster(nn.Module):
        def __init__(self):
            super().__init__()
            # The recurrent module is created first, then fc: the order in
            # which they draw their initial weights from torch's generator.
            setattr(self, cell, kind(1, hidden, layers, batch_first=True))
            self.fc = nn.Linear(hidden, HORIZON)

        def forward(self, x):
            out, _ = getattr(self, cell)(x)
            return self.fc(out)

    return Forecaster()


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


def Forecaster():
    """Factory for tools/export.py (--module train:Forecaster)."""
    return build_model()


def kernel_bank(seed, n):
    """n KernelSynth series (lengths log-uniform in 256..1024) and their
    periods, drawn from their own seed; cached in series_data's cache
    folder, as they take a few minutes to draw."""
    import series_data
    from kernel_synth import kernel_synth
    path = os.path.join(series_data.cache_dir(), f"kernelsynth-{seed}-{n}.npz")
    if os.path.exists(path):
        d = np.load(path)
        cut = np.cumsum(d["lengths"])[:-1]
        return np.split(d["values"], cut), list(d["periods"])
    rng = np.random.default_rng([seed, 7])
    xs, ps = [], []
    for _ in range(n):
        x, p = kernel_synth(rng, int(round(math.exp(rng.uniform(math.log(256), math.log(1024))))))
        xs.append(x)
        ps.append(p)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.savez(path, values=np.concatenate(xs), lengths=np.array([len(x) for x in xs]),
             periods=np.array(ps))
    return xs, ps


def real_weights(names, owner):
    """Sampling weights of real series: each dataset the same share, split
    evenly among its series (fertility's ~200 countries would crowd out the
    rest)."""
    ds = [owner[n] for n in names]
    count = {d: ds.count(d) for d in set(ds)}
    p = np.array([1.0 / count[d] for d in ds])
    return p / p.sum()


def validate(model, val):
    """Mean MASE (k = 1..HORIZON, origins over the last 30%, as
    tools/evaluate.py scores) of the model (PyTorch + tools/scaler.py) on
    the validation series, and of seasonal naive."""
    import evaluate
    ours, sn = [], []
    for name, x, m in val:
        n_hist = int(evaluate.HISTORY * len(x))
        if n_hist <= m:
            continue
        ours.append(np.nanmean(evaluate.score(x, python_forecasts(model, x), n_hist, m)["MASE"]))
        sn.append(np.nanmean(evaluate.score(x, evaluate.forecasts_seasonal_naive(x, m), n_hist, m)["MASE"]))
    ours, sn = np.array(ours), np.array(sn)
    return float(np.mean(ours)), float(np.mean(sn)), float(np.mean(ours < sn)), len(ours)


def train(args):
    import torch
    from kernel_synth import tsmixup
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    random.seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)

    t0 = time.time()
    real, val, owner = real_split(args.validate)
    real_pool = Pool([v for _, v, _ in real], [p for _, _, p in real])
    real_p = real_weights([n for n, _, _ in real], owner)
    print(f"real training series: {len(real)} from {len(set(owner[n] for n, _, _ in real))} "
          f"datasets ({int(real_pool.n.sum())} readings); validation: {len(val)} series",
          flush=True)
    kx, kp = kernel_bank(args.seed, args.kernel_bank)
    kernel_pool = Pool(kx, kp)
    print(f"KernelSynth bank: {len(kx)} series ({time.time() - t0:.0f} s)", flush=True)

    def new_pools():
        xs = [synthetic(rng, args.synth_len, with_period=True) for _ in range(args.pool)]
        synth = Pool([x for x, _ in xs], [p for _, p in xs])
        # TSMixup over the real training series, the bank and this pool.
        src = [v for _, v, _ in real] + kx + [x for x, _ in xs]
        per = [p for _, _, p in real] + kp + [p for _, p in xs]
        mixed = [tsmixup(rng, src, per) for _ in range(args.mixup_pool)]
        return synth, Pool([x for x, _ in mixed], [p for _, p in mixed])

    model = build_model(args.cell, args.hidden, args.layers)
    print(f"model: {args.layers} x {args.cell} of {args.hidden} + linear head, "
          f"{count_parameters(model)} parameters", flush=True)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    total = args.steps
    long_from = int(args.long_from * total)

    def lr_at(step):
        if step < 100:
            return args.lr * (step + 1) / 100
        return 1e-4 + 0.5 * (args.lr - 1e-4) * (1 + math.cos(math.pi * step / total))

    shares = np.array([args.synth_frac, args.kernel_frac, args.mixup_frac, args.real_frac])
    shares = shares / shares.sum()
    synth = mixed = None
    ema_loss = None
    for step in range(total):
        if step % args.refresh == 0:
            synth, mixed = new_pools()
        L = args.window if step < long_from else args.long_window
        B = args.batch if step < long_from else max(32, args.batch * args.window // args.long_window)
        counts = np.floor(shares * B).astype(int)
        counts[0] += B - counts.sum()
        zs, ys, ws = [], [], []
        for pool, k, p in ((synth, counts[0], None), (kernel_pool, counts[1], None),
                           (mixed, counts[2], None), (real_pool, counts[3], real_p)):
            if k:
                z, y, w = make_batch(rng, pool, rng.choice(len(pool.n), k, p=p), L, args.p_start,
                                     args.loss == "mase")
                zs.append(z), ys.append(y), ws.append(w)
        z = torch.from_numpy(np.concatenate(zs))
        y = torch.from_numpy(np.concatenate(ys))
        w = torch.from_numpy(np.concatenate(ws))
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        pred = model(z)
        loss = ((pred - y).abs() * w).sum() / (w > 0).sum().clamp(min=1)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema_loss = loss.item() if ema_loss is None else 0.98 * ema_loss + 0.02 * loss.item()
        if step % args.log_every == 0 or step == total - 1:
            el = time.time() - t0
            eta = el / (step + 1) * (total - step - 1)
            print(f"step {step + 1}/{total}  loss {ema_loss:.4f}  lr {lr_at(step):.2e}  "
                  f"window {L}x{B}  {el / 60:.1f} min, ~{eta / 60:.1f} min left", flush=True)
    print(f"training took {(time.time() - t0) / 60:.1f} min", flush=True)
    model.eval()
    if val:
        ours, sn, share, n = validate(model, val)
        print(f"validation ({n} series): mean MASE {ours:.3f}, seasonal naive {sn:.3f}, "
              f"beats seasonal naive on {100 * share:.0f}%", flush=True)
    return model


# --------------------------------------------------------------------------
# Export and the end-to-end check
# --------------------------------------------------------------------------

def write_weights(model, path):
    from safetensors_io import write_safetensors
    state = {k: v.detach().float().contiguous().numpy() for k, v in model.state_dict().items()}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_safetensors(path, state)


def layers_yaml(cell, hidden, layers):
    """The config's model.layers items. Only the first of an lstm or rnn names
    its module: later layers default to the same module and the next index,
    and a gru's default module is model.tensors.gru, "gru"."""
    items = []
    for i in range(layers):
        module = f", module: {cell}" if cell != "gru" and i == 0 else ""
        items.append(f"    - {{type: {cell}, hidden: {hidden}{module}}}\n")
    return "".join(items)


def edit_config(path, weights_rel, cell=CELL, hidden=HIDDEN, layers=LAYERS):
    """Sets model.weights, model.layers, model.scaler and model.intervals in the config,
    leaving the rest (a 2-layer GRU of 64 writes the layers as they are)."""
    with open(path) as f:
        text = f.read()
    text, n0 = re.subn(r"(?m)^  layers:\n(?:    - .*\n)+",
                       lambda m: "  layers:\n" + layers_yaml(cell, hidden, layers), text, 1)
    text, n1 = re.subn(r"(?m)^(  weights: )\S+(.*)$", lambda m: m.group(1) + weights_rel + m.group(2), text, 1)
    # The line's own comment goes on into the next line ("# each series by
    # its own running mean and variance"), which is kept.
    scaler = (f"  scaler: {{type: ema, alpha: {ALPHA:g}, warmup: {WARMUP}}}"
              "  # as tools/train.py trained: standardise")
    text, n2 = re.subn(r"(?m)^  scaler:.*$", lambda m: scaler, text, 1)
    if n0 != 1 or n1 != 1 or n2 != 1:
        raise RuntimeError(f"{path}: no model.layers, model.weights or model.scaler line to edit")
    # 80% intervals, calibrated online by the daemon from each series' errors.
    intervals = f"  intervals: {{level: {INTERVAL_LEVEL:g}}}   # lower and upper bounds with every forecast"
    text, n3 = re.subn(r"(?m)^  intervals:.*$", lambda m: intervals, text, 1)
    if n3 == 0:
        text, n3 = re.subn(r"(?m)^(  watch:)", lambda m: intervals + "\n" + m.group(1), text, 1)
    if n3 != 1:
        raise RuntimeError(f"{path}: no model.watch line to put model.intervals before")
    with open(path, "w") as f:
        f.write(text)


def tickcast_bin():
    return os.environ.get("TC_TICKCAST") or os.path.join(ROOT, "build", "cli", "tickcast")


def scaler_available(config):
    r = subprocess.run([tickcast_bin(), "check", "--config", config], capture_output=True, text=True)
    return r.returncode == 0, (r.stdout + r.stderr).strip()


def replay_has_json():
    """Whether this tickcast's replay takes --format json (forecast lines
    with their interval bounds)."""
    r = subprocess.run([tickcast_bin(), "replay", "--help"], capture_output=True, text=True)
    return "--format" in r.stdout + r.stderr


def replay_output(config, series, json_format=False):
    """Runs {name: values} through `tickcast replay`, one reading a second,
    each series under the id s<i> (its place in the dict), and returns the
    output with the names put back."""
    import json
    names = list(series)
    lines = []
    T = max(len(v) for v in series.values())
    for t in range(T):
        for i, v in enumerate(series.values()):
            if t < len(v):
                lines.append(f"s{i} {v[t]:.17g} {t + 1}\n")
    cmd = [tickcast_bin(), "replay", "-q", "--config", config]
    if json_format:
        cmd += ["--format", "json"]
    r = subprocess.run(cmd, input="".join(lines), capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"tickcast replay failed ({r.returncode}): {r.stderr[-2000:]}")
    out = []
    for line in r.stdout.splitlines():
        if json_format:
            d = json.loads(line)
            d["series"] = names[int(d["series"][1:])]
            out.append(json.dumps(d))
        else:
            f = line.split(None, 1)
            out.append(names[int(f[0][1:])] + " " + f[1])
    return "\n".join(out) + "\n"


def replay(config, series):
    """{name: (n, HORIZON) float64} from `tickcast replay`'s text lines: row t
    forecasts t+1..t+HORIZON (the first HORIZON figures after the time)."""
    out = {k: [] for k in series}
    for line in replay_output(config, series).splitlines():
        f = line.split()
        out[f[0]].append([float(a) for a in f[2:2 + HORIZON]])
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def python_forecasts(model, x):
    """PyTorch (float64, from the float32 weights) + tools/scaler.py, one series."""
    import copy
    import torch
    m64 = copy.deepcopy(model).double()
    sc = EmaScaler(ALPHA)
    z, ms = [], []
    for v in x:
        sc.update([float(v)])
        z.append(np.float32(sc.standardise([float(v)])[0]))
        ms.append((sc.m[0], sc.scale()))
    with torch.no_grad():
        y = m64(torch.tensor(np.asarray(z, np.float64))[None, :, None])[0].numpy()
    return np.array([[m + s * yk for yk in row] for (m, s), row in zip(ms, y)])


def check_end_to_end(model, config):
    ok, msg = scaler_available(config)
    if not ok:
        print(f"end-to-end check skipped: `tickcast check` rejects {config}:\n  {msg}")
        return None
    rng = np.random.default_rng(123)
    series = {f"e2e-{i}": synthetic(rng, 150) for i in range(4)}
    got = replay(config, series)
    worst = 0.0
    for k, v in series.items():
        want = python_forecasts(model, v)
        rel = np.abs(got[k] - want) / (np.abs(want) + np.std(v) + 1e-9)
        worst = max(worst, float(rel.max()))
    print(f"end-to-end (tickcast replay vs PyTorch + tools/scaler.py, 4 series x 150 ticks): "
          f"largest difference {worst:.3g} relative to the series' scale")
    return worst


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=800, help="optimiser steps (800)")
    ap.add_argument("--batch", type=int, default=384, help="windows per step (384)")
    ap.add_argument("--window", type=int, default=128, help="input steps per window (128)")
    ap.add_argument("--long-window", type=int, default=320,
                    help="window of the last quarter of the steps (320; batch shrinks to match)")
    ap.add_argument("--real-frac", type=float, default=0.25, help="share of real windows per batch")
    ap.add_argument("--synth-frac", type=float, default=0.3,
                    help="share of windows from the hand-made synthetic generator")
    ap.add_argument("--kernel-frac", type=float, default=0.25, help="share of KernelSynth windows")
    ap.add_argument("--mixup-frac", type=float, default=0.2, help="share of TSMixup windows")
    ap.add_argument("--kernel-bank", type=int, default=2000, help="KernelSynth series drawn (2000)")
    ap.add_argument("--mixup-pool", type=int, default=2000, help="TSMixup series per pool (2000)")
    ap.add_argument("--long-from", type=float, default=0.75,
                    help="share of the steps before windows become --long-window long")
    ap.add_argument("--validate", action="store_true",
                    help="leave the validation datasets out of training and score on them")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (2)")
    ap.add_argument("--p-start", type=float, default=0.3,
                    help="share of windows that start at a series' first reading")
    ap.add_argument("--pool", type=int, default=4000, help="synthetic series per pool")
    ap.add_argument("--refresh", type=int, default=150, help="steps between new synthetic pools")
    ap.add_argument("--synth-len", type=int, default=480, help="length of a synthetic series")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--loss", choices=["mase", "mae"], default="mase",
                    help="mase: each window's absolute errors over its naive error (default); "
                         "mae: plain absolute errors of the standardised values")
    ap.add_argument("--cell", choices=CELLS, default=CELL,
                    help="recurrent layers: gru (nn.GRU, the default), lstm (nn.LSTM) "
                         "or rnn (nn.RNN, tanh)")
    ap.add_argument("--hidden", type=int, default=HIDDEN, help=f"units per layer ({HIDDEN})")
    ap.add_argument("--layers", type=int, default=LAYERS, help=f"recurrent layers ({LAYERS})")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--out", default=None,
                    help="folder for default.safetensors and tickcast.yaml (default: the "
                         "repository's models/ and config/)")
    args = ap.parse_args(argv)
    check_scaler()
    model = train(args)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        weights = os.path.join(args.out, "default.safetensors")
        config = os.path.join(args.out, "tickcast.yaml")
        with open(os.path.join(ROOT, "config", "tickcast.yaml")) as f, open(config, "w") as g:
            g.write(re.sub(r"(?m)\A# tickcast.yaml -- .*$",
                           f"# tickcast.yaml -- written by tools/train.py --cell {args.cell} "
                           f"--hidden {args.hidden} --layers {args.layers} --steps {args.steps}",
                           f.read(), 1))
        rel = "default.safetensors"
    else:
        weights = os.path.join(ROOT, "models", "default.safetensors")
        config = os.path.join(ROOT, "config", "tickcast.yaml")
        rel = "../models/default.safetensors"
    write_weights(model, weights)
    edit_config(config, rel, args.cell, args.hidden, args.layers)
    print(f"wrote {weights} and {config}")
    worst = check_end_to_end(model, config)
    if worst is not None and worst > 1e-4:
        print("FAIL: tickcast replay disagrees with PyTorch")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

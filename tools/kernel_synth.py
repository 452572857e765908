#!/usr/bin/python3
"""kernel_synth.py -- synthetic training series drawn from random Gaussian processes, and TSMixup.

In the manner of Chronos (Ansari et al., 2024):

KernelSynth. A kernel is built from 1 to MAX_KERNELS kernels drawn from
KERNEL_BANK, each joined to the kernel so far by + or * (either at even
odds); a series of length T is one draw from the zero-mean Gaussian process
with that kernel over t = 0 .. T-1, x = L z (L the Cholesky factor of the
T x T covariance plus a small jitter, z standard normal). The bank, with
u = t / T (0 to 1 over the series) and d = |t - t'| in steps:
  linear              c + u u'                       c in {0, 1, 10}
  RBF                 exp(-(u - u')^2 / (2 l^2))      l in {0.01, 0.03, 0.1, 1, 10}
  periodic            exp(-2 sin^2(pi d / P) / l^2)   P in {4, 5, 7, 12, 24, 30, 52, 96}
                                                      steps, l in {0.5, 1, 2}
  rational quadratic  (1 + (u - u')^2 / (2 a l^2))^-a a in {0.1, 1, 10}, l in {0.1, 1}
  white noise         s^2 [t == t']                   s in {0.1, 1}
  constant            c                               c in {0.1, 1}
A series' period (for the loss's seasonal-naive scale) is that of its first
periodic kernel, 1 without one.

TSMixup. A new series is a convex combination of 1 to 3 series (real or
synthetic), each divided by its mean absolute value first, over a common
length (a random stretch of each), with weights from Dirichlet(1.5, ...).
It keeps the period of its heaviest part.

Both take a numpy Generator, so they are reproducible from a seed.
"""
import numpy as np

MAX_KERNELS = 5
PERIODS = (4, 5, 7, 12, 24, 30, 52, 96)


def _kernel(rng, t, T):
    """One kernel of the bank: (K (T, T), period or 1)."""
    u = t / T
    du = u[:, None] - u[None, :]
    kind = rng.integers(6)
    if kind == 0:
        return rng.choice([0.0, 1.0, 10.0]) + u[:, None] * u[None, :], 1
    if kind == 1:
        l = rng.choice([0.01, 0.03, 0.1, 1.0, 10.0])
        return np.exp(-du * du / (2 * l * l)), 1
    if kind == 2:
        P = int(rng.choice(PERIODS))
        l = rng.choice([0.5, 1.0, 2.0])
        d = t[:, None] - t[None, :]
        return np.exp(-2 * np.sin(np.pi * d / P) ** 2 / (l * l)), P
    if kind == 3:
        a = rng.choice([0.1, 1.0, 10.0])
        l = rng.choice([0.1, 1.0])
        return (1 + du * du / (2 * a * l * l)) ** -a, 1
    if kind == 4:
        return rng.choice([0.01, 1.0]) * np.eye(T), 1
    return np.full((T, T), rng.choice([0.1, 1.0])), 1


def kernel_synth(rng, T):
    """One series of length T and its period: a draw from a GP with a random
    composite kernel. Periodic kernels are drawn more often (half the
    kernels), as seasons are the hardest part of real data for the model."""
    t = np.arange(T, dtype=np.float64)
    K, period = None, 1
    for _ in range(rng.integers(1, MAX_KERNELS + 1)):
        if rng.random() < 0.35:                       # a periodic kernel, more often
            P = int(rng.choice(PERIODS))
            d = t[:, None] - t[None, :]
            k, p = np.exp(-2 * np.sin(np.pi * d / P) ** 2 / rng.choice([0.5, 1.0, 2.0]) ** 2), P
        else:
            k, p = _kernel(rng, t, T)
        if period == 1 and p > 1:
            period = p
        if K is None:
            K = k
        elif rng.random() < 0.5:
            K = K + k
        else:
            K = K * k
    jitter = 1e-6 * max(float(np.mean(np.diag(K))), 1e-6)
    for _ in range(6):
        try:
            L = np.linalg.cholesky(K + jitter * np.eye(T))
            break
        except np.linalg.LinAlgError:
            jitter *= 10
    else:
        w, V = np.linalg.eigh(K)
        L = V * np.sqrt(np.clip(w, 0, None))
    return L @ rng.standard_normal(T), period


def tsmixup(rng, series, periods, T_max=1024):
    """One TSMixup series from a list of series (arrays) and their periods."""
    k = int(rng.integers(1, 4))
    pick = rng.choice(len(series), k, replace=True)
    T = int(min(min(len(series[i]) for i in pick), T_max))
    w = rng.dirichlet(np.full(k, 1.5))
    x = np.zeros(T)
    for wi, i in zip(w, pick):
        v = series[i]
        s = int(rng.integers(0, len(v) - T + 1))
        v = v[s:s + T]
        x += wi * v / max(float(np.mean(np.abs(v))), 1e-8)
    return x, int(periods[pick[int(np.argmax(w))]])

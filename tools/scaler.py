"""scaler.py -- tickcast's per-series EMA scaler, the Python twin of core/scaler.c.

Both implement exactly this (docs/models.md, "Scaling"), per series and per
input value, in float64:

    on the first reading x:   m = x, v = 0, n = 1
    on each later reading x:  d = x - m
                              m = m + alpha * d
                              v = (1 - alpha) * (v + alpha * d * d)
                              n = n + 1
    scale                     s = sqrt(v + eps), eps = 1e-12
    model input               z = (x - m) / s        (with m, v after the update)
    forecast, back            y = m + s * y_model    (output k uses value k % I)

A series is warm once n >= warmup. Ticks without a reading of the series
(tick.missing hold or zero) do not update m, v, n; their input is
standardised with the current m and s.
"""
import math

EPS = 1e-12


class EmaScaler:
    """One series' scaler for `width` values per reading."""

    def __init__(self, alpha, width=1):
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha {alpha} is not in (0, 1]")
        self.alpha = alpha
        self.n = 0
        self.m = [0.0] * width
        self.v = [0.0] * width

    def update(self, x):
        """Takes one reading (a sequence of `width` floats)."""
        for i, xi in enumerate(x):
            if self.n == 0:
                self.m[i], self.v[i] = float(xi), 0.0
            else:
                d = xi - self.m[i]
                self.m[i] += self.alpha * d
                self.v[i] = (1.0 - self.alpha) * (self.v[i] + self.alpha * d * d)
        self.n += 1

    def scale(self, i=0):
        return math.sqrt(self.v[i] + EPS)

    def standardise(self, x):
        return [(xi - self.m[i]) / self.scale(i) for i, xi in enumerate(x)]

    def restore(self, y):
        """Maps model outputs back; output k belongs to input value k % width."""
        w = len(self.m)
        return [self.m[k % w] + self.scale(k % w) * yk for k, yk in enumerate(y)]

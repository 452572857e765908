#!/usr/bin/python3
"""evaluate.py -- backtests a tickcast model, with its intervals, on real series it was not trained on.

The series: tools/series_data.py's held-out ones (whole datasets that a hash
of their names holds out; docs/accuracy.md states the rule). For each, the
first 70% is "history", and the forecast origin rolls over every tick from
the last history reading to the second-to-last reading; each origin t
forecasts t+1..t+12 (as far as the series goes).

Methods, all with exactly the same (origin, horizon) pairs:

  default         the model, through the C path: all series in one
                  `tickcast replay --config CONFIG` run (--format json where
                  tickcast has it: forecasts with their lower and upper
                  bounds), one reading per tick, timestamps 1 s apart, each
                  series from its first reading; the forecast line of tick t
                  gives t+1..t+12
  last value      y(t+k) = x(t)
  seasonal naive  y(t+k) = x(t+k-m*ceil(k/m)), m the series' season length
                  (series_data.period: its frequency rounded, 1 outside 2..52)
  ETS             statsmodels' ETSModel, additive errors, damped additive
                  trend, plus an additive season of period m when m > 1 and
                  its AICc on the history is lower than the model's without;
                  parameters (smoothing, damping, initial states) fitted by
                  maximum likelihood on the history only, then held fixed: the
                  states are carried forward by statsmodels' own filter
                  (ETSModel(full series).smooth(fitted params), which is the
                  history's filter continued observation by observation; no
                  refit), and each origin's forecast is
                  l(t) + (phi + ... + phi^k) b(t) + s(t+k-m*ceil(k/m)).
                  Its 80% interval is statsmodels' own: the fit's
                  get_prediction (exact for these additive forms: variance
                  mse * its relative forecast variance at step k, the same
                  at every origin as the parameters are fixed) around each
                  origin's forecast.

Metrics per series and horizon k = 1..12: MAE, sMAPE (200 |e| / (|y| + |f|),
0 where both are 0), MASE (MAE / the in-sample seasonal-naive MAE of the
history, same m). A series' figure is the mean over k = 1..12. Intervals
(tickcast's and ETS's, level LEVEL): coverage, the share of (origin, k) pairs
with l <= y <= u, pooled over series per k; MSIS (M4): the mean over origins
and k of (u - l) + (2/a)(l - y)[y < l] + (2/a)(y - u)[y > u], a = 1 - LEVEL,
divided by the same in-sample seasonal-naive MAE.

  /usr/bin/python3 tools/evaluate.py                     # prints the tables
  /usr/bin/python3 tools/evaluate.py --doc docs/accuracy.md --train-minutes 45
  /usr/bin/python3 tools/evaluate.py --compare gru=A/tickcast.yaml lstm=B/tickcast.yaml

Needs numpy, pandas and statsmodels (Debian: python3-statsmodels), not torch;
R (tools/install_r_data.sh) the first time, to export the R packages' series.
"""
import argparse
import math
import os
import sys
import warnings

import numpy as np

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)
import series_data  # noqa: E402  (the real series and the held-out rule)
import train  # noqa: E402  (the scaler settings and the replay)

H = train.HORIZON
HISTORY = 0.7
LEVEL = train.INTERVAL_LEVEL            # the intervals scored: 80%


# --------------------------------------------------------------------------
# Forecasts: each returns f (n, H): f[t, k-1] forecasts x[t+k] from origin t
# --------------------------------------------------------------------------

def forecasts_last_value(x):
    return np.repeat(x[:, None], H, axis=1)


def forecasts_seasonal_naive(x, m):
    n = len(x)
    f = np.full((n, H), np.nan)
    for k in range(1, H + 1):
        back = m * math.ceil(k / m)               # the latest same-season reading
        t = np.arange(n)
        src = t + k - back
        ok = src >= 0
        f[ok, k - 1] = x[src[ok]]
    return f


def _ets_model(y, m, seasonal):
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel
    kw = dict(error="add", trend="add", damped_trend=True)
    if seasonal:
        kw.update(seasonal="add", seasonal_periods=m)
    return ETSModel(y, **kw)


def forecasts_ets(x, m, n_hist, level=LEVEL):
    """Returns (f, lower, upper, description): the forecasts and statsmodels'
    own prediction intervals at `level` (see the module's docstring)."""
    import pandas as pd
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cands = [False] + ([True] if m > 1 and n_hist >= 2 * m + 4 else [])
        fits = []
        for seasonal in cands:
            try:
                # A pandas series: statsmodels' get_prediction needs an index.
                fit = _ets_model(pd.Series(x[:n_hist]), m, seasonal).fit(disp=False, maxiter=2000)
                fits.append((fit.aicc, seasonal, fit))
            except Exception as e:                   # noqa: BLE001 (reported, not hidden)
                print(f"  ETS (season {seasonal}) failed to fit: {e}", file=sys.stderr)
        aicc, seasonal, fit = min(fits, key=lambda a: a[0])
        full = _ets_model(x, m, seasonal).smooth(np.asarray(fit.params))
    # The history's own filter and the continued one must agree where they overlap.
    d = np.max(np.abs(np.asarray(full.fittedvalues)[:n_hist] - np.asarray(fit.fittedvalues)))
    assert d < 1e-6 * (1 + np.abs(x).max()), d
    st = np.asarray(full.states)                      # row t: the states after x[t]
    names = list(fit.model.param_names)
    phi = np.asarray(fit.params)[names.index("damping_trend")]
    n = len(x)
    f = np.full((n, H), np.nan)
    damp = np.cumsum(phi ** np.arange(1, H + 1))
    for k in range(1, H + 1):
        f[:, k - 1] = st[:, 0] + damp[k - 1] * st[:, 1]
        if seasonal:
            src = np.arange(n) + k - m * math.ceil(k / m)
            ok = src >= 0
            f[~ok, k - 1] = np.nan
            f[ok, k - 1] += st[src[ok], 2]
    # Check the layout: from row t-1, the 1-step forecast is the fitted value of t.
    fv = np.asarray(full.fittedvalues)
    lo = m if seasonal else 1
    assert np.allclose(f[lo - 1:-1, 0], fv[lo:], rtol=1e-8, atol=1e-8 * (1 + np.abs(x).max()))
    # statsmodels' interval from the history's end; with fixed parameters
    # its width at step k is the same from every origin.
    pred = fit.get_prediction(start=n_hist, end=n_hist + H - 1)
    pi = np.asarray(pred.pred_int(alpha=1 - level))
    mean = np.asarray(pred.predicted_mean)
    assert np.allclose(mean, f[n_hist - 1], rtol=1e-8, atol=1e-8 * (1 + np.abs(x).max()))
    lower = f - (mean - pi[:, 0])[None, :]
    upper = f + (pi[:, 1] - mean)[None, :]
    desc = "A,Ad,A" if seasonal else "A,Ad,N"
    return f, lower, upper, desc + f" (phi {phi:.2f})"


def parse_replay_json(text, names):
    """`tickcast replay --format json` lines, one per series per tick in
    tick order, to {name: (forecast, lower, upper)}, each (ticks, H); the
    bounds are NaN where a line has none."""
    import json
    acc = {k: ([], [], []) for k in names}
    nan = [math.nan] * H
    for line in text.splitlines():
        if not line.strip():
            continue
        d = json.loads(line)
        f, lo, hi = acc[d["series"]]
        f.append(d["forecast"])
        lo.append(d.get("lower") or nan)
        hi.append(d.get("upper") or nan)
    return {k: tuple(np.asarray(a, dtype=np.float64).reshape(-1, H) for a in v)
            for k, v in acc.items()}


def forecasts_model(config, series, tickcast=None):
    """All series through one `tickcast replay` run. Returns ({name: (f,
    lower, upper)}, whether tickcast gave intervals)."""
    if tickcast:
        os.environ["TC_TICKCAST"] = tickcast
    data = {name: x for name, x, _ in series}
    if train.replay_has_json():
        got = parse_replay_json(train.replay_output(config, data, json_format=True), data)
    else:
        got = {k: (f, np.full_like(f, np.nan), np.full_like(f, np.nan))
               for k, f in train.replay(config, data).items()}
    for name, x, _ in series:
        if got[name][0].shape != (len(x), H):
            raise RuntimeError(f"{name}: tickcast replay gave {got[name][0].shape}, "
                               f"expected {(len(x), H)}")
    has = any(np.isfinite(lo).any() for _, lo, _ in got.values())
    return got, has


# --------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------

def scored_pairs(n, n_hist, k):
    """The origins scored at horizon k: n_hist-1 .. n-1-k."""
    return np.arange(n_hist - 1, n - k)


def naive_scale(x, n_hist, m):
    """The in-sample seasonal-naive MAE of the history: MASE's and MSIS's scale."""
    return float(np.mean(np.abs(x[m:n_hist] - x[:n_hist - m])))


def score(x, f, n_hist, m):
    """Per horizon k = 1..H: MAE, sMAPE, MASE over origins n_hist-1 .. n-2."""
    n = len(x)
    scale = naive_scale(x, n_hist, m)
    mae, smape = np.full(H, np.nan), np.full(H, np.nan)
    for k in range(1, H + 1):
        t = scored_pairs(n, n_hist, k)
        if len(t) == 0:
            continue
        y, p = x[t + k], f[t, k - 1]
        e = np.abs(y - p)
        den = np.abs(y) + np.abs(p)
        mae[k - 1] = e.mean()
        smape[k - 1] = np.mean(np.where(den > 0, 200 * e / np.where(den > 0, den, 1), 0.0))
    return {"MAE": mae, "sMAPE": smape, "MASE": mae / scale, "scale": scale}


def interval_score(y, lower, upper, a):
    """The M4 interval score of each pair (unscaled): (u - l) + (2/a)(l - y)
    where y < l + (2/a)(y - u) where y > u."""
    y, lower, upper = (np.asarray(v, dtype=np.float64) for v in (y, lower, upper))
    return ((upper - lower) + (2 / a) * np.clip(lower - y, 0, None)
            + (2 / a) * np.clip(y - upper, 0, None))


def score_intervals(x, lower, upper, n_hist, m, level=LEVEL):
    """Per horizon k = 1..H over the same pairs as score(): hits and pairs
    (y inside [l, u], pairs with both bounds), and MSIS (the mean interval
    score over the pairs, over the in-sample seasonal-naive MAE). Pairs
    without bounds are left out, and counted in "missing"."""
    n = len(x)
    scale = naive_scale(x, n_hist, m)
    hits, pairs, missing = np.zeros(H, int), np.zeros(H, int), np.zeros(H, int)
    msis = np.full(H, np.nan)
    for k in range(1, H + 1):
        t = scored_pairs(n, n_hist, k)
        y, lo, hi = x[t + k], lower[t, k - 1], upper[t, k - 1]
        ok = np.isfinite(lo) & np.isfinite(hi)
        missing[k - 1] = int((~ok).sum())
        if not ok.any():
            continue
        y, lo, hi = y[ok], lo[ok], hi[ok]
        hits[k - 1] = int(((y >= lo) & (y <= hi)).sum())
        pairs[k - 1] = int(ok.sum())
        msis[k - 1] = float(np.mean(interval_score(y, lo, hi, 1 - level))) / scale
    return {"hits": hits, "pairs": pairs, "missing": missing, "MSIS": msis}


def heldout_series(datasets=None):
    """[(name, values, period)]: the held-out series, or those of the named
    datasets, chosen alike (series_data.scored)."""
    if not datasets:
        return series_data.split()[1]
    ds = series_data.all_datasets()
    unknown = [d for d in datasets if d not in ds]
    if unknown:
        raise SystemExit(f"unknown datasets: {', '.join(unknown)} (tools/series_data.py lists them)")
    return [(n, v, series_data.period(f)) for d in datasets for n, v, f in series_data.scored(ds[d])]


def evaluate(config, datasets=None, tickcast=None):
    series = heldout_series(datasets)
    model, has_bounds = forecasts_model(config, series, tickcast)
    rows = []
    for name, x, m in series:
        n_hist = int(HISTORY * len(x))
        ets, ets_lo, ets_hi, ets_desc = forecasts_ets(x, m, n_hist)
        f, lo, hi = model[name]
        fc = {"default": f, "last value": forecasts_last_value(x),
              "seasonal naive": forecasts_seasonal_naive(x, m), "ETS": ets}
        res = {meth: score(x, v, n_hist, m) for meth, v in fc.items()}
        iv = {"default": score_intervals(x, lo, hi, n_hist, m),
              "ETS": score_intervals(x, ets_lo, ets_hi, n_hist, m)}
        rows.append(dict(name=name, n=len(x), n_hist=n_hist, m=m, ets=ets_desc, res=res, iv=iv))
    return rows, has_bounds


# --------------------------------------------------------------------------
# Report (tools/accuracy_report.py renders it)
# --------------------------------------------------------------------------

def _shown(path):
    rel = os.path.relpath(os.path.abspath(path), ROOT)
    return path if rel.startswith("..") else rel


def doc_fields(config, train_minutes, cpu):
    train_set, _ = series_data.split()
    ds = series_data.all_datasets()
    return dict(
        train_time=(f"  (~{train_minutes:g} min on {cpu}, 2 threads)" if train_minutes else ""),
        train_arg=(f" --train-minutes {train_minutes:g} --cpu '{cpu}'" if train_minutes else ""),
        n_datasets=len(ds), n_train_ds=sum(not series_data.is_heldout(d) for d in ds),
        n_held_ds=sum(series_data.is_heldout(d) for d in ds), n_train=len(train_set),
        n_train_readings=f"{sum(len(v) for _, v, _ in train_set):,}",
        config=_shown(config), alpha=train.ALPHA, warmup=train.WARMUP, level=LEVEL)


def main(argv=None):
    import accuracy_report
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=os.path.join(ROOT, "config", "tickcast.yaml"),
                    help="the model's tickcast config (default: config/tickcast.yaml)")
    ap.add_argument("--datasets", nargs="*",
                    help="datasets to score, as tools/series_data.py names them "
                         "(default: the held-out ones)")
    ap.add_argument("--tickcast", help="the tickcast program (default: build/cli/tickcast)")
    ap.add_argument("--doc", help="write the report (markdown) here, e.g. docs/accuracy.md")
    ap.add_argument("--train-minutes", type=float, help="training time to quote in the report")
    ap.add_argument("--cpu", default="", help="the CPU it was trained on, to quote in the report")
    ap.add_argument("--compare", nargs="+", metavar="NAME=CONFIG",
                    help="score these models' configs on the same series instead of --config, "
                         "and print them side by side (not with --doc)")
    args = ap.parse_args(argv)
    if args.compare and args.doc:
        ap.error("--compare prints its tables; it does not write --doc")
    leaked = [d for d in args.datasets or [] if not series_data.is_heldout(d)]
    if leaked:
        print(f"note: {', '.join(leaked)} in training: not a held-out score", file=sys.stderr)
    if args.compare:
        pairs = [a.split("=", 1) for a in args.compare]
        if any(len(p) != 2 for p in pairs):
            ap.error("--compare takes NAME=CONFIG items")
        print(accuracy_report.compare_tables(
            [(name, evaluate(config, args.datasets, args.tickcast)[0]) for name, config in pairs]))
        return 0
    rows, has_bounds = evaluate(args.config, args.datasets, args.tickcast)
    print(accuracy_report.report(rows, has_bounds))
    if args.doc:
        accuracy_report.write_doc(args.doc, os.path.join(TOOLS, "accuracy_template.md"), rows,
                                  has_bounds, doc_fields(args.config, args.train_minutes, args.cpu))
        print(f"\nwrote {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

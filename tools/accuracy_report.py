#!/usr/bin/python3
"""accuracy_report.py -- renders tools/evaluate.py's results as tables, target verdicts and docs/accuracy.md."""
import os

import numpy as np

METHODS = ["default", "last value", "seasonal naive", "ETS"]
TARGET_RATIO = 0.9          # default's mean MASE at most this times ETS's
TARGET_BEATS_SN = 0.8       # share of series where default beats seasonal naive
TARGET_COVERAGE = (0.75, 0.85)


def mean_over_h(r, metric):
    return float(np.nanmean(r[metric]))


def mase(r, meth):
    return mean_over_h(r["res"][meth], "MASE")


def msis(r, meth):
    v = r["iv"][meth]["MSIS"]
    return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")


def coverage(rows, meth):
    """Per k: the share of pairs inside the interval, pooled over series; and overall."""
    hits = np.sum([r["iv"][meth]["hits"] for r in rows], axis=0)
    pairs = np.sum([r["iv"][meth]["pairs"] for r in rows], axis=0)
    per_k = np.where(pairs > 0, hits / np.maximum(pairs, 1), np.nan)
    return per_k, (hits.sum() / pairs.sum() if pairs.sum() else float("nan"))


def summary(rows):
    n = len(rows)
    beats = {m: [r for r in rows if mase(r, "default") < mase(r, m)] for m in METHODS[1:]}
    mean = {m: float(np.mean([mase(r, m) for r in rows])) for m in METHODS}
    median = {m: float(np.median([mase(r, m) for r in rows])) for m in METHODS}
    msis_mean = {m: float(np.mean([msis(r, m) for r in rows])) for m in ("default", "ETS")}
    return dict(n=n, beats_sn=beats["seasonal naive"], beats_lv=beats["last value"],
                beats_ets=beats["ETS"], mean=mean, median=median, msis=msis_mean)


def _f(v, d=3):
    return "–" if v is None or not np.isfinite(v) else f"{v:.{d}f}"


def _pct(v):
    return "–" if not np.isfinite(v) else f"{100 * v:.1f}%"


def tables(rows):
    out = ["| series | n | history | m | ETS form | MASE default | last value | seasonal naive | "
           "ETS | beats seasonal naive | MSIS default | MSIS ETS |",
           "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | :---: | ---: | ---: |"]
    for r in rows:
        ms = {m: mase(r, m) for m in METHODS}
        best = min(ms.values())
        cells = [("**" + _f(ms[m]) + "**") if ms[m] == best else _f(ms[m]) for m in METHODS]
        out.append(f"| {r['name']} | {r['n']} | {r['n_hist']} | {r['m']} | {r['ets']} | "
                   + " | ".join(cells)
                   + f" | {'yes' if ms['default'] < ms['seasonal naive'] else 'no'} | "
                   f"{_f(msis(r, 'default'))} | {_f(msis(r, 'ETS'))} |")
    s = summary(rows)
    out.append("| **mean** | | | | | " + " | ".join(_f(s["mean"][m]) for m in METHODS)
               + f" | {len(s['beats_sn'])} of {s['n']} | {_f(s['msis']['default'])} | "
               f"{_f(s['msis']['ETS'])} |")
    out.append("| median | | | | | " + " | ".join(_f(s["median"][m]) for m in METHODS)
               + " | | | |")
    out += ["", "sMAPE (%) and MAE (in the series' units), means over k = 1..12:", "",
            "| series | sMAPE default | last value | seasonal naive | ETS | "
            "MAE default | last value | seasonal naive | ETS |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        sm = [_f(mean_over_h(r["res"][m], "sMAPE"), 2) for m in METHODS]
        ma = [f"{mean_over_h(r['res'][m], 'MAE'):.4g}" for m in METHODS]
        out.append(f"| {r['name']} | " + " | ".join(sm) + " | " + " | ".join(ma) + " |")
    sm_mean = [_f(np.mean([mean_over_h(r["res"][m], "sMAPE") for r in rows]), 2) for m in METHODS]
    out.append("| **mean** | " + " | ".join(sm_mean) + " | | | | |")
    return "\n".join(out)


def horizon_table(rows):
    cov = {m: coverage(rows, m)[0] for m in ("default", "ETS")}
    out = ["| k | MASE default | last value | seasonal naive | ETS | coverage default | "
           "coverage ETS | MSIS default | MSIS ETS |",
           "| ---: |" + " ---: |" * 8]
    for k in range(len(cov["ETS"])):
        ms = [np.nanmean([r["res"][m]["MASE"][k] for r in rows]) for m in METHODS]
        mi = [np.nanmean([r["iv"][m]["MSIS"][k] for r in rows])
              if any(np.isfinite(r["iv"][m]["MSIS"][k]) for r in rows) else np.nan
              for m in ("default", "ETS")]
        out.append(f"| {k + 1} | " + " | ".join(_f(v) for v in ms) + " | "
                   f"{_pct(cov['default'][k])} | {_pct(cov['ETS'][k])} | "
                   + " | ".join(_f(v) for v in mi) + " |")
    return "\n".join(out)


def verdict(rows, has_bounds):
    """Markdown paragraphs, one per target, saying met or not and by how much."""
    s = summary(rows)
    n = s["n"]
    ratio = s["mean"]["default"] / s["mean"]["ETS"]
    share = len(s["beats_sn"]) / n
    p = [f"**Mean MASE against ETS's, at most {TARGET_RATIO:g}: "
         f"{'met' if ratio <= TARGET_RATIO else 'NOT met'}** — {s['mean']['default']:.3f} "
         f"against {s['mean']['ETS']:.3f}, a ratio of {ratio:.3f} (medians "
         f"{s['median']['default']:.3f} and {s['median']['ETS']:.3f}). It beats ETS on "
         f"{len(s['beats_ets'])} of {n} series and last value on {len(s['beats_lv'])} of {n}."]
    lose = [r["name"] for r in rows if r not in s["beats_sn"]]
    p.append(f"**Beats seasonal naive on at least {100 * TARGET_BEATS_SN:.0f}% of the series: "
             f"{'met' if share >= TARGET_BEATS_SN else 'NOT met'}** — {len(s['beats_sn'])} of "
             f"{n} ({100 * share:.0f}%)" + (f"; it loses on {', '.join(lose)}." if lose else "."))
    lo, hi = TARGET_COVERAGE
    if has_bounds:
        cov, total = coverage(rows, "default")
        inside = int(np.sum((cov >= lo) & (cov <= hi)))
        p.append(f"**Coverage of the 80% intervals in {100 * lo:.0f}–{100 * hi:.0f}% at every "
                 f"horizon: {'met' if inside == len(cov) else 'NOT met'}** — {inside} of "
                 f"{len(cov)} horizons inside, from {_pct(np.nanmin(cov))} to "
                 f"{_pct(np.nanmax(cov))}, {_pct(total)} over all pairs (ETS: "
                 f"{_pct(coverage(rows, 'ETS')[1])}).")
        p.append(f"**MSIS at most ETS's: {'met' if s['msis']['default'] <= s['msis']['ETS'] else 'NOT met'}"
                 f"** — mean over series {s['msis']['default']:.3f} against "
                 f"{s['msis']['ETS']:.3f}.")
    else:
        p.append("**Coverage and MSIS of tickcast's intervals: not measured** — the tickcast "
                 "that ran gave no interval bounds (`tickcast replay --format json` with "
                 "lower and upper); ETS's figures are in the tables: coverage "
                 f"{_pct(coverage(rows, 'ETS')[1])} over all pairs, mean MSIS "
                 f"{s['msis']['ETS']:.3f}.")
    worst = sorted(rows, key=lambda r: mase(r, "default") - mase(r, "ETS"), reverse=True)[:3]
    p.append("Where it trails ETS the most: " + "; ".join(
        f"{r['name']} ({mase(r, 'default'):.3f} vs {mase(r, 'ETS'):.3f})" for r in worst) + ".")
    return "\n\n".join(p)


def compare_tables(results):
    """results: [(model name, rows)] on the same series: a summary row per
    model, then MASE per series side by side."""
    H = len(results[0][1][0]["res"]["default"]["MASE"])
    out = ["| model | mean MASE | median MASE | beats seasonal naive | beats ETS | "
           "MASE k = 1 | MASE k = 12 |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, rows in results:
        s = summary(rows)
        hk = [np.nanmean([r["res"]["default"]["MASE"][k] for r in rows]) for k in (0, H - 1)]
        out.append(f"| {name} | {_f(s['mean']['default'])} | {_f(s['median']['default'])} | "
                   f"{len(s['beats_sn'])} of {s['n']} | {len(s['beats_ets'])} of {s['n']} | "
                   f"{_f(hk[0])} | {_f(hk[1])} |")
    base = results[0][1]
    s = summary(base)
    for m in METHODS[1:]:
        hk = [np.nanmean([r["res"][m]["MASE"][k] for r in base]) for k in (0, H - 1)]
        out.append(f"| {m} | {_f(s['mean'][m])} | {_f(s['median'][m])} | | | "
                   f"{_f(hk[0])} | {_f(hk[1])} |")
    out += ["", "| series | " + " | ".join(name for name, _ in results) + " | "
            + " | ".join(METHODS[1:]) + " |",
            "| --- |" + " ---: |" * (len(results) + len(METHODS) - 1)]
    for i, r in enumerate(base):
        v = [mase(rows[i], "default") for _, rows in results] + [mase(r, m) for m in METHODS[1:]]
        out.append(f"| {r['name']} | " + " | ".join(("**" + _f(a) + "**") if a == min(v) else _f(a)
                                                     for a in v) + " |")
    return "\n".join(out)


def report(rows, has_bounds):
    return "\n\n".join([tables(rows), horizon_table(rows), verdict(rows, has_bounds)])


# Held-out series the bundled weights were trained on (before the split existed).
BUNDLED_TRAINED_ON = ("statsmodels::elnino",)


def write_doc(path, template_path, rows, has_bounds, fields):
    """docs/accuracy.md from its template (tools/accuracy_template.md) and the results."""
    with open(template_path) as f:
        template = f.read()
    s = summary(rows)
    unseen = [r for r in rows if r["name"] not in BUNDLED_TRAINED_ON]
    fields = dict(fields, mase_21=float(np.mean([mase(r, "default") for r in unseen])),
                  ets_21=float(np.mean([mase(r, "ETS") for r in unseen])))
    fields["ratio_21"] = fields["mase_21"] / fields["ets_21"]
    held = "\n".join(f"| {r['name']} | {r['n']} | {r['m']} |" for r in rows)
    text = template.format(tables=tables(rows), horizon=horizon_table(rows),
                           verdict=verdict(rows, has_bounds), n_held=s["n"], heldout=held,
                           one_share=100 / s["n"], **fields)
    with open(path, "w") as f:
        f.write(text)
    return os.path.abspath(path)

#!/usr/bin/python3
"""series_data.py -- loads the real series that train.py learns from and evaluate.py scores on.

Two sources, each series with its calendar frequency (observations per
year, or per cycle: 12 monthly, 4 quarterly, 1 annual, 5 business days, ...):

- the `ts` objects of three R packages that Debian ships, r-cran-forecast,
  r-cran-aer and r-cran-tseries (R_PACKAGES), exported once with Rscript to
  CSV files in a git-ignored cache folder (.cache/series/, or
  $TC_SERIES_CACHE); `tools/install_r_data.sh` installs the packages;
- the time-series datasets of Debian's python3-statsmodels
  (`statsmodels.datasets`, STATSMODELS).

R's own `datasets` package (AirPassengers, nottem, co2, Nile, ...) is kept
for an evaluation independent of this project's: nothing here reads it. The
export loads objects only from the three packages above, by name, and refuses
any name that R's `datasets` package also has (compared without case, so
statsmodels' nile, co2 and sunspots, copies of R's Nile, co2 and sunspot
data, are refused too).

A dataset is one R object or one statsmodels dataset; a multivariate one
gives a series per column ("AER::USMacroG.gdp"). The held-out rule
(is_heldout) decides per dataset, never per series, and is stated in
docs/accuracy.md.

  /usr/bin/python3 tools/series_data.py           # exports if needed, lists the split
  /usr/bin/python3 tools/series_data.py --force   # exports again
"""
import argparse
import csv
import glob
import hashlib
import os
import subprocess
import sys
import warnings

import numpy as np

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)

R_PACKAGES = ("forecast", "AER", "tseries")
STATSMODELS = ("elnino", "macrodata", "fertility", "elec_equip", "interest_inflation",
               "danish_data")
MIN_TRAIN = 30          # shortest series used in training
MIN_HELDOUT = 40        # shortest series scored
MAX_LEN = 1500          # longer series keep their last MAX_LEN readings
HELDOUT_PER_DATASET = 4  # series scored per held-out dataset: its first ones of MIN_HELDOUT or more
HELDOUT_SALT = "tickcast-heldout-v1"
HELDOUT_MOD = 4         # a dataset is held out when its hash is 0 modulo this

MACRO_COLUMNS = ["realgdp", "realcons", "realinv", "realgovt", "realdpi", "cpi", "m1",
                 "tbilrate", "unemp", "pop", "infl", "realint"]

# Writes every ts object of each package named on the command line (after the
# output folder) to <folder>/<package>.csv: dataset, series, frequency, value,
# one row per reading in time order. Names that R's datasets package also has
# are refused (their list is read from the package index; none of its data
# is loaded).
R_EXPORT = r"""
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]
pkgs <- args[-1]
reserved <- tolower(sub(" .*", "", data(package = "datasets")$results[, "Item"]))
for (pkg in pkgs) {
  items <- sub(" .*", "", data(package = pkg)$results[, "Item"])
  rows <- list()
  for (name in unique(items)) {
    if (tolower(name) %in% reserved) {
      message("refused ", pkg, "::", name, ": R's datasets package has that name")
      next
    }
    e <- new.env()
    ok <- tryCatch({ data(list = name, package = pkg, envir = e); TRUE },
                   error = function(err) FALSE, warning = function(w) FALSE)
    if (!ok || !exists(name, envir = e, inherits = FALSE)) next
    x <- get(name, envir = e)
    if (!is.ts(x) || !is.numeric(x)) next
    m <- as.matrix(x)
    cols <- if (ncol(m) == 1) "" else paste0(".", colnames(m))
    if (length(cols) != ncol(m)) cols <- paste0(".", seq_len(ncol(m)))
    for (j in seq_len(ncol(m))) {
      rows[[length(rows) + 1]] <- data.frame(
        dataset = paste0(pkg, "::", name), series = paste0(pkg, "::", name, cols[j]),
        frequency = frequency(x), value = format(m[, j], digits = 17),
        stringsAsFactors = FALSE)
    }
  }
  df <- if (length(rows)) do.call(rbind, rows) else
    data.frame(dataset = character(), series = character(), frequency = numeric(), value = character())
  write.csv(df, file.path(out, paste0(pkg, ".csv")), row.names = FALSE)
}
"""


def cache_dir():
    return os.environ.get("TC_SERIES_CACHE") or os.path.join(ROOT, ".cache", "series")


def period(frequency):
    """The season length used for seasonal naive, MASE and ETS: the frequency
    rounded, when it is one of 2..52 after rounding (52.18 weekly -> 52), else 1
    (annual, and daily data with a 365-day year)."""
    m = int(round(float(frequency)))
    return m if 2 <= m <= 52 else 1


def _clean(v):
    """Float array without leading or trailing gaps; a few inner gaps are
    filled by straight lines, more (over 5%) refuse the series (None)."""
    v = np.asarray(v, dtype=np.float64)
    ok = np.isfinite(v)
    if not ok.any():
        return None
    lo, hi = np.argmax(ok), len(v) - np.argmax(ok[::-1])
    v, ok = v[lo:hi], ok[lo:hi]
    if (~ok).mean() > 0.05:
        return None
    if not ok.all():
        i = np.arange(len(v))
        v = np.interp(i, i[ok], v[ok])
    return v[-MAX_LEN:]


# --------------------------------------------------------------------------
# R packages
# --------------------------------------------------------------------------

def export_r(folder=None, force=False):
    """Runs the export (Rscript) unless every package's CSV is there."""
    folder = folder or cache_dir()
    want = [os.path.join(folder, p + ".csv") for p in R_PACKAGES]
    if not force and all(os.path.exists(w) for w in want):
        return folder
    os.makedirs(folder, exist_ok=True)
    try:
        r = subprocess.run(["Rscript", "--vanilla", "--default-packages=utils,stats", "-e", R_EXPORT,
                            folder, *R_PACKAGES], capture_output=True, text=True)
    except FileNotFoundError:
        raise RuntimeError("Rscript not found: run tools/install_r_data.sh (Debian's "
                           "r-cran-forecast, r-cran-aer, r-cran-tseries)") from None
    if r.returncode != 0:
        raise RuntimeError(f"Rscript export failed: {r.stderr[-2000:]}\n"
                           "(tools/install_r_data.sh installs the R packages)")
    return folder


def load_r(folder=None):
    """{dataset: [(series, values, frequency)]} from the exported CSVs."""
    folder = export_r(folder)
    reserved = r_reserved_names(folder)
    out = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.csv"))):
        if os.path.basename(path)[:-4] not in R_PACKAGES:
            continue
        acc = {}
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                key = (row["dataset"], row["series"], float(row["frequency"]))
                v = row["value"].strip()
                acc.setdefault(key, []).append(float(v) if v not in ("NA", "") else np.nan)
        for (ds, name, freq), vals in acc.items():
            if ds.split("::", 1)[1].lower() in reserved:
                raise RuntimeError(f"{ds}: R's datasets package has that name; refused")
            v = _clean(vals)
            if v is not None and len(v) >= MIN_TRAIN and np.ptp(v) > 0:
                out.setdefault(ds, []).append((name, v, freq))
    return out


def r_reserved_names(folder=None):
    """Lower-case names of R's datasets package (its index, listed once and
    cached; no data of it is read). Empty when R is not installed and no list
    is cached."""
    path = os.path.join(folder or cache_dir(), "reserved_names.txt")
    if not os.path.exists(path):
        try:
            r = subprocess.run(["Rscript", "--vanilla", "--default-packages=utils", "-e",
                                'cat(tolower(sub(" .*", "", data(package = "datasets")$results[, "Item"])), sep = "\\n")'],
                               capture_output=True, text=True)
        except FileNotFoundError:
            return set()
        if r.returncode != 0:
            return set()
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(r.stdout)
    with open(path) as f:
        return {line.strip() for line in f if line.strip()}


# --------------------------------------------------------------------------
# statsmodels.datasets
# --------------------------------------------------------------------------

def _sm(name):
    import importlib
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module("statsmodels.datasets." + name).load_pandas().data


def load_statsmodels(name):
    """[(series, values, frequency)] for one statsmodels dataset."""
    if name not in STATSMODELS:
        raise ValueError(f"statsmodels dataset {name} is not one of {', '.join(STATSMODELS)} "
                         "(nile, co2 and sunspots copy R's datasets package and are refused)")
    d = _sm(name)
    key = "statsmodels::" + name
    if name == "elec_equip":
        out = [(key, d.iloc[:, 0].to_numpy(float), 12)]
    elif name == "elnino":       # one row a year, JAN..DEC: flattened to months
        out = [(key, d.drop(columns="YEAR").to_numpy(float).reshape(-1), 12)]
    elif name == "macrodata":
        out = [(f"{key}.{c}", d[c].to_numpy(float), 4) for c in MACRO_COLUMNS]
    elif name == "interest_inflation":
        out = [(f"{key}.{c}", d[c].to_numpy(float), 4) for c in ("Dp", "R")]
    elif name == "danish_data":
        out = [(f"{key}.{c}", d[c].to_numpy(float), 4) for c in d.columns]
    else:                        # fertility: one row per country, a column a year 1960..
        years = [c for c in d.columns if c.isdigit()]
        out = [(f"{key}.{row['Country Code']}", row[years].to_numpy(float), 1)
               for _, row in d.iterrows()]
    res = []
    for n, v, f in out:
        v = _clean(v[np.isfinite(v)] if name == "fertility" else v)
        if v is not None and len(v) >= MIN_TRAIN and np.ptp(v) > 0:
            res.append((n, v, f))
    return res


# --------------------------------------------------------------------------
# All datasets, and the split
# --------------------------------------------------------------------------

def all_datasets(with_r=True):
    """{dataset: [(series, values, frequency)]}, statsmodels' and (with_r) the
    R packages'."""
    out = {"statsmodels::" + n: load_statsmodels(n) for n in STATSMODELS}
    if with_r:
        out.update(load_r())
    return {k: v for k, v in out.items() if v}


def is_heldout(dataset):
    """The held-out rule: SHA-256 of HELDOUT_SALT + ":" + the dataset's name
    ("AER::USMacroG"), its first 8 hex digits as a number, is 0 modulo
    HELDOUT_MOD. Fixed before any model was scored; whole datasets only."""
    h = hashlib.sha256(f"{HELDOUT_SALT}:{dataset}".encode()).hexdigest()
    return int(h[:8], 16) % HELDOUT_MOD == 0


def scored(items):
    """The series of a dataset that are scored: its first HELDOUT_PER_DATASET
    of at least MIN_HELDOUT readings."""
    return [s for s in items if len(s[1]) >= MIN_HELDOUT][:HELDOUT_PER_DATASET]


def split(datasets=None):
    """(train, heldout): lists of (series, values, period). Training: every
    series of a dataset the rule keeps. Held out: of each held-out dataset,
    its first HELDOUT_PER_DATASET series of at least MIN_HELDOUT readings (its
    other series are scored by no one and trained on by no one)."""
    datasets = all_datasets() if datasets is None else datasets
    train, held = [], []
    for ds in sorted(datasets):
        items = [(n, v, period(f)) for n, v, f in datasets[ds]]
        if is_heldout(ds):
            held.extend(scored(items))
        else:
            train.extend(items)
    return train, held


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--force", action="store_true", help="export the R packages' series again")
    args = ap.parse_args(argv)
    if args.force:
        export_r(force=True)
    ds = all_datasets()
    for k in sorted(ds):
        print(f"{'HELD OUT' if is_heldout(k) else 'train   '} {k}: {len(ds[k])} series, "
              f"lengths {min(len(v) for _, v, _ in ds[k])}..{max(len(v) for _, v, _ in ds[k])}, "
              f"frequency {sorted({f for _, _, f in ds[k]})}")
    tr, he = split(ds)
    print(f"training: {len(tr)} series, {sum(len(v) for _, v, _ in tr)} readings; "
          f"held out: {len(he)} series from {sum(is_heldout(k) for k in ds)} datasets")
    return 0


if __name__ == "__main__":
    sys.exit(main())

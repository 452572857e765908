#!/usr/bin/python3
"""make_demo_data.py -- writes the real series that tools/demo.py replays.

Four series from the datasets of Debian's python3-statsmodels (all public
domain; models/demo/README.md says where each comes from), one CSV each
under models/demo/, `date,value`, oldest first:

  co2.csv         Mauna Loa CO2, ppm: monthly means of the weekly flask
                  samples, 1976-01 .. 2001-12 (months without a sample dropped)
  sunspots.csv    yearly sunspot activity, 1700 .. 2008
  nile.csv        yearly flow of the Nile at Aswan, 10^8 m^3, 1871 .. 1970
  elec_equip.csv  EU manufacture of electrical equipment, monthly index
                  (2010 = 100), 1995-01 .. 2016-05

None of these four datasets was used to train the bundled default model
(docs/accuracy.md), so the demo shows forecasts of series the model has never
seen. co2, sunspots and nile are used nowhere in training (tools/series_data.py
refuses them: R's datasets package, kept for an independent evaluation, has
the same data); the current tools/train.py recipe trains on elec_equip.

  /usr/bin/python3 tools/make_demo_data.py          # rewrites models/demo/*.csv
"""
import importlib
import os
import sys
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "models", "demo")


def load(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module("statsmodels.datasets." + name).load_pandas().data


def series():
    """[(file stem, [(date label, value)])]"""
    out = []
    co2 = load("co2")["co2"].resample("MS").mean().dropna()
    co2 = co2[(co2.index.year >= 1976) & (co2.index.year <= 2001)]
    out.append(("co2", [(d.strftime("%Y-%m"), round(float(v), 3)) for d, v in co2.items()]))

    s = load("sunspots")
    out.append(("sunspots", [(str(int(y)), float(v)) for y, v in zip(s["YEAR"], s["SUNACTIVITY"])]))

    n = load("nile")
    out.append(("nile", [(str(int(y)), float(v)) for y, v in zip(n["year"], n["volume"])]))

    e = load("elec_equip")          # a DatetimeIndex, one column
    col = e.columns[0]
    out.append(("elec_equip", [(d.strftime("%Y-%m"), float(v)) for d, v in e[col].items()]))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    for stem, rows in series():
        path = os.path.join(OUT, stem + ".csv")
        with open(path, "w") as f:
            f.write("date,value\n")
            for d, v in rows:
                f.write(f"{d},{v:g}\n")
        print(f"wrote {os.path.relpath(path, ROOT)}: {len(rows)} values, {rows[0][0]} .. {rows[-1][0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""plot.py -- a picture of tickcast's forecasts: the actual series and, from
every tick, the fan of its forecast (one thin line from the reading at that
tick through the forecasts 1..12 ticks ahead, coloured by how far ahead).

From a replay (its output and its input):

  /usr/bin/python3 tools/demo.py --write-readings /tmp/r.txt --series sunspots
  build/cli/tickcast replay --config config/tickcast.yaml < /tmp/r.txt > /tmp/f.txt
  /usr/bin/python3 tools/plot.py --replay /tmp/f.txt --readings /tmp/r.txt --out forecast.png

From a running tickcastd, for a while (the actuals come from a file of the
readings sent, with the timestamps they were sent with, e.g. what
`tools/demo.py --no-daemon --save-readings FILE` writes):

  /usr/bin/python3 tools/plot.py --subscribe tcp://127.0.0.1:7701 --seconds 30 \\
      --readings /tmp/sent.txt --out live.png

Forecast lines are `<series> <t> <y1> ... <yO>` (`tickcast replay`'s output,
`tickcast sub`'s, or the text bodies on the PUB socket; JSON bodies are read
too); reading lines are `<series> <value> <timestamp>`. A forecast of tick
`t` starts from the series' last reading before the next tick (`t` plus the
tick interval, --interval-ms, by default the smallest step between forecast
times). Series `demo.<name>` whose readings are models/demo/<name>.csv get
that file's dates on the x axis; others are plotted against the tick count.

Needs matplotlib (Debian: python3-matplotlib); --subscribe needs pyzmq.
"""
import argparse
import bisect
import json
import math
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_DIR = os.path.join(ROOT, "models", "demo")


def parse_forecast_line(line):
    line = line.strip()
    if not line:
        return None
    if line.startswith("{"):
        f = json.loads(line)
        return f["series"], float(f["t"]), [math.nan if y is None else float(y) for y in f["forecast"]]
    sid, t, *ys = line.split()
    if "lower" in ys:                 # model.intervals: "lower ... upper ..." follow
        ys = ys[:ys.index("lower")]
    return sid, float(t), [float(y) for y in ys]


def read_forecasts(path):
    out = {}
    with open(path) as f:
        for line in f:
            p = parse_forecast_line(line)
            if p:
                out.setdefault(p[0], []).append((p[1], p[2]))
    return out


def read_readings(path):
    """{series: [(timestamp, value)]}, sorted by time; lines without a
    timestamp, or with several values, are skipped."""
    out = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 3 or "," in parts[1]:
                continue
            try:
                out.setdefault(parts[0], []).append((float(parts[2]), float(parts[1])))
            except ValueError:
                continue
    for v in out.values():
        v.sort(key=lambda p: p[0])
    return out


def subscribe(endpoint, seconds, prefix):
    import zmq
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.connect(endpoint)
    sub.setsockopt_string(zmq.SUBSCRIBE, prefix)
    out = {}
    end = time.monotonic() + seconds
    n = 0
    try:
        while True:
            left = end - time.monotonic()
            if left <= 0 or not sub.poll(int(left * 1000) + 1):
                break
            for line in sub.recv_multipart()[-1].decode("utf-8", "replace").splitlines():
                p = parse_forecast_line(line)
                if p:
                    out.setdefault(p[0], []).append((p[1], p[2]))
                    n += 1
    except KeyboardInterrupt:
        pass
    finally:
        sub.close()
        ctx.term()
    print(f"plot.py: {n} forecasts of {len(out)} series in {seconds:g} s", file=sys.stderr)
    return out


def infer_interval(forecasts):
    steps = []
    for fs in forecasts.values():
        ts = sorted({t for t, _ in fs})
        steps += [b - a for a, b in zip(ts, ts[1:]) if b > a]
    return min(steps) if steps else 1.0


def demo_dates(sid, values):
    """The dates of models/demo/<name>.csv when `values` are its first values."""
    if not sid.startswith("demo."):
        return None
    path = os.path.join(DEMO_DIR, sid[5:] + ".csv")
    if not os.path.exists(path):
        return None
    dates, csv = [], []
    with open(path) as f:
        next(f)
        for line in f:
            if line.strip():
                d, v = line.strip().split(",")
                dates.append(d)
                csv.append(float(v))
    if len(values) > len(csv):
        return None
    if any(abs(a - b) > 1e-6 * max(1.0, abs(b)) for a, b in zip(values, csv)):
        return None
    return dates


def align(sid, fs, readings, interval):
    """(xs and values of the actual series, [(origin x, origin value or None, ys)])"""
    if readings:
        rts = [t for t, _ in readings]
        vals = [v for _, v in readings]
        fans = []
        for t, ys in sorted(fs, key=lambda p: p[0]):
            i = bisect.bisect_left(rts, t + interval - 1e-9) - 1
            if i >= 0:
                fans.append((i, vals[i], ys))
        return list(range(len(vals))), vals, fans
    t0 = min(t for t, _ in fs)
    fans = [(round((t - t0) / interval), None, ys) for t, ys in sorted(fs, key=lambda p: p[0])]
    return [], [], fans


def plot(forecasts, readings, series, out, interval, last, every, title, colors=256):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    n = len(series)
    fig, axes = plt.subplots(n, 1, figsize=(10, 2.9 * n + (0.4 if title else 0.1)), squeeze=False,
                             dpi=100, layout="constrained")
    cmap = plt.get_cmap("viridis")
    horizon = 1
    for ax, sid in zip(axes[:, 0], series):
        xs, vals, fans = align(sid, forecasts.get(sid, []), readings.get(sid), interval)
        horizon = max([horizon] + [len(ys) for _, _, ys in fans])
        end = max([len(vals)] + [o + len(ys) + 1 for o, _, ys in fans]) if (fans or vals) else 0
        lo = max(0, (len(vals) or end) - last) if last else 0
        segs, cols = [], []
        for k, (o, v0, ys) in enumerate(fans):
            if o < lo or (every > 1 and (o - lo) % every):
                continue
            pts = ([(o, v0)] if v0 is not None else []) + [(o + h + 1, y) for h, y in enumerate(ys)]
            for h, (a, b) in enumerate(zip(pts, pts[1:])):
                segs.append([a, b])
                cols.append(h + (0 if v0 is not None else 1))
        if segs:
            lc = LineCollection(segs, cmap=cmap, linewidths=0.9, alpha=0.75, zorder=1)
            lc.set_array([c / max(1, horizon - 1) for c in cols])
            lc.set_clim(0, 1)
            ax.add_collection(lc)
        if vals:
            ax.plot(xs[lo:], vals[lo:], color="black", linewidth=1.6, zorder=3, label="actual")
            ax.legend(loc="upper left", fontsize=8, frameon=False)
        ax.autoscale_view()
        ax.set_xlim(lo - 0.5, end + 0.5)
        ax.set_title(sid, fontsize=10, loc="left")
        ax.grid(True, alpha=0.25)
        dates = demo_dates(sid, vals) if vals else None
        if dates:
            lim = ax.get_xlim()
            ticks = [x for x in ax.get_xticks()
                     if lim[0] <= x <= lim[1] and 0 <= x < len(dates) and x == int(x)]
            ax.set_xticks(ticks)
            ax.set_xticklabels([dates[int(x)] for x in ticks], fontsize=8)
            ax.set_xlim(lim)
        else:
            ax.set_xlabel("tick", fontsize=8)
        ax.tick_params(labelsize=8)
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=matplotlib.colors.Normalize(1, horizon))
    cb = fig.colorbar(sm, ax=axes[:, 0].tolist(), pad=0.01, fraction=0.025, aspect=30)
    cb.set_label("ticks ahead", fontsize=8)
    cb.ax.tick_params(labelsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    if colors:
        try:          # a palette PNG: a third of the bytes, the same picture to the eye
            from PIL import Image
            with Image.open(out) as im:
                q = im.convert("RGB").quantize(colors=colors)
            q.save(out, optimize=True)
        except ImportError:
            pass


def main(argv=None):
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()),
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--replay", metavar="FORECASTS", help="forecast lines (a replay's output)")
    src.add_argument("--subscribe", metavar="ENDPOINT", help="collect forecasts from a tickcastd's PUB socket")
    ap.add_argument("--readings", metavar="FILE", help="reading lines `<series> <value> <timestamp>`: the actuals")
    ap.add_argument("--seconds", type=float, default=30, help="--subscribe: for this long (30)")
    ap.add_argument("--topic-prefix", default="forecast.", help="--subscribe: publish.topic_prefix")
    ap.add_argument("--series", help="comma-separated ids to plot (default: the first 3 with readings)")
    ap.add_argument("--last", type=int, default=0, help="only the last N ticks (default all)")
    ap.add_argument("--every", type=int, default=1, help="a fan from every Nth tick (default 1)")
    ap.add_argument("--interval-ms", type=float, help="the tick interval (default: inferred)")
    ap.add_argument("--title", default="", help="a title over the plots")
    ap.add_argument("--colors", type=int, default=256,
                    help="a palette of this many colours (default 256; 0: full colour)")
    ap.add_argument("--out", default="forecast.png", help="the PNG to write (default forecast.png)")
    args = ap.parse_args(argv)

    try:
        import matplotlib  # noqa: F401
    except ImportError as e:
        print(f"plot.py: needs matplotlib ({e}; Debian: apt-get install python3-matplotlib)", file=sys.stderr)
        return 1

    if args.replay:
        forecasts = read_forecasts(args.replay)
    else:
        forecasts = subscribe(args.subscribe, args.seconds, args.topic_prefix)
    readings = read_readings(args.readings) if args.readings else {}
    if not forecasts:
        print("plot.py: no forecasts", file=sys.stderr)
        return 1
    if args.series:
        series = [s for s in args.series.split(",") if s]
        missing = [s for s in series if s not in forecasts]
        if missing:
            print(f"plot.py: no forecasts of {', '.join(missing)}", file=sys.stderr)
            return 1
    else:
        series = [s for s in forecasts if s in readings][:3] or list(forecasts)[:3]
    interval = args.interval_ms / 1000 if args.interval_ms else infer_interval(forecasts)
    plot(forecasts, readings, series, args.out, interval, args.last, max(1, args.every), args.title,
         args.colors)
    print(f"plot.py: wrote {args.out} ({', '.join(series)})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""demo.py -- tickcast's demo you can see: real series in, live forecasts out.

Starts tickcastd on the model of config/tickcast.yaml (a temporary copy of that
config with a fast wall clock, `tick.interval_ms: 1000 / --speed`, and ipc
endpoints in a temp folder, so it never meets a daemon you already run),
replays the real series of models/demo/ into it, one reading per series per
tick, all series in lockstep, and redraws a table in the terminal at every
tick: per series its last reading, the forecast for the next tick, the error
of the previous tick's forecast of this reading, the mean absolute 1-step
error so far next to that of the naive forecast (the last reading), and a
sparkline of the 12-tick forecast; the header has the tick, the series and
the daemon's tick time (p50/p99, from `tickcast status`). When standard
output is not a terminal it prints each tick's table as plain lines.

It stops when the data ends (or after --ticks), or on Ctrl-C, and stops the
daemon with SIGTERM (exit 0 when the daemon exited 0).

  /usr/bin/python3 tools/demo.py                          # all four series, 4 ticks a second
  /usr/bin/python3 tools/demo.py --series co2,nile --ticks 60 --speed 8
  /usr/bin/python3 tools/demo.py --no-daemon              # a tickcastd on the default tcp ports
  /usr/bin/python3 tools/demo.py --write-readings r.txt   # the series as `tickcast replay` input

Lockstep: a reading of every series goes out, the demo waits for the
forecasts of that tick, then sends the next readings, so each reading gets a
tick of its own at the daemon's pace. A model without a scaler
(`model.scaler: none`) sees raw readings at whatever scale they come; for such
a model the demo standardises each series itself with the rule of
`model.scaler: ema` (tools/scaler.py) and maps the forecasts back, so the
table is always in the series' own units (--scale).

Needs pyzmq (Debian: python3-zmq) and a build (build/cli/tickcast and
tickcastd; TC_TICKCAST and TC_TICKCASTD name others).
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)
from scaler import EmaScaler  # noqa: E402

DEMO_DIR = os.path.join(ROOT, "models", "demo")
DEFAULT_SERIES = ["co2", "sunspots", "nile", "elec_equip"]
SPARK = "▁▂▃▄▅▆▇█"
CLIENT_ALPHA = 0.05        # the EMA rule the demo applies for a model without a scaler


# ---------------------------------------------------------------------------
# The data
# ---------------------------------------------------------------------------

class Series:
    def __init__(self, stem):
        self.stem = stem
        self.id = "demo." + stem
        self.dates, self.values = [], []
        with open(os.path.join(DEMO_DIR, stem + ".csv")) as f:
            next(f)                                     # date,value
            for line in f:
                if line.strip():
                    d, v = line.strip().split(",")
                    self.dates.append(d)
                    self.values.append(float(v))


def load_series(names):
    out = []
    for name in names:
        stem = name[5:] if name.startswith("demo.") else name
        if not os.path.exists(os.path.join(DEMO_DIR, stem + ".csv")):
            have = sorted(f[:-4] for f in os.listdir(DEMO_DIR) if f.endswith(".csv"))
            raise SystemExit(f"demo.py: no series {name!r} in models/demo/ (there are: {', '.join(have)})")
        out.append(Series(stem))
    return out


def write_readings(series, path, spacing_s, t0=1700000000):
    """The series as reading lines `<id> <value> <t>`, tick i at t0 + i * spacing_s,
    in lockstep: tick by tick, every series that still has a value."""
    n = max(len(s.values) for s in series)
    with (sys.stdout if path == "-" else open(path, "w")) as f:
        for i in range(n):
            t = t0 + i * spacing_s
            for s in series:
                if i < len(s.values):
                    f.write(f"{s.id} {s.values[i]:.9g} {f'{t:.3f}'.rstrip('0').rstrip('.')}\n")
    return n


# ---------------------------------------------------------------------------
# The daemon
# ---------------------------------------------------------------------------

def tool(name):
    env = {"tickcast": "TC_TICKCAST", "tickcastd": "TC_TICKCASTD"}[name]
    folder = {"tickcast": "cli", "tickcastd": "daemon"}[name]
    return os.environ.get(env) or os.path.join(ROOT, "build", folder, name)


def model_info(tickcast, config):
    """What `tickcast check` says of a config: input size, outputs, scaler,
    clock and interval. Raises RuntimeError with its message when it fails."""
    r = subprocess.run([tickcast, "check", "--config", config], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError((r.stderr or r.stdout).strip())
    info = {}
    m = re.search(r"^model: input (\d+),.*head (\d+) outputs", r.stdout, re.M)
    if m:
        info["input_size"], info["outputs"] = int(m.group(1)), int(m.group(2))
    m = re.search(r"^scaler: (\w+)", r.stdout, re.M)
    info["scaler"] = m.group(1) if m else "none"
    m = re.search(r"^tick: clock (\w+), interval (\d+) ms", r.stdout, re.M)
    if m:
        info["clock"], info["interval_ms"] = m.group(1), int(m.group(2))
    m = re.search(r"^weights: (.*)$", r.stdout, re.M)
    info["weights"] = m.group(1).strip() if m else "?"
    return info


_TOP_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:")
_WEIGHTS = re.compile(r"""(\bweights\s*:\s*)("(?:[^"\\]|\\.)*"|'[^']*'|[^\s,#}]+)""")


def derive_config(text, config_dir, d, interval_ms):
    """config/tickcast.yaml with its own clock and endpoints: the top-level
    sections tick, ingest, publish, control and metrics are replaced (metrics
    off, so that the demo never takes the port of a tickcastd running here),
    model.weights is made absolute (it is relative to the config's folder),
    the rest is kept."""
    sections, key, cur = [], None, []
    for line in text.splitlines(keepends=True):
        m = _TOP_KEY.match(line)
        if m:
            sections.append((key, "".join(cur)))
            key, cur = m.group(1), []
        cur.append(line)
    sections.append((key, "".join(cur)))

    def absolute(m):
        v = m.group(2)
        if v[0] == '"':
            v = json.loads(v)
        elif v[0] == "'":
            v = v[1:-1]
        return m.group(1) + json.dumps(os.path.normpath(os.path.join(config_dir, v)))

    out = []
    for key, body in sections:
        if key in ("tick", "ingest", "publish", "control", "metrics"):
            continue
        if key == "model":
            body = _WEIGHTS.sub(absolute, body, count=1)
        out.append(body if body.endswith("\n") or not body else body + "\n")
    out.append(f"""
# tools/demo.py: its own clock and endpoints
tick: {{clock: wall, interval_ms: {interval_ms}, aggregate: last, missing: skip}}
ingest: {{bind: ["ipc://{d}/in"]}}
publish: {{bind: ["ipc://{d}/out"], topic_prefix: "forecast.", format: text, batch_bytes: 0}}
control: {{bind: "ipc://{d}/ctl"}}
metrics: {{listen: ""}}
""")
    return "".join(out)


class Daemon:
    """tickcastd on a derived config in a temp folder; stop() sends SIGTERM."""

    def __init__(self, config, interval_ms):
        self.dir = tempfile.mkdtemp(prefix="tickcast-demo-", dir="/tmp" if os.path.isdir("/tmp") else None)
        self.config = os.path.join(self.dir, "tickcast.yaml")
        with open(config) as f:
            text = f.read()
        with open(self.config, "w") as f:
            f.write(derive_config(text, os.path.dirname(os.path.abspath(config)), self.dir, interval_ms))
        self.ingest = f"ipc://{self.dir}/in"
        self.forecasts = f"ipc://{self.dir}/out"
        self.control = f"ipc://{self.dir}/ctl"
        self.log_path = os.path.join(self.dir, "daemon.log")
        self.proc = None
        self.rc = None

    def start(self, timeout=10):
        self.log = open(self.log_path, "w")
        # Its own session: a Ctrl-C in the terminal reaches the demo, which
        # then stops the daemon with SIGTERM.
        self.proc = subprocess.Popen([tool("tickcastd"), "--config", self.config],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            r = subprocess.run([tool("tickcast"), "status", "-e", self.control, "-t", "300"],
                               capture_output=True)
            if r.returncode == 0:
                return True
            time.sleep(0.1)
        return False

    def log_tail(self, n=20):
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.rc = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.rc = self.proc.wait()
        elif self.proc is not None:
            self.rc = self.proc.returncode
        return self.rc

    def cleanup(self, keep=False):
        if getattr(self, "log", None):
            self.log.close()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


class Control:
    """`status` over the control socket, with a short timeout."""

    def __init__(self, ctx, endpoint):
        self.ctx, self.endpoint, self.sock = ctx, endpoint, None

    def status(self, timeout_ms=300):
        import zmq
        if self.sock is None:
            self.sock = self.ctx.socket(zmq.REQ)
            self.sock.setsockopt(zmq.LINGER, 0)
            self.sock.connect(self.endpoint)
        self.sock.send(b"status")
        if not self.sock.poll(timeout_ms):
            self.sock.close()                 # a REQ that got no reply cannot send again
            self.sock = None
            return None
        try:
            return json.loads(self.sock.recv())
        except ValueError:
            return None

    def close(self):
        if self.sock is not None:
            self.sock.close()


# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------

def num(v, width=7):
    """A value in at most `width` characters, about 5 significant digits."""
    if v is None:
        return "-".rjust(width)
    a = abs(v)
    if a != 0 and (a >= 1e6 or a < 1e-3):
        s = f"{v:.3g}"
    elif a >= 1000:
        s = f"{v:.0f}"
    elif a >= 100:
        s = f"{v:.1f}"
    elif a >= 10:
        s = f"{v:.2f}"
    else:
        s = f"{v:.3f}"
    return s.rjust(width)


def signed(v, width=7):
    if v is None:
        return "-".rjust(width)
    return (("+" if v >= 0 else "") + num(v, 0).strip()).rjust(width)


def sparkline(ys):
    if not ys:
        return ""
    lo, hi = min(ys), max(ys)
    if hi - lo <= 1e-9 * max(1.0, abs(hi)):
        return SPARK[3] * len(ys)
    return "".join(SPARK[min(7, int((y - lo) / (hi - lo) * 8))] for y in ys)


class Row:
    def __init__(self, s):
        self.s = s
        self.date = ""
        self.reading = None
        self.forecast = None          # the latest, in the series' units
        self.error = None             # reading - the previous tick's 1-step forecast
        self.abs_err, self.naive_err, self.n_err = 0.0, 0.0, 0
        self.prev_reading = None
        self.ended = False

    def take_reading(self, i):
        v = self.s.values[i]
        self.date = self.s.dates[i]
        if self.forecast is not None:
            self.error = v - self.forecast[0]
            self.abs_err += abs(self.error)
            self.naive_err += abs(v - self.prev_reading)
            self.n_err += 1
        else:
            self.error = None
        self.prev_reading = self.reading = v
        self.forecast = None


HEAD = (f"{'series':<15} {'date':<7} {'reading':>7} {'next':>7} {'error':>7} "
        f"{'|err|':>7} {'naive':>7}  forecast, 12 ticks ahead")
LEGEND = ["next: the forecast for the next tick; error: the reading - last tick's forecast of it",
          "|err|: mean size of the error so far; naive: the same for \"next = this reading\""]


def table(rows):
    lines = [HEAD]
    for r in rows:
        mae = r.abs_err / r.n_err if r.n_err else None
        naive = r.naive_err / r.n_err if r.n_err else None
        fc = r.forecast
        if r.ended:
            tail = "(ended)"
        elif fc:
            tail = f"{sparkline(fc)} {num(min(fc), 0).strip()}..{num(max(fc), 0).strip()}"
        else:
            tail = "(no forecast)"
        lines.append(f"{r.s.id:<15} {r.date:<7} {num(r.reading)} {num(fc[0] if fc else None)} "
                     f"{signed(None if r.ended else r.error)} {num(mae)} {num(naive)}  {tail}")
    return lines


class Screen:
    """Redraws in place on a terminal (cursor home, clear to end of line and
    of screen); plain lines, a block per tick, otherwise."""

    def __init__(self, intro, out=sys.stdout):
        self.intro = intro        # lines shown under the header: once when plain
        self.out = out
        self.tty = out.isatty() and os.environ.get("TERM") != "dumb"
        self.started = False

    def draw(self, header, lines):
        if self.tty:
            lines = [header] + self.intro[:1] + [""] + lines + [""] + self.intro[1:]
            if not self.started:
                self.out.write("\x1b[?25l\x1b[H\x1b[2J")
                self.started = True
            cols = shutil.get_terminal_size().columns   # no wrapped lines: they would scroll
            self.out.write("\x1b[H" + "".join(l[:cols] + "\x1b[K\n" for l in lines) + "\x1b[J")
        else:
            if not self.started:
                self.out.write("\n".join(self.intro) + "\n\n")
                self.started = True
            self.out.write("\n".join([header] + lines) + "\n\n")
        self.out.flush()

    def close(self):
        if self.tty and self.started:
            self.out.write("\x1b[?25h")
            self.out.flush()


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------

def parse_forecasts(body):
    """[(series, t, [y...])] from one forecast message body (text or JSON)."""
    out = []
    for line in body.decode("utf-8", "replace").splitlines():
        if not line.strip():
            continue
        if line.startswith("{"):
            f = json.loads(line)
            out.append((f["series"], float(f["t"]), [float("nan") if y is None else y for y in f["forecast"]]))
        else:
            # With model.intervals the forecasts are followed by "lower ..."
            # and "upper ..." (docs/protocol.md); the demo shows the forecasts.
            sid, t, *ys = line.split()
            if "lower" in ys:
                ys = ys[:ys.index("lower")]
            out.append((sid, float(t), [float(y) for y in ys]))
    return out


class Interrupted(Exception):
    pass


def run(args, series, ingest, forecasts, control, scale, interval_ms, label):
    import zmq
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 1000)
    pub.connect(ingest)
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.connect(forecasts)
    sub.setsockopt_string(zmq.SUBSCRIBE, args.topic_prefix)   # per series and batched topics
    ctl = Control(ctx, control)
    time.sleep(0.5)            # let both connections settle: a PUB drops until connected

    rows = [Row(s) for s in series]
    by_id = {r.s.id: r for r in rows}
    scalers = {r.s.id: EmaScaler(CLIENT_ALPHA) for r in rows} if scale == "client" else None
    n_data = max(len(s.values) for s in series)
    n_ticks = min(n_data, args.ticks) if args.ticks else n_data
    wait_s = max(3 * interval_ms / 1000, 2.0)
    screen = Screen([label] + LEGEND)
    saved = open(args.save_readings, "w") if args.save_readings else None
    last_t = None
    shown = 0
    complete = 0
    stopped = False
    try:
        for i in range(n_ticks):
            active = []
            lines = []
            now = f"{time.time():.3f}"
            for r in rows:
                if i < len(r.s.values):
                    r.take_reading(i)
                    v = r.reading
                    if saved:
                        saved.write(f"{r.s.id} {v:.9g} {now}\n")
                    if scalers is not None:
                        sc = scalers[r.s.id]
                        sc.update([v])
                        v = sc.standardise([v])[0]
                    lines.append(f"{r.s.id} {v:.9g} {now}")
                    active.append(r.s.id)
                else:
                    r.ended = True
            if saved:
                saved.flush()
            got = {}
            tries = 3 if i == 0 else 1   # the very first readings may meet a PUB still connecting
            while tries and len(got) < len(active):
                tries -= 1
                pub.send_string("\n".join(lines) + "\n")
                deadline = time.monotonic() + wait_s
                while len(got) < len(active):
                    left = deadline - time.monotonic()
                    if left <= 0 or not sub.poll(int(left * 1000) + 1):
                        break
                    for sid, t, ys in parse_forecasts(sub.recv_multipart()[-1]):
                        if sid not in by_id or (last_t is not None and t <= last_t):
                            continue      # another producer's series, or an old tick
                        got[sid] = (t, ys)
                if got:
                    break
            if not got and i == 0:
                print(f"demo.py: no forecasts on {forecasts} after {3 * wait_s:g} s "
                      f"(readings sent to {ingest}): is tickcastd there?", file=sys.stderr)
                break
            if got:
                last_t = max(t for t, _ in got.values())
            if len(got) == len(active):
                complete += 1
            for sid, (t, ys) in got.items():
                if scalers is not None:
                    ys = scalers[sid].restore(ys)
                by_id[sid].forecast = ys
            st = ctl.status()
            if st and st.get("tick_ms"):
                tm = st["tick_ms"]
                perf = f"tick p50 {tm['p50']:.3f} ms, p99 {tm['p99']:.3f} ms"
            else:
                perf = "tick p50 -, p99 -"
            header = (f"tickcast demo: tick {i + 1}/{n_ticks}, {len(active)} series, "
                      f"{interval_ms} ms a tick; tickcastd {perf}")
            screen.draw(header, table(rows))
            shown += 1
    except Interrupted:
        stopped = True
    finally:
        screen.close()
        if saved:
            saved.close()
        ctl.close()
        pub.close()
        sub.close()
        ctx.term()
    return rows, shown, complete, stopped


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--config", default=os.path.join(ROOT, "config", "tickcast.yaml"),
                    help="the config whose model the demo runs (default config/tickcast.yaml); "
                         "with --no-daemon, whose scaler and tick interval to assume")
    ap.add_argument("--speed", type=float, default=4,
                    help="ticks a second of the daemon the demo starts (default 4: 250 ms a tick)")
    ap.add_argument("--series", default=",".join(DEFAULT_SERIES),
                    help="comma-separated names of models/demo/*.csv (default all four)")
    ap.add_argument("--ticks", type=int, default=0, help="stop after this many ticks (default: the data's end)")
    ap.add_argument("--no-daemon", action="store_true",
                    help="use a running tickcastd (--ingest, --forecasts, --control) at its own pace")
    ap.add_argument("--ingest", default="tcp://127.0.0.1:7700", help="--no-daemon: its ingest endpoint")
    ap.add_argument("--forecasts", default="tcp://127.0.0.1:7701", help="--no-daemon: its publish endpoint")
    ap.add_argument("--control", default="tcp://127.0.0.1:7702", help="--no-daemon: its control endpoint")
    ap.add_argument("--topic-prefix", default="forecast.", help="--no-daemon: its publish.topic_prefix")
    ap.add_argument("--scale", choices=["auto", "client", "none"], default="auto",
                    help="auto (default): standardise in the demo when the model has no scaler; "
                         "client: always; none: never")
    ap.add_argument("--write-readings", metavar="FILE",
                    help="write the series as `tickcast replay` input (a tick a second, or tick.interval_ms "
                         "of --config when longer; '-': stdout) and exit")
    ap.add_argument("--save-readings", metavar="FILE",
                    help="also write the readings sent, in the series' units, with the timestamps "
                         "sent (tools/plot.py --subscribe --readings FILE draws them)")
    args = ap.parse_args(argv)

    series = load_series([s for s in args.series.split(",") if s])
    if not series:
        ap.error("no series")

    if args.write_readings:
        # A tick a second, or a tick interval apart when the config's is longer.
        try:
            spacing = max(1.0, model_info(tool("tickcast"), args.config).get("interval_ms", 0) / 1000)
        except (RuntimeError, OSError):
            spacing = 1.0
        n = write_readings(series, args.write_readings, spacing)
        print(f"wrote {n} ticks of {len(series)} series", file=sys.stderr)
        return 0

    try:
        import zmq  # noqa: F401
    except ImportError as e:
        print(f"demo.py: needs pyzmq ({e}; Debian: apt-get install python3-zmq)", file=sys.stderr)
        return 1
    if args.speed <= 0:
        ap.error("--speed must be positive")

    def on_term(signum, frame):
        raise Interrupted()
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    daemon = None
    try:
        if args.no_daemon:
            try:
                info = model_info(tool("tickcast"), args.config)
            except (RuntimeError, OSError):
                info = {"scaler": "none", "interval_ms": 1000}
            interval_ms = info.get("interval_ms", 1000)
            ingest, forecasts, control = args.ingest, args.forecasts, args.control
        else:
            interval_ms = max(1, round(1000 / args.speed))
            daemon = Daemon(args.config, interval_ms)
            try:
                info = model_info(tool("tickcast"), daemon.config)
            except (RuntimeError, OSError) as e:
                print(f"demo.py: the model of {args.config} does not check out:\n{e}", file=sys.stderr)
                return 1
            if info.get("input_size", 1) != 1:
                print(f"demo.py: the model takes {info['input_size']} values per reading; "
                      "the demo sends one", file=sys.stderr)
                return 1
            if not daemon.start():
                print(f"demo.py: tickcastd did not start:\n{daemon.log_tail()}", file=sys.stderr)
                return 1
            ingest, forecasts, control = daemon.ingest, daemon.forecasts, daemon.control
            args.topic_prefix = "forecast."

        scale = args.scale
        if scale == "auto":
            scale = "client" if info.get("scaler", "none") == "none" else "none"
        label = "model " + os.path.basename(info.get("weights", "?"))
        if scale == "client":
            label += ", no scaler: the demo standardises each series (EMA) and maps the forecasts back"
        elif info.get("scaler", "none") != "none":
            label += f", scaler {info['scaler']}: tickcastd standardises each series"
        else:
            label += ", no scaler: readings as they are"

        try:
            rows, shown, complete, stopped = run(args, series, ingest, forecasts, control, scale,
                                                 interval_ms, label)
        except Interrupted:
            rows, shown, complete, stopped = [], 0, 0, True
        summary = [f"demo: {shown} ticks, {complete} with every series' forecast"
                   + (" (interrupted)" if stopped else "")]
        for r in rows:
            if r.n_err:
                summary.append(f"  {r.s.id}: mean |1-step error| {r.abs_err / r.n_err:.4g} "
                               f"(naive, the last reading: {r.naive_err / r.n_err:.4g}) over {r.n_err} ticks")
        ok = stopped or (shown > 0 and complete > 0)
        if daemon is not None:
            rc = daemon.stop()
            summary.append(f"tickcastd stopped (SIGTERM), exit status {rc}")
            ok = ok and rc == 0
            if not ok:
                summary.append(daemon.log_tail())
        print("\n".join(summary), flush=True)
        return 0 if ok else 1
    except Interrupted:
        return 130
    finally:
        if daemon is not None:
            daemon.stop()
            daemon.cleanup()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""pyzmq_demo.py -- a producer and a subscriber for a running tickcastd, in Python.

A producer thread publishes a reading of each of a few series (sine waves) to
the daemon's ingest socket every --period seconds, all series in one message;
the main thread subscribes to the forecasts and prints each one, and stops
once every series has received --count forecasts (exit 0), or after --timeout
seconds (exit 1).

  /usr/bin/python3 tools/examples/pyzmq_demo.py              # the default tcp endpoints
  /usr/bin/python3 tools/examples/pyzmq_demo.py --ingest ipc:///tmp/tc/in --forecasts ipc:///tmp/tc/out

Needs pyzmq (Debian: python3-zmq; pip: pyzmq) and a tickcastd whose model has
input_size 1. Forecast bodies may be text or JSON (publish.format), one or
many per message (publish.batch_bytes); docs/protocol.md has the formats.
"""
import argparse
import json
import math
import sys
import threading
import time

import zmq


def producer(ctx, endpoint, series, period, stop):
    """Publish `<series> <value>` lines, one message per round, until stopped."""
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.connect(endpoint)
    step = 0
    while not stop.is_set():
        lines = []
        for i, sid in enumerate(series):
            value = math.sin(2 * math.pi * step / (12 + 4 * i) + i)   # a wave per series
            lines.append(f"{sid} {value:.6f}")
        # One message, many lines; a PUB drops everything until the connection
        # is up, so the first rounds may be lost -- the next ones are not.
        pub.send_string("\n".join(lines) + "\n")
        step += 1
        stop.wait(period)
    pub.close()


def parse_forecasts(body):
    """[(series, t, [y...])] from one forecast message body (text or JSON)."""
    out = []
    for line in body.decode("utf-8").splitlines():
        if not line.strip():
            continue
        if line.startswith("{"):
            f = json.loads(line)
            out.append((f["series"], f["t"], f["forecast"]))
        else:
            sid, t, *ys = line.split()
            out.append((sid, float(t), [float(y) for y in ys]))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ingest", default="tcp://127.0.0.1:7700",
                    help="the daemon's ingest.bind endpoint (default tcp://127.0.0.1:7700)")
    ap.add_argument("--forecasts", default="tcp://127.0.0.1:7701",
                    help="the daemon's publish.bind endpoint (default tcp://127.0.0.1:7701)")
    ap.add_argument("--topic-prefix", default="forecast.",
                    help="publish.topic_prefix (default forecast.)")
    ap.add_argument("--series", type=int, default=3, help="how many series to send (3)")
    ap.add_argument("--period", type=float, default=0.1, help="seconds between rounds (0.1)")
    ap.add_argument("--count", type=int, default=3,
                    help="stop when every series has had this many forecasts (3)")
    ap.add_argument("--timeout", type=float, default=30, help="give up after this long (30 s)")
    args = ap.parse_args(argv)

    series = [f"demo.wave-{i}" for i in range(args.series)]
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.connect(args.forecasts)
    # Topics are <prefix><series> (or the bare prefix for batched messages,
    # publish.batch_bytes > 0): the prefix alone matches both. One series
    # only: subscribe to args.topic_prefix + "demo.wave-0".
    sub.setsockopt_string(zmq.SUBSCRIBE, args.topic_prefix)

    stop = threading.Event()
    thread = threading.Thread(target=producer, daemon=True,
                              args=(ctx, args.ingest, series, args.period, stop))
    thread.start()

    got = {sid: 0 for sid in series}
    deadline = time.monotonic() + args.timeout
    try:
        while min(got.values()) < args.count:
            left = deadline - time.monotonic()
            if left <= 0 or not sub.poll(int(left * 1000) + 1):
                missing = [s for s, n in got.items() if n < args.count]
                print(f"timed out after {args.timeout:g} s; too few forecasts of "
                      f"{', '.join(missing)}", file=sys.stderr)
                return 1
            topic, body = sub.recv_multipart()
            for sid, t, ys in parse_forecasts(body):
                if sid not in got:
                    continue                      # another producer's series
                got[sid] += 1
                when = f"{t:.3f}".rstrip("0").rstrip(".")   # the tick's start, seconds
                print(f"{sid} t={when} next={ys[0]:.4f} "
                      f"({len(ys)} values: {' '.join('%.3f' % y for y in ys)})", flush=True)
    finally:
        stop.set()
        thread.join()
        sub.close()
        ctx.term()
    print("received " + ", ".join(f"{sid}: {n}" for sid, n in got.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

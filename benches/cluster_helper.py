#!/usr/bin/env python3
"""cluster_helper.py -- what benches/cluster.sh does not do well in sh: free ports, JetStream
API requests over a bare NATS connection (no client library needed), waiting for members to
apply every reading, and medians.

    cluster_helper.py ports N
    cluster_helper.py healthy HTTP_PORT...          (waits for /healthz 200 on each)
    cluster_helper.py create URL PREFIX PARTITIONS REPLICAS   (both streams, as tickcastd makes
                                                  them; waits until each has a leader)
    cluster_helper.py delete URL STREAM...          (a missing stream is fine)
    cluster_helper.py last-seq URL STREAM
    cluster_helper.py wait TICKCAST READINGS START_NS TIMEOUT_S ENDPOINT...
    cluster_helper.py median X...
    perf script -F tid,ip,sym,dso | cluster_helper.py perf-split
                                                   (samples by what they do, see CATEGORIES)
"""
import json
import socket
import subprocess
import sys
import time
import urllib.request


def ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    print(" ".join(str(s.getsockname()[1]) for s in socks))
    for s in socks:
        s.close()


def healthy(http_ports, timeout_s=30):
    deadline = time.monotonic() + timeout_s
    for p in http_ports:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{p}/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"cluster_helper: nats-server on monitoring port {p} not healthy")
            time.sleep(0.1)


def request(url, subject, payload, timeout_s=10.0):
    """One request-reply on a fresh connection; the reply's JSON. Retried while
    nobody answers (a stream or meta leader being elected)."""
    host, port = url.replace("nats://", "").rsplit(":", 1)
    deadline = time.monotonic() + timeout_s
    body = json.dumps(payload).encode() if payload is not None else b""
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=2) as s:
                f = s.makefile("rb")
                f.readline()  # INFO
                s.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\nSUB _INBOX.bench 1\r\n'
                          + f"PUB {subject} _INBOX.bench {len(body)}\r\n".encode() + body + b"\r\n")
                while True:
                    line = f.readline()
                    if not line:
                        raise OSError("connection closed")
                    if line.startswith(b"PING"):
                        s.sendall(b"PONG\r\n")
                    elif line.startswith(b"MSG"):
                        n = int(line.split()[-1])
                        return json.loads(f.read(n + 2)[:n])
                    elif line.startswith(b"-ERR"):
                        raise OSError(line.decode().strip())
        except OSError as e:
            if time.monotonic() > deadline:
                sys.exit(f"cluster_helper: {subject}: {e}")
            time.sleep(0.2)


def create_one(url, name, description, subject, replicas, max_age_s):
    cfg = {"name": name, "description": description, "subjects": [subject],
           "retention": "limits", "storage": "file", "num_replicas": int(replicas),
           "max_age": max_age_s * 10**9, "max_bytes": -1, "max_msgs": -1, "max_consumers": -1,
           "max_msg_size": -1, "discard": "old"}
    r = request(url, f"$JS.API.STREAM.CREATE.{name}", cfg)
    if "error" in r:
        sys.exit(f"cluster_helper: creating {name}: {r['error']}")
    deadline = time.monotonic() + 30
    while not request(url, f"$JS.API.STREAM.INFO.{name}", None).get("cluster", {}).get("leader"):
        if time.monotonic() > deadline:
            sys.exit(f"cluster_helper: stream {name} has no leader after 30 s")
        time.sleep(0.1)


def create(url, prefix, partitions, replicas):
    """The streams with the settings tickcastd gives them (cluster.max_age_s 86400), made
    here so that members starting together do not race to make them."""
    base = prefix.replace(".", "_")
    create_one(url, base + "_readings", f"tickcast readings: {partitions} partitions",
               f"{prefix}.readings.*", replicas, 86400)
    create_one(url, base + "_checkpoints", "tickcast checkpoints", f"{prefix}.checkpoints.>",
               replicas, 0)


def delete(url, streams):
    for name in streams:
        r = request(url, f"$JS.API.STREAM.DELETE.{name}", None)
        if "error" in r and r["error"].get("err_code") != 10059:  # stream not found
            sys.exit(f"cluster_helper: deleting {name}: {r['error']}")


def last_seq(url, stream):
    r = request(url, f"$JS.API.STREAM.INFO.{stream}", None)
    if "error" in r:
        sys.exit(f"cluster_helper: {stream}: {r['error']}")
    print(r["state"]["last_seq"])


def status(tickcast, endpoint):
    out = subprocess.run([tickcast, "status", "-e", endpoint, "-t", "2000"],
                         capture_output=True, text=True)
    try:
        return json.loads(out.stdout).get("cluster")
    except ValueError:
        return None


def wait(tickcast, readings, start_ns, timeout_s, endpoints):
    """Polls every member's status until their readings sum to readings; prints
    `seconds max_queued messages forecasts bad misrouted` (seconds since start_ns)."""
    readings = int(readings)
    deadline = time.monotonic() + float(timeout_s)
    max_queued = 0
    while True:
        got = [status(tickcast, e) for e in endpoints]
        now_ns = time.time_ns()
        if all(got):
            max_queued = max(max_queued, max(c["queued"] for c in got))
            tot = {k: sum(c["totals"][k] for c in got) for k in
                   ("readings", "messages", "forecasts", "bad_readings", "misrouted", "late")}
            if tot["readings"] >= readings:
                print(f"{(now_ns - int(start_ns)) / 1e9:.3f} {max_queued} {tot['messages']} "
                      f"{tot['forecasts']} {tot['bad_readings']} {tot['misrouted']} {tot['late']}")
                return
        if time.monotonic() > deadline:
            seen = sum(c["totals"]["readings"] for c in got if c)
            sys.exit(f"cluster_helper: {seen} of {readings} readings applied "
                     f"after {timeout_s} s")
        time.sleep(0.1)


# A sample goes to the first category one of whose patterns is in its innermost user-space
# frame ("symbol (dso)"); kernel time is charged to the user frame that entered the kernel.
CATEGORIES = [
    ("OpenMP region entry/exit (libgomp: the team barrier's futex wake, team set-up)",
     ["libgomp"]),
    ("GRU step (products, gates, head)", ["tile_", "tc_kernel_", "tc_head_", "step_block",
                                          "tc_gemm", "gates"]),
    ("forecast text (floats and integers to text)", ["tc_float_text", "tc_forecast_format",
                                                     "tc_uint_text", "tc_forecast_out"]),
    ("intervals (observe, bounds)", ["tc_interval_"]),
    ("parsing reading lines", ["tc_decimal_parse", "tc_reading_parse", "tc_message_parse",
                               "memchr", "tc_series_id", "tc_utf8", "strtod"]),
    ("filing readings (registry, staging, offer)", ["tc_registry", "register_new",
                                                    "tc_staging", "tc_tick_offer", "accept",
                                                    "stage.", "find_known", "file_segment",
                                                    "tc_partition_of", "xxh", "XXH"]),
    ("scaler, gather, scatter", ["tc_scaler", "gather", "scatter"]),
    ("libnats (receive, publish)", ["libnats"]),
    ("socket and other system calls of libc", ["__libc_recv", "__libc_send", "__poll",
                                               "epoll", "writev", "__libc_write",
                                               "__libc_read", "sendmsg", "recvmsg"]),
    ("malloc and free", ["malloc", "free", "_int_", "memalign", "unlink_chunk", "cfree"]),
    ("memcpy, memmove, memset", ["memmove", "memcpy", "memset"]),
    ("locks (pthread mutex, condition)", ["pthread_mutex", "pthread_cond", "futex_abstimed",
                                          "lll_lock", "__lll"]),
]


def perf_split(lines):
    counts, total, frames = {}, 0, []

    def flush():
        nonlocal total
        if not frames:
            return
        total += 1
        user = next((f for f in frames if "kernel.kallsyms" not in f), None)
        name = "kernel, no user frame (interrupts, other)"
        if user is not None:
            name = next((c for c, pats in CATEGORIES if any(p in user for p in pats)),
                        "other: " + user.split(" ", 1)[-1][:60])
        counts[name] = counts.get(name, 0) + 1
        frames.clear()

    for line in lines:
        if line.startswith("\t") or line.startswith("        "):
            parts = line.strip().split(" ", 1)
            if len(parts) == 2:
                frames.append(parts[1])
        elif line.strip():
            flush()
    flush()
    rest = 0
    for name, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        if n / total >= 0.01 or not name.startswith("other"):
            print(f"{100 * n / total:5.1f}%  {name}")
        else:
            rest += n
    print(f"{100 * rest / total:5.1f}%  other, each under 1%")
    print(f"{total} samples")


def median(xs):
    xs = sorted(float(x) for x in xs)
    n = len(xs)
    m = xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
    print(f"{m:.6g}")


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "ports":
        ports(int(args[0]))
    elif cmd == "healthy":
        healthy(args)
    elif cmd == "create":
        create(*args)
    elif cmd == "delete":
        delete(args[0], args[1:])
    elif cmd == "last-seq":
        last_seq(*args)
    elif cmd == "wait":
        wait(args[0], args[1], args[2], args[3], args[4:])
    elif cmd == "perf-split":
        perf_split(sys.stdin)
    elif cmd == "median":
        median(args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)

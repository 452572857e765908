#!/usr/bin/python3
"""export.py -- a PyTorch forecaster to tickcast's weights and config, checked by replay.

Two sources:

  * a PyTorch module of recurrent modules (nn.GRU, nn.LSTM, nn.RNN: any
    number of each, any num_layers, batch_first either way) and a head
    (one nn.Linear, or nn.Linear, nn.ReLU, nn.Tanh, nn.Sigmoid, nn.GELU,
    nn.LayerNorm, nn.Dropout as an nn.Sequential or module attributes),
    whatever their names. Its forward must apply them in the order they are
    registered (named_modules() order): each recurrent module on the
    previous one's output, then the head on the last one's output (h of the
    last layer at each step). tools/export_map.py says exactly what maps and
    what is refused (bidirectional, proj_size, other layer types, a
    recurrent module after the head, sizes that do not chain). The tensors
    keep their real state_dict names (`encoder.rnn.weight_ih_l0`,
    `head.0.weight`, ...) and the config gives every layer's `module:` and
    `index:` and every head linear's and layernorm's `module:`;
  * the source article's hand-written GRU (W_xz, W_hz, b_z, W_xr, W_hr, b_r,
    W_xh, W_hh, b_h, W_hq, b_q), converted by tools/article_gru.py to the
    nn.GRU layout, served with `reset_after: false`.

Each export writes DIR/NAME.safetensors (float32) and DIR/NAME.yaml (the model
and tick sections of a tickcast config), then verifies it: a few series of
random unit-scale readings go through PyTorch (in float64, from the float32
weights the file holds) and through `tickcast replay` (readings one tick
apart, event clock), and the largest difference of any forecast value is
printed; above 1e-4 the command exits 1.

  /usr/bin/python3 tools/export.py --module pkg.mod:factory [--state-dict F.pt] --out DIR [--name NAME]
  /usr/bin/python3 tools/export.py --article PARAMS.pt --out DIR [--name NAME]
  /usr/bin/python3 tools/export.py --demo [--out DIR]

As a library (tools/ on sys.path):

  from export import export_module, export_article, verify_module, verify_article
  info = export_module(model, "out", name="model")
  worst = verify_module(model, "out", "model")

Needs PyTorch and numpy (Debian: python3-torch; run it with /usr/bin/python3).
The guide: docs/models.md.
"""

import argparse
import copy
import importlib
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

TOOLS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)
import article_gru  # noqa: E402  (tools/article_gru.py)
import export_map  # noqa: E402  (tools/export_map.py)
from export_map import ExportError, yaml_str  # noqa: E402,F401  (ExportError: part of the API)
from safetensors_io import write_safetensors  # noqa: E402

TOLERANCE = 1e-4
T0 = 1_700_000_000         # epoch-scale timestamps for the verification readings


@dataclass
class Exported:
    """What an export wrote."""
    weights: str                       # path of NAME.safetensors
    config: str                        # path of NAME.yaml
    input_size: int
    layers: list                       # hidden size per layer
    outputs: int
    reset_after: bool
    tensors: dict                      # {"gru": first layer's prefix, "head": see _head_prefix}
    names: list = field(default_factory=list)   # tensor names written
    notes: list = field(default_factory=list)   # things worth telling the user
    types: list = field(default_factory=list)   # gru | lstm | rnn per layer
    head: list = field(default_factory=list)    # the head's op types, in order


def default_tickcast():
    return os.environ.get("TC_TICKCAST") or os.path.join(REPO, "build", "cli", "tickcast")


# --------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------

def _flow(item):
    return "{" + ", ".join(f"{k}: {v}" for k, v in item) + "}"


def config_text(name, input_size, layers, head, reset_after, tensors, source,
                horizon_note=None):
    """The config: `layers` and `head` are lists of [(key, YAML text)] items;
    a head of one item is written as one mapping, several as a list."""
    note = ""
    if horizon_note:
        note = "   # " + " ".join(str(horizon_note).split())
    last_linear = max(i for i, item in enumerate(head) if ("type", "linear") in item)
    lines = [
        f"# {name}.yaml -- written by tools/export.py from {source}",
        f"# Check it: tickcast check --config {name}.yaml   (every key: tickcast check --help)",
        "model:",
        f"  weights: {yaml_str(name + '.safetensors')}   # relative to this file's folder",
        f"  input_size: {input_size}",
        f"  reset_after: {'true' if reset_after else 'false'}"
        + ("           # nn.GRU" if reset_after else "          # the original GRU (Cho et al.)"),
        "  layers:",
    ]
    lines += [f"    - {_flow(item)}" for item in layers]
    if len(head) == 1:
        lines.append(f"  head: {_flow(head[0])}{note}")
    else:
        lines.append("  head:")
        lines += [f"    - {_flow(item)}{note if i == last_linear else ''}"
                  for i, item in enumerate(head)]
    lines += [
        "  scaler: none",
        "  tensors: {" + ", ".join(f"{k}: {yaml_str(v)}" for k, v in tensors.items()
                                   if v is not None) + "}",
        "  watch: false",
        "  reset_state_on_change: false",
        "tick:",
        "  clock: wall",
        "  interval_ms: 1000",
        "  flush_ms: 1000",
        "  aggregate: last",
        "  missing: skip",
        "",
    ]
    return "\n".join(lines)


def _write(out_dir, name, arrays, **cfg):
    if not name or "/" in name or name.startswith("."):
        raise ExportError(f"bad name {name!r}: a plain file name without '/' is needed")
    os.makedirs(out_dir, exist_ok=True)
    weights = os.path.join(out_dir, name + ".safetensors")
    config = os.path.join(out_dir, name + ".yaml")
    # Write beside, then rename: a daemon watching the folder never sees half a file.
    tmp = weights + ".tmp"
    write_safetensors(tmp, arrays)
    os.replace(tmp, weights)
    tmp = config + ".tmp"
    with open(tmp, "w") as f:
        f.write(config_text(name, **cfg))
    os.replace(tmp, config)
    return weights, config


# --------------------------------------------------------------------------
# A PyTorch module
# --------------------------------------------------------------------------

def _head_prefix(head):
    """model.tensors.head that gives each head item its module by default: the
    linear of a one-item head; the container of an nn.Sequential whose
    positions are the list's; else None (every item names its module)."""
    if len(head) == 1:
        return head[0].prefix
    named = [(i, part.prefix) for i, part in enumerate(head)
             if part.kind in ("linear", "layernorm")]
    box = named[0][1].rsplit(".", 1)[0]
    return box if all(pre == f"{box}.{i}" for i, pre in named) else None


def export_module(module, out_dir, name="model", horizon_note=None, layers=None, head=None,
                  gru=None):
    """Write OUT_DIR/NAME.safetensors and OUT_DIR/NAME.yaml from `module`.

    The recurrent modules (nn.GRU, nn.LSTM, nn.RNN) in registration order,
    then the head (what is registered after the last of them), as
    tools/export_map.py says; or the parts named by `layers` and `head`
    (named_modules() names, a list or comma-separated; `gru` is the former
    name of `layers`). Raises ExportError when the module does not fit,
    naming the part and why. Returns an Exported."""
    p = export_map.plan(module, layers if layers is not None else gru, head)
    notes = list(p.notes)
    arrays = export_map.tensors(p, notes)
    prefixes = {"gru": p.layers[0].prefix, "head": _head_prefix(p.head)}
    src = f"{type(module).__name__} (" + ", ".join(
        f"{part.name}: {type(part.module).__name__}" for part in p.layers + p.head) + ")"
    weights, config = _write(out_dir, name, arrays, input_size=p.input_size,
                             layers=export_map.layer_items(p), head=export_map.head_items(p),
                             reset_after=True, tensors=prefixes, source=src,
                             horizon_note=horizon_note)
    return Exported(weights, config, p.input_size, p.hidden, p.outputs, True, prefixes,
                    sorted(arrays), notes, p.types, [part.kind for part in p.head])


def _float32_double(m):
    """A float64 copy of `m` whose values are exactly the float32 ones exported."""
    ref = copy.deepcopy(m).float().double().eval()
    return ref


def module_forward(module, layers=None, head=None, gru=None):
    """forward_fn for verify(): the exported parts, run as tickcast runs them
    (each recurrent module on the previous one's output, the head on the last
    one's output at every step), in float64; plus the module's own forward
    when it takes a (batch, steps, input) tensor in the first recurrent
    module's layout and returns one forecast per step or per series."""
    p = export_map.plan(module, layers if layers is not None else gru, head)
    ref = _float32_double(module)
    mods = dict(ref.named_modules())
    rec = [mods[part.name] for part in p.layers]
    ops = [mods[part.name] for part in p.head]
    label = (" -> ".join(part.name for part in p.layers) + " -> "
             + (p.head[0].name if len(p.head) == 1 else f"{p.head[0].name} .. {p.head[-1].name}"))
    first_bf = rec[0].batch_first
    O = p.outputs

    def fwd(x):                                   # x: (series, steps, input)
        S, T, _ = x.shape
        with torch.no_grad():
            y = x
            for m in rec:
                y = m(y if m.batch_first else y.transpose(0, 1))[0]
                y = y if m.batch_first else y.transpose(0, 1)
            for m in ops:
                y = m(y)
            result = {label: y}
            inp = x if first_bf else x.transpose(0, 1)
            try:
                y = ref(inp)
            except Exception as e:  # noqa: BLE001
                result["note"] = (f"the module's own forward did not take a tensor "
                                  f"{list(inp.shape)} ({type(e).__name__}); "
                                  f"checked {label} alone")
                return result
        if isinstance(y, (tuple, list)) and y and torch.is_tensor(y[0]):
            y = y[0]
        shape = tuple(y.shape) if torch.is_tensor(y) else None
        if S != T and shape == ((S, T, O) if first_bf else (T, S, O)):
            result["the module's forward"] = y if first_bf else y.transpose(0, 1)
        elif shape == (S, O):
            result["the module's forward (last step)"] = y
        elif shape and len(shape) >= 2 and shape[:-1] in ((S, T), (T, S), (S,)) \
                and shape[-1] != O:
            result["error"] = (f"the module's forward returned {list(shape)}: {shape[-1]} "
                               f"values per forecast, but the head ({p.head[-1].name}) gives "
                               f"{O}; the module does more after it than tickcast serves "
                               "(name the real head's modules with head=, --head)")
        else:
            result["note"] = (f"the module's own forward returned "
                              f"{list(shape) if shape else type(y).__name__}, not one "
                              f"forecast per step or per series; checked {label} alone")
        return result

    return fwd


# --------------------------------------------------------------------------
# The article's hand-written GRU
# --------------------------------------------------------------------------

def export_article(params, out_dir, name="model", horizon_note=None):
    """Write the article's params (a list in PARAM_NAMES order, or a dict) as
    OUT_DIR/NAME.safetensors (gru.* and fc.*) and NAME.yaml with
    reset_after: false. Returns an Exported."""
    try:
        sd = article_gru.to_state_dict(params)
        n_in, n_h, n_out = article_gru.model_sizes(params)
    except (KeyError, ValueError) as e:
        raise ExportError(f"article params: {e}") from e
    tensors = {k: export_map.f32(v) for k, v in sd.items()}
    prefixes = {"gru": "gru", "head": "fc"}
    weights, config = _write(out_dir, name, tensors, input_size=int(n_in),
                             layers=[[("type", "gru"), ("hidden", str(int(n_h)))]],
                             head=[[("type", "linear"), ("outputs", str(int(n_out)))]],
                             reset_after=False, tensors=prefixes,
                             source="the article's GRU params (W_xz ... b_q)",
                             horizon_note=horizon_note)
    return Exported(weights, config, int(n_in), [int(n_h)], int(n_out), False, prefixes,
                    sorted(tensors), types=["gru"], head=["linear"])


def article_forward(params):
    """forward_fn for verify(): the article's own code, float64, float32 values."""
    p = {n: torch.as_tensor(v).detach().float().double()
         for n, v in article_gru._as_dict(params).items()}
    H = p["W_xz"].shape[1]

    def fwd(x):                                   # (series, steps, input)
        S, T, _ = x.shape
        with torch.no_grad():
            y, _ = article_gru.gru(x.transpose(0, 1), (torch.zeros(S, H, dtype=torch.float64),), p)
        return {"the article's gru()": y.reshape(T, S, -1).transpose(0, 1)}

    return fwd


# --------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------

def _interval_ms(config):
    with open(config) as f:
        m = re.search(r"^\s*interval_ms:\s*(\d+)", f.read(), re.M)
    return int(m.group(1)) if m else 1000


def replay(config, x, tickcast=None):
    """Run x (series, steps, input; float32 values) through `tickcast replay`:
    series s{i}, step t at T0 + t ticks. Returns (series, steps, outputs) float64."""
    tickcast = tickcast or default_tickcast()
    S, T, _ = x.shape
    step_s = _interval_ms(config) / 1000.0
    lines = []
    for t in range(T):
        ts = "%.3f" % (T0 + t * step_s)
        for s in range(S):
            lines.append(f"s{s} " + ",".join("%.9g" % v for v in x[s, t]) + f" {ts}\n")
    try:
        run = subprocess.run([tickcast, "replay", "-q", "--config", config],
                             input="".join(lines), capture_output=True, text=True)
    except OSError as e:
        raise RuntimeError(f"cannot run {tickcast}: {e.strerror} (build it, or pass --tickcast)")
    if run.returncode != 0 or run.stderr.strip():
        raise RuntimeError(f"tickcast replay failed (exit {run.returncode}): "
                           f"{run.stderr.strip()[:2000]}")
    rows = {}
    for line in run.stdout.splitlines():
        f = line.split()
        rows.setdefault(f[0], []).append([float(v) for v in f[2:]])
    got = []
    for s in range(S):
        r = rows.get(f"s{s}", [])
        if len(r) != T:
            raise RuntimeError(f"tickcast replay gave {len(r)} forecasts of s{s}, expected {T}")
        got.append(r)
    return np.asarray(got, dtype=np.float64)


def verify(out_dir, name, forward_fn, input_size, series=5, steps=7, seed=0,
           tickcast=None, out=None, tolerance=TOLERANCE):
    """Feed the same random unit-scale readings to forward_fn and to
    `tickcast replay --config OUT_DIR/NAME.yaml`, print the largest difference
    and return it.

    forward_fn(x) takes a float64 tensor (series, steps, input) and returns
    the forecasts, (series, steps, outputs) or (series, outputs) for the last
    step only, or a dict {label: such a tensor, "note": text, "error": text};
    every label is compared and the worst difference returned (inf with an
    "error"). The report goes to `out`
    (default sys.stdout); `tolerance` only shapes its hints."""
    out = out or sys.stdout
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((series, steps, input_size)).astype(np.float32)
    got = replay(os.path.join(out_dir, name + ".yaml"), x, tickcast)
    want = forward_fn(torch.from_numpy(x.astype(np.float64)))
    if not isinstance(want, dict):
        want = {"PyTorch": want}
    worst, diffs = 0.0, {}
    for label, y in want.items():
        if label in ("note", "error"):
            print(f"  {label}: {y}", file=out)
            if label == "error":
                worst = float("inf")
            continue
        y = y.detach().double().numpy() if torch.is_tensor(y) else np.asarray(y, np.float64)
        ref = got[:, -1, :] if y.ndim == 2 else got
        if y.shape != ref.shape:
            raise RuntimeError(f"{label}: shape {list(y.shape)}, tickcast gave {list(ref.shape)}")
        d = float(np.max(np.abs(ref - y))) if y.size else 0.0
        if not np.isfinite(d):
            d = float("inf")
        worst = max(worst, d)
        diffs[label] = d
        print(f"  {label} vs tickcast replay: largest difference {d:.3g} "
              f"({series} series x {steps} steps x {ref.shape[-1]} outputs)", file=out)
    good = [k for k, d in diffs.items() if d <= tolerance]
    bad = [k for k, d in diffs.items() if not d <= tolerance]
    if good and bad:
        print(f"  {', '.join(bad)} disagrees while {', '.join(good)} agrees: the module's "
              "forward computes something else than tickcast serves (the recurrent modules in "
              "registration order, then the head on the last one's output at every step); "
              "register the parts in the order forward applies them, move the rest out of "
              "the model, or name the parts with --layers / --head", file=out)
    return worst


def verify_module(module, out_dir, name="model", layers=None, head=None, gru=None, **kw):
    """verify() an export_module() export against the module."""
    p = export_map.plan(module, layers if layers is not None else gru, head)
    return verify(out_dir, name, module_forward(module, layers, head, gru), p.input_size, **kw)


def verify_article(params, out_dir, name="model", **kw):
    """verify() an export_article() export against the article's code."""
    n_in, _, _ = article_gru.model_sizes(params)
    return verify(out_dir, name, article_forward(params), int(n_in), **kw)


# --------------------------------------------------------------------------
# The demo module: odd names, a GRU inside a submodule, batch_first
# --------------------------------------------------------------------------

class _Body(nn.Module):
    def __init__(self, input_size, hidden, layers):
        super().__init__()
        self.encoder = nn.GRU(input_size, hidden, num_layers=layers, batch_first=True)


class DemoForecaster(nn.Module):
    """nn.GRU at `body.encoder` (batch_first), nn.Linear at `readout`: the
    tensors are body.encoder.weight_ih_l0 ... and readout.weight/bias."""

    def __init__(self, input_size=2, hidden=24, layers=2, horizon=6):
        super().__init__()
        self.body = _Body(input_size, hidden, layers)
        self.readout = nn.Linear(hidden, horizon * input_size)

    def forward(self, x):                         # (batch, steps, input)
        out, _ = self.body.encoder(x)
        return self.readout(out)                  # a forecast per step


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def _load_factory(spec):
    if ":" not in spec:
        raise ExportError(f"--module {spec!r}: expected pkg.mod:factory")
    modname, attr = spec.split(":", 1)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        mod = importlib.import_module(modname)
    except ImportError as e:
        raise ExportError(f"--module: cannot import {modname}: {e}") from e
    obj = mod
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ExportError(f"--module: {modname} has no {attr}")
        obj = getattr(obj, part)
    if isinstance(obj, nn.Module):
        return obj
    if not callable(obj):
        raise ExportError(f"--module: {spec} is neither an nn.Module nor callable")
    m = obj()
    if not isinstance(m, nn.Module):
        raise ExportError(f"--module: {spec}() returned {type(m).__name__}, not an nn.Module")
    return m


def _torch_load(path):
    try:
        return torch.load(path, map_location="cpu")
    except (OSError, RuntimeError) as e:
        raise ExportError(f"{path}: cannot load: {e}") from e


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Export a PyTorch forecaster (nn.GRU / nn.LSTM / nn.RNN layers, then a "
                    "head of nn.Linear, nn.ReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.LayerNorm, "
                    "nn.Dropout) to tickcast (safetensors + YAML) and verify it against "
                    "`tickcast replay`. The module's forward must apply its recurrent modules "
                    "and head in the order they are registered: each recurrent module on the "
                    "previous one's output, then the head on the last one's output (h of the "
                    "last layer at each step); batch_first either way.",
        epilog="Refused, with the module named (exit 2): bidirectional, proj_size > 0, a layer "
               "type tickcast does not have, a recurrent module after the head, input sizes "
               "that do not chain, nn.LayerNorm over more than one dimension. "
               "Guide: docs/models.md. Exit status: 0 exported (and verified), "
               "1 verification failed, 2 the model or the arguments are unusable.")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--module", metavar="PKG.MOD:FACTORY",
                     help="import PKG.MOD (from the current folder or sys.path) and call "
                          "FACTORY() for the nn.Module")
    src.add_argument("--article", metavar="FILE.pt",
                     help="a torch.save()d list (in the article's order) or dict of "
                          "W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h, W_hq, b_q")
    src.add_argument("--demo", action="store_true",
                     help="export and verify a small random module with odd attribute names")
    ap.add_argument("--state-dict", metavar="FILE.pt",
                    help="with --module: load these weights (torch.save(model.state_dict()))")
    ap.add_argument("--out", metavar="DIR", help="output folder (--demo: a temporary one)")
    ap.add_argument("--name", default="model", help="file names NAME.safetensors, NAME.yaml")
    ap.add_argument("--layers", "--gru", metavar="NAME[,NAME...]", dest="layers",
                    help="the recurrent modules to export, in the order they run (default: "
                         "every nn.GRU, nn.LSTM, nn.RNN, in registration order); --gru is "
                         "its former name")
    ap.add_argument("--head", metavar="NAME[,NAME...]",
                    help="the head's modules, in the order they run; a container names its "
                         "parts (default: everything registered after the last recurrent "
                         "module)")
    ap.add_argument("--horizon-note", metavar="TEXT", help="a comment for the head's line")
    ap.add_argument("--no-verify", action="store_true", help="skip the replay comparison")
    ap.add_argument("--tickcast", default=default_tickcast(),
                    help="the tickcast program (default: $TC_TICKCAST or build/cli/tickcast)")
    ap.add_argument("--series", type=int, default=5, help="series in the verification (5)")
    ap.add_argument("--steps", type=int, default=7, help="steps per series (7)")
    ap.add_argument("--seed", type=int, default=0, help="random seed of the verification input")
    ap.add_argument("--tolerance", type=float, default=TOLERANCE,
                    help="largest difference accepted (1e-4)")
    args = ap.parse_args(argv)
    if args.state_dict and not args.module:
        ap.error("--state-dict goes with --module")
    if not args.demo and not args.out:
        ap.error("--out DIR is required")
    if args.series < 1 or args.steps < 1:
        ap.error("--series and --steps must be positive")

    tmp = None
    try:
        if args.demo:
            torch.manual_seed(args.seed)
            module = DemoForecaster()
            if not args.out:
                tmp = tempfile.TemporaryDirectory(prefix="tickcast-export-")
                args.out = tmp.name
        elif args.module:
            module = _load_factory(args.module)
            if args.state_dict:
                sd = _torch_load(args.state_dict)
                if isinstance(sd, nn.Module):
                    sd = sd.state_dict()
                try:
                    module.load_state_dict(sd)
                except (RuntimeError, TypeError) as e:
                    raise ExportError(f"{args.state_dict}: {e}") from e
        if args.article:
            params = _torch_load(args.article)
            info = export_article(params, args.out, args.name, args.horizon_note)
            check = (lambda: verify_article(params, args.out, args.name, **vkw))
        else:
            module.eval()
            info = export_module(module, args.out, args.name, args.horizon_note,
                                 layers=args.layers, head=args.head)
            check = (lambda: verify_module(module, args.out, args.name,
                                           layers=args.layers, head=args.head, **vkw))
        vkw = dict(series=args.series, steps=args.steps, seed=args.seed, tickcast=args.tickcast,
                   tolerance=args.tolerance)
        print(f"wrote {info.weights} ({len(info.names)} tensors) and {info.config}")
        print(f"  input {info.input_size}, layers "
              + ", ".join(f"{t} {h}" for t, h in zip(info.types, info.layers))
              + f", head {' '.join(info.head)} ({info.outputs} outputs), "
              f"reset_after: {str(info.reset_after).lower()}, "
              "tensors: " + " ".join(f"{k}={v}" for k, v in info.tensors.items()
                                     if v is not None))
        for n in info.notes:
            print(f"  note: {n}")
        if args.no_verify:
            return 0
        try:
            worst = check()
        except RuntimeError as e:
            print(f"export.py: verification failed: {e}", file=sys.stderr)
            return 1
        if not worst <= args.tolerance:
            print(f"FAIL: largest difference {worst:.3g} > {args.tolerance:g}")
            return 1
        print(f"ok: largest difference {worst:.3g} <= {args.tolerance:g}")
        return 0
    except ExportError as e:
        print(f"export.py: {e}", file=sys.stderr)
        return 2
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())

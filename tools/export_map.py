"""export_map.py -- which parts of a PyTorch module tools/export.py exports, and as what.

tickcast runs a stack of recurrent layers, then a head, once per tick. A
module maps onto that when its forward applies its parts in the order they
are registered (the order of named_modules()):

  * the recurrent modules first: nn.GRU, nn.LSTM, nn.RNN, any number of each,
    any num_layers, batch_first either way; each takes the previous one's h
    (nn.Dropout / nn.Identity between them are fine: no-ops at inference);
  * then the head: everything registered after the last recurrent module,
    made of nn.Linear, nn.ReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.LayerNorm
    (over the last dimension) and nn.Dropout, as one module, nn.Sequential
    or attributes. Modules registered before the first recurrent module are
    not exported (a note says so; verification catches a forward that uses
    them).

`plan()` works this out (or takes the parts by name) and refuses, naming the
module and saying why, what tickcast cannot run; `tensors()`, `layer_items()`
and `head_items()` give what the export writes. Nothing here writes files or
runs tickcast, so tests can check the mapping alone.
"""

import json
import re
from dataclasses import dataclass, field

import numpy as np
from torch import nn

PREFIX_MAX = 63            # a tensor-name prefix in the config: 1..63 bytes
GATES = {"gru": 3, "lstm": 4, "rnn": 1}
WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
HEAD_KINDS = {nn.Linear: "linear", nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid",
              nn.GELU: "gelu", nn.LayerNorm: "layernorm", nn.Dropout: "dropout"}
KINDS = {nn.GRU: "gru", nn.LSTM: "lstm", nn.RNN: "rnn", nn.Identity: "identity", **HEAD_KINDS}
HEAD_NAMES = "nn.Linear, nn.ReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.LayerNorm, nn.Dropout"


class ExportError(ValueError):
    """The module cannot be exported as it is; the message says why."""


@dataclass
class Part:
    name: str                 # as named_modules() names it
    module: nn.Module
    kind: str                 # gru lstm rnn | linear relu tanh sigmoid gelu layernorm dropout
    prefix: str = ""          # tensor-name prefix written (the name unless too long)


@dataclass
class Plan:
    layers: list              # [Part] recurrent modules, in the order they run
    head: list                # [Part] head ops, in the order they run
    notes: list = field(default_factory=list)

    @property
    def input_size(self):
        return self.layers[0].module.input_size

    @property
    def hidden(self):
        """H per layer, num_layers of each module expanded."""
        return [p.module.hidden_size for p in self.layers for _ in range(p.module.num_layers)]

    @property
    def types(self):
        return [p.kind for p in self.layers for _ in range(p.module.num_layers)]

    @property
    def outputs(self):
        return [p.module.out_features for p in self.head if p.kind == "linear"][-1]


def kind_of(m):
    """tickcast's name for module m's type, or None when tickcast has none."""
    for cls, kind in KINDS.items():
        if isinstance(m, cls):
            return kind
    return None


def _cls(m):
    return type(m).__name__


def _own_parameters(m):
    return any(p is not None for p in m._parameters.values())


def _leaf(m):
    """A module that is one part: a known type, or one with no children or
    with parameters of its own (which a container's forward would use)."""
    return kind_of(m) is not None or not any(True for _ in m.children()) or _own_parameters(m)


def _leaves(module, prefix=""):
    """(name, module) of the parts under `module`, in registration order."""
    for n, child in module.named_children():
        if _leaf(child):
            yield prefix + n, child
        else:
            yield from _leaves(child, prefix + n + ".")


def _expand(module, names, what):
    """Parts named by the caller (a container: its parts, in order)."""
    mods = dict(module.named_modules())
    if isinstance(names, str):
        names = [n for n in names.split(",") if n]
    out = []
    for n in names:
        m = mods.get(n) if n else None
        if m is None:
            raise ExportError(f"{what} {n!r}: no module of that name in {_cls(module)} "
                              "(names as named_modules() gives them, e.g. 'encoder.rnn', "
                              "'head.0')")
        out += [(n, m)] if _leaf(m) else list(_leaves(m, n + "."))
    return out


def _walk(leaves, notes):
    """Recurrent parts and the head, by registration order."""
    rec = [i for i, (_, m) in enumerate(leaves) if kind_of(m) in GATES]
    if not rec:
        return [], []
    first, last = rec[0], rec[-1]
    for n, m in leaves[:first]:
        notes.append(f"{n} ({_cls(m)}): registered before the first recurrent module "
                     f"{leaves[first][0]}, not exported (tickcast feeds readings straight "
                     "to the first recurrent layer)")
    prev = leaves[first]
    for n, m in leaves[first + 1:last + 1]:
        k = kind_of(m)
        if k in GATES:
            if kind_of(prev[1]) not in GATES:
                raise ExportError(
                    f"{n}: an {_cls(m)} registered after {prev[0]} ({_cls(prev[1])}), which "
                    f"is not a recurrent module: tickcast runs every recurrent layer first, "
                    "each taking the previous one's h, then the head; a recurrent module "
                    "after the head (or after anything but nn.Dropout) cannot be exported")
            prev = (n, m)
        elif k not in ("dropout", "identity"):
            prev = (n, m)
    return [leaves[i] for i in rec], leaves[last + 1:]


def plan(module, layers=None, head=None):
    """The Plan of `module`: its recurrent modules and head, by registration
    order, or those named by `layers` / `head` (lists of named_modules()
    names or comma-separated strings; a container names its parts). Raises
    ExportError, naming the module and why, when tickcast cannot run it."""
    if not isinstance(module, nn.Module):
        raise ExportError(f"expected an nn.Module, got {_cls(module)}")
    if kind_of(module) is not None:
        raise ExportError(f"a bare {_cls(module)}: put the recurrent modules and the head in "
                          "one nn.Module (or an nn.Sequential) and export that")
    notes = []
    leaves = list(_leaves(module))
    if layers is None:
        rec, after = _walk(leaves, notes)
    else:
        rec = _expand(module, layers, "layers")
        names = {n for n, _ in rec}
        at = [i for i, (n, _) in enumerate(leaves) if n in names]
        after = leaves[max(at) + 1:] if at else []
    if head is not None:
        after = _expand(module, head, "head")
    if not rec:
        raise ExportError(f"no nn.GRU, nn.LSTM or nn.RNN in {_cls(module)}: tickcast runs "
                          "recurrent layers, then a head")
    parts = [_recurrent(n, m) for n, m in rec]
    for a, b in zip(parts, parts[1:]):
        if b.module.input_size != a.module.hidden_size:
            raise ExportError(
                f"{b.name}: input_size {b.module.input_size}, but {a.name} before it gives "
                f"{a.module.hidden_size} values (its hidden_size): tickcast feeds each "
                "recurrent layer the previous one's h, in registration order")
    ops = _head(module, after, parts[-1])
    _prefixes(parts + ops, notes)
    return Plan(parts, ops, notes)


def _recurrent(n, m):
    k = kind_of(m)
    if k not in GATES:
        raise ExportError(f"{n}: {_cls(m)} is not an nn.GRU, nn.LSTM or nn.RNN")
    if m.bidirectional:
        raise ExportError(f"{n}: a bidirectional {_cls(m)} cannot be exported: tickcast runs "
                          "forward in time, one step per tick, with no future readings to "
                          "run backward from")
    if getattr(m, "proj_size", 0):
        raise ExportError(f"{n}: an {_cls(m)} with proj_size={m.proj_size} cannot be "
                          "exported: tickcast's LSTM layers have no projection")
    return Part(n, m, k)


def _head(module, after, last):
    ops, width, src = [], last.module.hidden_size, last.name
    for n, m in after:
        k = kind_of(m)
        if k in GATES:
            raise ExportError(f"{n}: an {_cls(m)} in the head (after {src}): tickcast runs "
                              "the recurrent layers first, then the head")
        if k == "identity":
            continue
        if k is None:
            raise ExportError(f"{n}: {_cls(m)} is not a head layer tickcast runs (the head, "
                              f"everything registered after {last.name}, may hold {HEAD_NAMES}"
                              "); name the head's modules with head= / --head if this one "
                              "is not part of it")
        if k == "linear" and m.in_features != width:
            raise ExportError(f"{n}: in_features {m.in_features}, but {src} before it gives "
                              f"{width} values")
        if k == "layernorm":
            shape = tuple(m.normalized_shape)
            if len(shape) != 1:
                raise ExportError(f"{n}: nn.LayerNorm over {list(shape)}: tickcast normalises "
                                  "over one dimension, the features")
            if shape[0] != width:
                raise ExportError(f"{n}: nn.LayerNorm over {shape[0]} values, but {src} "
                                  f"before it gives {width}")
        if k == "gelu" and m.approximate not in ("none", "tanh"):
            raise ExportError(f"{n}: nn.GELU(approximate={m.approximate!r}): tickcast has "
                              "'none' and 'tanh'")
        ops.append(Part(n, m, k))
        if k == "linear":
            width, src = m.out_features, n
    if not any(p.kind == "linear" for p in ops):
        raise ExportError(f"no nn.Linear after {last.name} (the last recurrent module) in "
                          f"{_cls(module)}: the head needs one, whose out_features is the "
                          "number of forecast values")
    return ops


def _prefixes(parts, notes):
    """Each part's tensor prefix: its name, or, when longer than PREFIX_MAX
    bytes, a short one not taken by another part."""
    taken = {p.name for p in parts}
    for i, p in enumerate(parts):
        p.prefix = p.name
        if len(p.name.encode()) > PREFIX_MAX:
            short = f"{p.kind}{i}"
            while short in taken:
                short += "_"
            taken.add(short)
            notes.append(f"{p.name}: longer than {PREFIX_MAX} bytes, the most a tensor prefix "
                         f"may be; tensors renamed to {short}.*")
            p.prefix = short


# --------------------------------------------------------------------------
# What the export writes
# --------------------------------------------------------------------------

def f32(t):
    return t.detach().to(device="cpu").float().contiguous().numpy().copy()


def tensors(p, notes=None):
    """{name: float32 array} under the parts' prefixes; a missing bias (bias=False)
    is written as zeros, which is what the module computes."""
    out = {}

    def bias(part, t, size, what):
        if t is not None:
            return f32(t)
        if notes is not None and what not in notes:
            notes.append(what)
        return np.zeros(size, dtype=np.float32)

    for part in p.layers:
        m = part.module
        rows = GATES[part.kind] * m.hidden_size
        for k in range(m.num_layers):
            for w in WEIGHTS:
                out[f"{part.prefix}.{w}_l{k}"] = bias(
                    part, getattr(m, f"{w}_l{k}", None), rows,
                    f"{part.name} has bias=False: zero biases written")
    for part in p.head:
        m = part.module
        if part.kind == "linear" or (part.kind == "layernorm" and m.elementwise_affine):
            size = m.out_features if part.kind == "linear" else m.normalized_shape[0]
            out[f"{part.prefix}.weight"] = f32(m.weight)
            out[f"{part.prefix}.bias"] = bias(part, getattr(m, "bias", None), size,
                                              f"{part.name} has no bias: a zero bias written")
    return out


_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]*$")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


def yaml_str(s):
    """`s` as a YAML scalar that reads back as the same string: bare when that
    is safe, else double-quoted (JSON escapes are valid YAML). Prefixes such as
    "0" (nn.Sequential children) would read as numbers, so they are quoted."""
    if _PLAIN.match(s) and s.lower() not in _YAML_WORDS:
        return s
    return json.dumps(s)


def yaml_float(v):
    """A float that every YAML schema reads as one: 1e-05 -> 1.0e-05."""
    s = repr(float(v))
    if "e" in s and "." not in s.split("e")[0]:
        s = s.replace("e", ".0e", 1)
    return s


def layer_items(p):
    """One [(key, text)] per layer, with explicit module and index."""
    items = []
    for part in p.layers:
        m = part.module
        for k in range(m.num_layers):
            item = [("type", part.kind), ("hidden", str(m.hidden_size))]
            if part.kind == "rnn":
                item.append(("nonlinearity", m.nonlinearity))
            items.append(item + [("module", yaml_str(part.prefix)), ("index", str(k))])
    return items


def head_items(p):
    """One [(key, text)] per head op, with explicit module on linear and layernorm."""
    items = []
    for part in p.head:
        m, item = part.module, [("type", part.kind)]
        if part.kind == "linear":
            item.append(("outputs", str(m.out_features)))
        elif part.kind == "gelu" and m.approximate == "tanh":
            item.append(("approximate", "tanh"))
        elif part.kind == "layernorm":
            item += [("eps", yaml_float(m.eps)),
                     ("affine", "true" if m.elementwise_affine else "false")]
        if part.kind in ("linear", "layernorm"):
            item.append(("module", yaml_str(part.prefix)))
        items.append(item)
    return items

"""golden_stack.py -- tools/gen_golden.py's cases of recurrent stacks and MLP heads.

A stack is gru, lstm and rnn layers taken from one or several PyTorch modules
(tensor names `<module>.weight_ih_l<index>` ...), then a head: one nn.Linear or
a list of nn.Linear, nn.ReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.LayerNorm and
nn.Dropout applied in order. This file holds such a model's spec (its random
float32 weights, under PyTorch's names), its PyTorch oracle, a second, generic
numpy implementation (the cross-check in float64, the float32 error estimate in
float32) and the model section of its config, in the layered format
(`layers[].module/index/nonlinearity`, `head` as a list).

Every step function takes and returns float64 numpy arrays: x [S, I], states
[s_k [S, W_k] per layer] with W_k = H_k (gru, rnn) or 2 H_k (lstm: h then c),
and gives back (new states, y [S, O]).
"""

import math
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

GATES = {"gru": 3, "lstm": 4, "rnn": 1}
TORCH_RNN = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}
WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


@dataclass
class Layer:
    type: str                     # gru | lstm | rnn
    hidden: int                   # H
    module: str                   # tensor-name prefix
    index: int                    # the l<index> in tensor names
    nonlinearity: str = "tanh"    # rnn only: tanh | relu
    write: tuple = ()             # which of module, index, nonlinearity the config gives


@dataclass
class Op:
    type: str                     # linear relu tanh sigmoid gelu layernorm dropout
    module: str = None            # tensor-name prefix (linear, affine layernorm)
    outputs: int = 0              # linear: out_features
    eps: float = None             # layernorm: None = the default 1e-5, not written
    affine: bool = True           # layernorm: elementwise_affine
    approximate: str = "none"     # gelu: none | tanh
    write_module: bool = False    # the config gives `module:`


@dataclass
class StackSpec:
    input_size: int
    layers: list                  # [Layer]
    head: list                    # [Op]
    tensors_keys: dict            # model.tensors written ({} writes none)
    head_mapping: bool = False    # write the head as one mapping, not a list
    tensors: dict = field(default_factory=dict)   # name -> float32 ndarray
    reset_after = True

    @property
    def hidden(self):
        return [lay.hidden for lay in self.layers]

    def state_widths(self):
        return [2 * lay.hidden if lay.type == "lstm" else lay.hidden for lay in self.layers]

    def layer_inputs(self):
        return [self.input_size] + self.hidden[:-1]

    def numpy_model(self, dtype):
        return NumpyStack(self, dtype)


def uniform(rng, bound, shape):
    """float32 numbers uniform in [-bound, bound) from rng."""
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


def random_stack(rng, spec):
    """Fill spec.tensors: PyTorch's default init scale, U(-1/sqrt(H), 1/sqrt(H))
    for recurrent tensors and U(-1/sqrt(fan_in), ...) for linears; layernorm
    weight 1 + U(-0.5, 0.5), bias U(-0.5, 0.5), so that neither is trivial.
    Every bias is nonzero."""
    t = spec.tensors
    for lay, n_in in zip(spec.layers, spec.layer_inputs()):
        b, rows = 1.0 / math.sqrt(lay.hidden), GATES[lay.type] * lay.hidden
        p = f"{lay.module}.{{}}_l{lay.index}"
        t[p.format("weight_ih")] = uniform(rng, b, (rows, n_in))
        t[p.format("weight_hh")] = uniform(rng, b, (rows, lay.hidden))
        t[p.format("bias_ih")] = uniform(rng, b, (rows,))
        t[p.format("bias_hh")] = uniform(rng, b, (rows,))
    width = spec.hidden[-1]
    for op in spec.head:
        if op.type == "linear":
            b = 1.0 / math.sqrt(width)
            t[f"{op.module}.weight"] = uniform(rng, b, (op.outputs, width))
            t[f"{op.module}.bias"] = uniform(rng, b, (op.outputs,))
            width = op.outputs
        elif op.type == "layernorm" and op.affine:
            t[f"{op.module}.weight"] = 1.0 + uniform(rng, 0.5, (width,))
            t[f"{op.module}.bias"] = uniform(rng, 0.5, (width,))
    for name, arr in t.items():
        assert arr.dtype == np.float32, name
        if "bias" in name:
            assert np.all(arr != 0), name
    return spec


def outputs(spec):
    return [op.outputs for op in spec.head if op.type == "linear"][-1]


# --------------------------------------------------------------------------
# The PyTorch oracle
# --------------------------------------------------------------------------

def _torch_op(op, width):
    if op.type == "linear":
        return nn.Linear(width, op.outputs)
    if op.type == "layernorm":
        eps = 1e-5 if op.eps is None else op.eps
        return nn.LayerNorm(width, eps=eps, elementwise_affine=op.affine)
    if op.type == "gelu":
        return nn.GELU(approximate=op.approximate)
    return {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
            "dropout": lambda: nn.Dropout(0.5)}[op.type]()


class TorchStack:
    """nn.GRU / nn.LSTM / nn.RNN, then an nn.Sequential head, in float64.

    Consecutive layers of one module with equal sizes run as one module with
    num_layers=n; layers of different sizes (not one PyTorch module, but the
    same names) as a chain of one-layer modules. Every module is loaded with
    load_state_dict(strict=True), and together they must take every tensor
    of the file, which proves the names and shapes are PyTorch's."""

    def __init__(self, spec):
        src = {k: torch.from_numpy(v.copy()) for k, v in spec.tensors.items()}
        used = set()

        def load(mod, names):                     # names: module key -> file key
            mod.load_state_dict({k: src[v] for k, v in names.items()}, strict=True)
            used.update(names.values())
            return mod.double().eval()

        self.units = []                           # (module, type, [layer positions])
        groups = []
        for k, lay in enumerate(spec.layers):
            if groups and groups[-1][0].module == lay.module and \
                    groups[-1][0].hidden == lay.hidden and groups[-1][0].type == lay.type:
                groups[-1][1].append(k)
            else:
                groups.append((lay, [k]))
        for lay, ks in groups:
            indices = [spec.layers[k].index for k in ks]
            n_in = spec.layer_inputs()[ks[0]]
            kw = {"nonlinearity": lay.nonlinearity} if lay.type == "rnn" else {}
            mod = TORCH_RNN[lay.type](n_in, lay.hidden, len(ks), batch_first=True, **kw)
            names = {f"{w}_l{j}": f"{lay.module}.{w}_l{i}"
                     for j, i in enumerate(indices) for w in WEIGHTS}
            self.units.append((load(mod, names), lay.type, ks))

        ops, names, width = OrderedDict(), {}, spec.hidden[-1]
        for pos, op in enumerate(spec.head):
            ops[str(pos)] = _torch_op(op, width)
            for w in ops[str(pos)].state_dict():
                names[f"{pos}.{w}"] = f"{op.module}.{w}"
            width = op.outputs if op.type == "linear" else width
        self.head = load(nn.Sequential(ops), names)
        assert used == set(spec.tensors), set(spec.tensors) ^ used
        self.hidden = spec.hidden

    @torch.no_grad()
    def step(self, x, hs):
        inp = torch.from_numpy(x).unsqueeze(1)                  # [S, 1, I]
        new = list(hs)
        for mod, kind, ks in self.units:
            H = self.hidden[ks[0]]
            st = [torch.from_numpy(hs[k]) for k in ks]
            if kind == "lstm":
                h0 = torch.stack([s[:, :H] for s in st]).contiguous()
                c0 = torch.stack([s[:, H:] for s in st]).contiguous()
                inp, (hn, cn) = mod(inp, (h0, c0))
                for j, k in enumerate(ks):
                    new[k] = torch.cat([hn[j], cn[j]], dim=1).numpy().copy()
            else:
                inp, hn = mod(inp, torch.stack(st))
                for j, k in enumerate(ks):
                    new[k] = hn[j].numpy().copy()
        return new, self.head(inp[:, -1]).numpy()


# --------------------------------------------------------------------------
# The generic numpy implementation
# --------------------------------------------------------------------------

class NumpyStack:
    """Every layer and head op written out by hand, in a chosen dtype:

    gru  (reset_after): r, z = sig(..), n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),
                        h = (1 - z) n + z h
    lstm (i, f, g, o):  c = sig(f) c + sig(i) tanh(g), h = sig(o) tanh(c)
    rnn:                h = act(W_ih x + b_ih + W_hh h + b_hh)
    layernorm:          (x - mean) / sqrt(biased var + eps) * w + b
    gelu:               x Phi(x) (erf), or the tanh approximation."""

    def __init__(self, spec, dtype=np.float64):
        self.spec, self.dt = spec, dtype
        self.t = {k: v.astype(dtype) for k, v in spec.tensors.items()}

    def sig(self, a):
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-a))

    def layer(self, lay, inp, s):
        dt, H = self.dt, lay.hidden
        w = {n: self.t[f"{lay.module}.{n}_l{lay.index}"] for n in WEIGHTS}
        gi = inp @ w["weight_ih"].T + w["bias_ih"]
        if lay.type == "lstm":
            h, c = s[:, :H], s[:, H:]
            g = gi + h @ w["weight_hh"].T + w["bias_hh"]
            c = self.sig(g[:, H:2 * H]) * c + self.sig(g[:, :H]) * np.tanh(g[:, 2 * H:3 * H])
            h = self.sig(g[:, 3 * H:]) * np.tanh(c)
            return h, np.concatenate([h, c], axis=1).astype(dt)
        gh = s @ w["weight_hh"].T + w["bias_hh"]
        if lay.type == "rnn":
            a = gi + gh
            h = np.tanh(a) if lay.nonlinearity == "tanh" else np.maximum(a, dt(0))
            return h, h
        r = self.sig(gi[:, :H] + gh[:, :H])
        z = self.sig(gi[:, H:2 * H] + gh[:, H:2 * H])
        n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        h = (1 - z) * n + z * s
        return h, h

    def op(self, op, y):
        dt, t = self.dt, self.t
        if op.type == "linear":
            return y @ t[f"{op.module}.weight"].T + t[f"{op.module}.bias"]
        if op.type == "layernorm":
            eps = dt(1e-5 if op.eps is None else op.eps)
            m = y.mean(axis=1, keepdims=True)
            v = ((y - m) ** 2).mean(axis=1, keepdims=True)
            y = (y - m) / np.sqrt(v + eps)
            return y * t[f"{op.module}.weight"] + t[f"{op.module}.bias"] if op.affine else y
        if op.type == "gelu" and op.approximate == "tanh":
            k = dt(math.sqrt(2.0 / math.pi))
            return dt(0.5) * y * (1 + np.tanh(k * (y + dt(0.044715) * y * y * y)))
        if op.type == "gelu":
            phi = np.vectorize(lambda v: 0.5 * (1.0 + math.erf(v / math.sqrt(2.0))))
            return (y * phi(y).astype(dt)).astype(dt)
        return {"relu": lambda: np.maximum(y, dt(0)), "tanh": lambda: np.tanh(y),
                "sigmoid": lambda: self.sig(y), "dropout": lambda: y}[op.type]()

    def step(self, x, hs):
        inp, new = x.astype(self.dt), []
        for lay, s in zip(self.spec.layers, hs):
            inp, s = self.layer(lay, inp, s.astype(self.dt))
            new.append(s)
        for op in self.spec.head:
            inp = self.op(op, inp)
            assert inp.dtype == self.dt, (op.type, inp.dtype)
        return new, inp


# --------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------

def _item(pairs):
    return "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"


def model_lines(spec):
    """The config's model keys after input_size/reset_after: layers, head, tensors."""
    lines = ["  layers:"]
    for lay in spec.layers:
        pairs = [("type", lay.type), ("hidden", lay.hidden)]
        pairs += [(k, getattr(lay, k)) for k in ("nonlinearity", "module", "index")
                  if k in lay.write]
        lines.append(f"    - {_item(pairs)}")
    items = []
    for op in spec.head:
        pairs = [("type", op.type)]
        if op.type == "linear":
            pairs.append(("outputs", op.outputs))
        if op.type == "gelu" and op.approximate != "none":
            pairs.append(("approximate", op.approximate))
        if op.type == "layernorm":
            if op.eps is not None:
                pairs.append(("eps", repr(op.eps)))
            pairs.append(("affine", "true" if op.affine else "false"))
        if op.write_module:
            pairs.append(("module", op.module))
        items.append(_item(pairs))
    if spec.head_mapping:
        assert len(items) == 1
        lines.append(f"  head: {items[0]}")
    else:
        lines.append("  head:")
        lines += [f"    - {i}" for i in items]
    if spec.tensors_keys:
        lines.append(f"  tensors: {_item(spec.tensors_keys.items())}")
    return lines

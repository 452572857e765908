"""The source article's hand-written GRU, and its conversion to tickcast's layout.

The article (d2l style) keeps one GRU layer and a linear output as separate
matrices used as `x @ W` (shape (in, H)), returned by its get_params() in the
order of PARAM_NAMES:

    Z       = sigmoid(x @ W_xz + H @ W_hz + b_z)
    R       = sigmoid(x @ W_xr + H @ W_hr + b_r)
    H_tilde = tanh(x @ W_xh + (R * H) @ W_hh + b_h)
    H       = Z * H + (1 - Z) * H_tilde
    Y       = H @ W_hq + b_q

That is the original GRU of Cho et al. (reset applied before W_hh), so the
converted model must be served with `reset_after: false`. tickcast reads the
tensor names of a PyTorch module with `self.gru = nn.GRU(...)` and
`self.fc = nn.Linear(...)` (gates stacked in the order r, z, n):

    gru.weight_ih_l0 = cat(W_xr.T, W_xz.T, W_xh.T)     (3H, I)
    gru.weight_hh_l0 = cat(W_hr.T, W_hz.T, W_hh.T)     (3H, H)
    gru.bias_ih_l0   = cat(b_r, b_z, b_h)              (3H,)
    gru.bias_hh_l0   = zeros                           (3H,)
    fc.weight        = W_hq.T                          (O, H)
    fc.bias          = b_q                             (O,)

Importable by other tools (tools/gen_golden.py, tools/export.py):

    from article_gru import to_state_dict, model_sizes
    sd = to_state_dict(params)          # OrderedDict of float32 torch tensors
"""

from collections import OrderedDict

import torch

# The order in which the article's get_params() returns its parameters.
PARAM_NAMES = ("W_xz", "W_hz", "b_z", "W_xr", "W_hr", "b_r",
               "W_xh", "W_hh", "b_h", "W_hq", "b_q")


def _as_dict(params):
    """Accept a mapping name -> tensor, or a sequence in PARAM_NAMES order."""
    if hasattr(params, "keys"):
        missing = [n for n in PARAM_NAMES if n not in params]
        if missing:
            raise KeyError(f"article GRU params missing: {', '.join(missing)}")
        d = {n: params[n] for n in PARAM_NAMES}
    else:
        params = list(params)
        if len(params) != len(PARAM_NAMES):
            raise ValueError(f"expected {len(PARAM_NAMES)} params "
                             f"({', '.join(PARAM_NAMES)}), got {len(params)}")
        d = dict(zip(PARAM_NAMES, params))
    return {n: torch.as_tensor(v).detach() for n, v in d.items()}


def model_sizes(params):
    """(input_size, hidden, outputs) of the article's model."""
    p = _as_dict(params)
    return p["W_xz"].shape[0], p["W_xz"].shape[1], p["W_hq"].shape[1]


def to_state_dict(params, gru_prefix="gru.", fc_prefix="fc."):
    """Convert the article's params to nn.GRU/nn.Linear state_dict tensors.

    Returns an OrderedDict name -> contiguous float32 CPU tensor, in the order
    nn.Module.state_dict() would list them. Shapes are checked.
    """
    p = _as_dict(params)
    n_in, n_h, n_out = model_sizes(p)
    expect = {
        "W_xz": (n_in, n_h), "W_xr": (n_in, n_h), "W_xh": (n_in, n_h),
        "W_hz": (n_h, n_h), "W_hr": (n_h, n_h), "W_hh": (n_h, n_h),
        "b_z": (n_h,), "b_r": (n_h,), "b_h": (n_h,),
        "W_hq": (n_h, n_out), "b_q": (n_out,),
    }
    for name, shape in expect.items():
        if tuple(p[name].shape) != shape:
            raise ValueError(f"{name}: expected shape {list(shape)}, "
                             f"got {list(p[name].shape)}")

    def f32(t):
        return t.to(device="cpu", dtype=torch.float32).contiguous()

    sd = OrderedDict()
    sd[gru_prefix + "weight_ih_l0"] = f32(torch.cat([p["W_xr"].T, p["W_xz"].T, p["W_xh"].T], 0))
    sd[gru_prefix + "weight_hh_l0"] = f32(torch.cat([p["W_hr"].T, p["W_hz"].T, p["W_hh"].T], 0))
    sd[gru_prefix + "bias_ih_l0"] = f32(torch.cat([p["b_r"], p["b_z"], p["b_h"]], 0))
    sd[gru_prefix + "bias_hh_l0"] = torch.zeros(3 * n_h, dtype=torch.float32)
    sd[fc_prefix + "weight"] = f32(p["W_hq"].T)
    sd[fc_prefix + "bias"] = f32(p["b_q"])
    return sd


def gru(inputs, state, params):
    """The article's forward pass, verbatim in substance.

    inputs: (steps, batch, I) tensor; state: a 1-tuple (H,) with H (batch, H).
    Returns (outputs (steps*batch, O), (H,)).
    """
    W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h, W_hq, b_q = \
        [_as_dict(params)[n] for n in PARAM_NAMES]
    H, = state
    outputs = []
    for X in inputs:
        Z = torch.sigmoid((X @ W_xz) + (H @ W_hz) + b_z)
        R = torch.sigmoid((X @ W_xr) + (H @ W_hr) + b_r)
        H_tilde = torch.tanh((X @ W_xh) + ((R * H) @ W_hh) + b_h)
        H = Z * H + (1 - Z) * H_tilde
        Y = H @ W_hq + b_q
        outputs.append(Y)
    return torch.cat(outputs, dim=0), (H,)

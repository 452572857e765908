"""Minimal safetensors reader/writer for float32 tensors (numpy only).

The `safetensors` Python package is not installed on the build machines, so the
tools write the format themselves. The layout follows the reference
implementation (https://github.com/huggingface/safetensors):

    8 bytes    little-endian uint64 N, the length of the JSON header
    N bytes    JSON header: {name: {"dtype": "F32", "shape": [...],
                                    "data_offsets": [begin, end]}, ...}
               offsets are relative to the first byte after the header; the
               header is padded with spaces so that N is a multiple of 8
    ...        the raw little-endian tensor data, contiguous, no holes

Like the reference, tensors are laid out sorted by name (all are F32 here, so
the reference's dtype-alignment ordering reduces to name order), and the JSON is
compact. No "__metadata__" entry is written.

Used by tools/gen_golden.py; tools/export.py may import it too.
"""

import json
import struct

import numpy as np

_ALIGN = 8


def write_safetensors(path, tensors):
    """Write `tensors` (a mapping name -> array-like of float32 values) to `path`.

    Arrays are converted to contiguous little-endian float32; anything that is
    not already float32 is rejected rather than silently rounded.
    """
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        arr = np.asarray(tensors[name])
        if arr.dtype != np.float32:
            raise TypeError(f"{name}: expected float32, got {arr.dtype}")
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {
            "dtype": "F32",
            "shape": [int(d) for d in arr.shape],
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((_ALIGN - len(text) % _ALIGN) % _ALIGN)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path):
    """Read a safetensors file of F32 tensors back into {name: np.ndarray}."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{name}: unsupported dtype {info['dtype']}")
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(raw[base + b:base + e], dtype="<f4").reshape(info["shape"]).copy()
    return out

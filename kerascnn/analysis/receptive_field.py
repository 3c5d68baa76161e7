"""Receptive fields of 1D layers: how many input positions (words, samples) one output sees.

The lecture's dilation formula (Yu & Koltun 2016, "Multi-Scale Context Aggregation by Dilated
Convolutions"), used by ``kerascnn summary`` for models with 1D layers (Kim's text CNN and its
dilated variant).
"""

from __future__ import annotations


def receptive_fields(model) -> dict[str, int]:
    """Receptive field in input positions (words) of every 1D convolution and pooling layer.

    The lecture's formula, layer by layer along the sequence axis:
    ``r_out = r_in + (k - 1) d j_in`` and ``j_out = j_in s`` (kernel ``k``, dilation
    ``d``, stride ``s``, ``j`` the distance in input positions between neighbouring
    outputs). Parallel branches each get their own entry; layers that do not move
    along the sequence (embedding, activations) pass ``(r, j)`` through. Global
    pooling reports the field of the widest input it pools. Works on any
    functional model with 1D layers (``{}`` when it has none).
    """
    fields: dict[int, tuple[int, int]] = {}  # id(KerasTensor) -> (receptive field, jump)
    out: dict[str, int] = {}
    for layer in model.layers:
        for node in layer._inbound_nodes:
            inputs = [t for t in node.input_tensors]
            field_in = max((fields.get(id(t), (1, 1)) for t in inputs), default=(1, 1))
            r, j = field_in
            kind = type(layer).__name__
            if kind in ("Conv1D", "MaxPooling1D", "AveragePooling1D"):
                k = layer.kernel_size[0] if kind == "Conv1D" else layer.pool_size[0]
                d = layer.dilation_rate[0] if kind == "Conv1D" else 1
                s = layer.strides[0]
                r, j = r + (k - 1) * d * j, j * s
                out[layer.name] = r
            elif kind == "GlobalMaxPooling1D":
                out[layer.name] = r
            for t in node.output_tensors:
                fields[id(t)] = (r, j)
    return out


def receptive_field_note(model) -> str | None:
    """One line for the lecture table: the widest 1D receptive field and where it is reached."""
    fields = receptive_fields(model)
    if not fields:
        return None
    widest = max(fields.values())
    where = ", ".join(name for name, field in fields.items() if field == widest)
    return f"receptive field of the 1D layers: up to {widest} input positions ({where})"

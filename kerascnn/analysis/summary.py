"""The lecture's per-layer table, computed from a real Keras model.

    >>> from kerascnn import summary
    >>> table = summary.summarize_zoo("vgg16")   # or summary.summarize(any_keras_model)
    >>> table.activations, table.macs
    (15237608, 15470264320)
    >>> print(table.format_table())

For every layer call the table gives the output shape, the activation values it
adds, their memory at float32, the parameters and the multiply-adds (MACs).

Counting rules (the lecture's VGG-16 table; also in ``docs/summary.md``):

* **Activations** count every tensor the forward pass must hold *once*:
  the model input and the output of every layer that computes new values
  (convolutions, dense layers, pooling, embeddings, resizing ...). Layers that can
  overwrite their input are shown but not counted ("in place"): activations,
  BatchNormalization, Dropout, Add/Multiply, rescaling, and any layer without a
  kernel whose output has the shape of one of its inputs (LRN, L2 normalisation).
  Layers that only re-index values are shown as "view" and not counted:
  Flatten, Reshape, Permute, Concatenate (branches write straight into the
  joined buffer), zero-padding and cropping (folded into the next convolution).
  Memory = values x 4 bytes (float32) x batch size; MB = 10^6 bytes.
* **MACs** per example, for layers with weights only (as the papers count them):
  conv (any rank) = prod(out spatial) * C_out * prod(kernel) * C_in / groups;
  depthwise = prod(out spatial) * C_in * depth_multiplier * prod(kernel);
  separable = depthwise + pointwise (prod(out spatial) * C_in * dm * C_out);
  transposed conv = prod(in spatial) * C_in * prod(kernel) * C_out;
  dense = in * out per position (a Dense on (T, d) inputs does it T times);
  EinsumDense = output values * the kernel dimensions summed over;
  any other layer with a ``kernel`` = output values * kernel size / kernel.shape[-1].
  Biases, BatchNorm (folded into the conv at inference), pooling, activations
  and additions cost no MACs.
* **Parameters**: each weight once, on the row of the first call of the layer
  that owns it; trainable and non-trainable (BatchNorm statistics) apart.
  Their sum equals ``model.count_params()``.
* Nested models (a zoo backbone inside a preprocessing model) are expanded:
  their rows are named ``outer/inner`` and their inner input rows omitted.
  A layer called twice (a Siamese tower) gets a row per call.
"""

from __future__ import annotations

import contextlib
import functools
import math
import textwrap
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING

from kerascnn.core.errors import UsageError

if TYPE_CHECKING:  # Keras is imported on first use: the formatting helpers need no TensorFlow.
    import keras

BYTES_PER_VALUE = 4  # float32

# How a layer's output is counted in the activation total.
INPUT = "input"
COMPUTED = "computed"
IN_PLACE = "in place"
VIEW = "view"


@functools.cache
def _kinds() -> SimpleNamespace:
    """The Keras layer classes each counting rule applies to."""
    from keras import layers

    kinds = SimpleNamespace(
        view=(
            layers.Flatten,
            layers.Reshape,
            layers.Permute,
            layers.Identity,
            layers.Concatenate,
            layers.ZeroPadding1D,
            layers.ZeroPadding2D,
            layers.ZeroPadding3D,
            layers.Cropping1D,
            layers.Cropping2D,
            layers.Cropping3D,
        ),
        conv=(layers.Conv1D, layers.Conv2D, layers.Conv3D),
        conv_transpose=(layers.Conv1DTranspose, layers.Conv2DTranspose, layers.Conv3DTranspose),
        depthwise=(layers.DepthwiseConv1D, layers.DepthwiseConv2D),
        separable=(layers.SeparableConv1D, layers.SeparableConv2D),
        dense=layers.Dense,
        einsum=layers.EinsumDense,
    )
    kinds.weighted = (
        kinds.conv + kinds.conv_transpose + kinds.depthwise + kinds.separable + (layers.Dense, layers.EinsumDense)
    )
    return kinds


Shape = tuple  # per-example shape (no batch axis)


@dataclass(frozen=True)
class LayerRow:
    """One layer call of the table. Shapes leave out the batch axis."""

    name: str
    type: str
    output_shapes: tuple[Shape, ...]
    role: str  # INPUT, COMPUTED, IN_PLACE or VIEW
    activations: int  # values per example this row adds to the total (0 unless counted)
    activation_bytes: int  # activations * 4 bytes * batch size
    trainable_params: int
    non_trainable_params: int
    macs: int  # multiply-adds per example

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @property
    def output_values(self) -> int:
        """Values in this call's output(s), counted or not."""
        return sum(math.prod(s) for s in self.output_shapes)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "type": self.type,
            "output_shape": _shape_json(self.output_shapes),
            "role": self.role,
            "activations": self.activations,
            "activation_bytes": self.activation_bytes,
            "params": self.params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "macs": self.macs,
        }


@dataclass(frozen=True)
class ModelSummary:
    """The whole table: one :class:`LayerRow` per layer call, plus totals."""

    name: str
    input_shapes: tuple[Shape, ...]
    batch_size: int
    layers: tuple[LayerRow, ...]
    notes: tuple[str, ...] = field(default=())  # extra lines under the totals

    @property
    def trainable_params(self) -> int:
        return sum(r.trainable_params for r in self.layers)

    @property
    def non_trainable_params(self) -> int:
        return sum(r.non_trainable_params for r in self.layers)

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @property
    def macs(self) -> int:
        """Multiply-adds per example."""
        return sum(r.macs for r in self.layers)

    @property
    def activations(self) -> int:
        """Activation values per example (each counted tensor once)."""
        return sum(r.activations for r in self.layers)

    @property
    def activation_bytes(self) -> int:
        """Forward-pass activation memory at float32 for the whole batch."""
        return sum(r.activation_bytes for r in self.layers)

    def to_dict(self) -> dict:
        """JSON-ready: totals first, then ``layers`` (a list of row dicts)."""
        return {
            "name": self.name,
            "input_shape": _shape_json(self.input_shapes),
            "batch_size": self.batch_size,
            "params": self.params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "macs": self.macs,
            "activations": self.activations,
            "activation_bytes": self.activation_bytes,
            "bytes_per_value": BYTES_PER_VALUE,
            "notes": list(self.notes),
            "layers": [r.to_dict() for r in self.layers],
        }

    def __str__(self) -> str:
        """``print(summarize(model))`` prints the lecture table."""
        return self.format_table()

    def format_table(self) -> str:
        """The aligned terminal table with totals and the counting rule."""
        header = ("Layer", "Type", "Output shape", "Activations", "Memory", "Params", "MACs")
        rows = [
            (
                r.name,
                r.type,
                format_shapes(r.output_shapes),
                f"{r.activations:,}" if r.role in (INPUT, COMPUTED) else r.role,
                format_bytes(r.activation_bytes) if r.activation_bytes else "-",
                f"{r.params:,}",
                format_count(r.macs) if r.macs else "-",
            )
            for r in self.layers
        ]
        right = {3, 4, 5, 6}
        widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

        def line(cells) -> str:
            return "  ".join(
                str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
            ).rstrip()

        rule = "-" * len(line(header))
        batch = f"batch {self.batch_size}" if self.batch_size > 1 else "per example"
        out = [
            f'Model: "{self.name}"   input {format_shapes(self.input_shapes)}',
            rule,
            line(header),
            rule,
            *(line(r) for r in rows),
            rule,
            f"Params:       {self.params:,} ({format_count(self.params)}): "
            f"trainable {self.trainable_params:,}, non-trainable {self.non_trainable_params:,}",
            f"MACs:         {self.macs:,} ({format_count(self.macs)}) multiply-adds per example",
            f"Activations:  {self.activations:,} values per example "
            f"({format_count(self.activations)}): {format_bytes(self.activation_bytes)} at float32, {batch}",
            "Counting:     each tensor once: the input and every conv/pool/dense output. Activations,",
            "              BatchNorm, Dropout and Add work in place; Flatten, Concatenate, padding are views.",
        ]
        for note in self.notes:
            out += textwrap.wrap(note, width=100, initial_indent="Note:         ", subsequent_indent=" " * 14)
        return "\n".join(out)


def summarize(model: keras.Model, batch_size: int = 1) -> ModelSummary:
    """Compute the lecture table of a functional or built Sequential ``model``.

    Args:
        model: a functional model or a built ``keras.Sequential``; nested
            functional/Sequential models are expanded.
        batch_size: examples per batch, for the activation memory.

    Raises:
        ValueError: a subclassed or unbuilt model, a non-positive batch size, or
            a layer whose output shape is not fully known.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise UsageError(f"`batch_size` must be a positive integer. Received: batch_size={batch_size!r}")
    from kerascnn.analysis.receptive_field import receptive_field_note

    graph = _graph_of(model)
    walker = _Walker(batch_size)
    walker.walk(graph, prefix="", top=True)
    note = receptive_field_note(graph)
    return ModelSummary(
        name=model.name,
        input_shapes=tuple(_example_shape(t, model.name) for t in graph.inputs),
        batch_size=batch_size,
        layers=tuple(walker.rows),
        notes=(note,) if note else (),
    )


def layer_macs(layer, input_shapes: list[Shape], output_shapes: list[Shape]) -> int:
    """Multiply-adds per example of one call of ``layer`` (shapes without batch axis)."""
    kinds = _kinds()
    if not isinstance(layer, kinds.weighted) and getattr(layer, "kernel", None) is None:
        return 0
    x, y = input_shapes[0], output_shapes[0]
    first = getattr(layer, "data_format", "channels_last") == "channels_first"

    def split(shape):  # (spatial dims, channels)
        return (shape[1:], shape[0]) if first else (shape[:-1], shape[-1])

    if isinstance(layer, kinds.separable + kinds.depthwise):
        out_space, _ = split(y)
        _, c_in = split(x)
        mid = c_in * layer.depth_multiplier
        macs = math.prod(out_space) * mid * math.prod(layer.kernel_size)
        if isinstance(layer, kinds.separable):
            macs += math.prod(out_space) * mid * layer.filters
        return macs
    if isinstance(layer, kinds.conv_transpose):
        in_space, c_in = split(x)
        return math.prod(in_space) * c_in * math.prod(layer.kernel_size) * layer.filters
    if isinstance(layer, kinds.conv):
        out_space, c_out = split(y)
        _, c_in = split(x)
        return math.prod(out_space) * c_out * math.prod(layer.kernel_size) * c_in // layer.groups
    if isinstance(layer, kinds.dense):
        return math.prod(x[:-1]) * x[-1] * layer.units
    kernel_shape = tuple(layer.kernel.shape)
    if isinstance(layer, kinds.einsum):  # "abc,cde->abde": each output value sums over c
        operands, result = layer.equation.split("->")
        kernel_axes = operands.split(",")[1]
        return math.prod(y) * math.prod(d for a, d in zip(kernel_axes, kernel_shape) if a not in result)
    # A custom layer with a dense- or conv-like kernel (..., inputs, outputs):
    # each output value sums over everything but the last kernel axis.
    return math.prod(y) * math.prod(kernel_shape[:-1])


@contextlib.contextmanager
def shapes_only():
    """Build models whose variables have shapes but no values: no init time, no memory.

    The table needs shapes only, and filling VGG-19's 143 M weights with random
    numbers costs seconds. Models built inside cannot run; use them for
    :func:`summarize` and drop them. On exit their variables are taken off Keras'
    list of variables to initialise later (``keras.StatelessScope`` would
    otherwise fill them at the next scope exit anywhere in the process).
    """
    import keras
    from keras.src.backend.common import global_state  # that list has no public API

    def pending():
        return global_state.get_global_attribute("uninitialized_variables", [], set_to_default=True)

    before = {id(v) for v in pending()}
    try:
        with keras.StatelessScope(initialize_variables=False):
            yield
    finally:
        kept = [v for v in pending() if id(v) in before]
        global_state.set_global_attribute("uninitialized_variables", kept)


def summarize_zoo(name: str, *, batch_size: int = 1, **build_kwargs) -> ModelSummary:
    """The table of ``kerascnn.models.build(name, **build_kwargs)``, built :func:`shapes_only`."""
    from kerascnn import models

    with shapes_only():
        return summarize(models.build(name, **build_kwargs), batch_size=batch_size)


def zoo_listing(names: list[str] | None = None) -> list[dict]:
    """Registered models (default: all) with paper, parameters and MACs at the default input.

    Computed from each real model (built :func:`shapes_only`, one at a time), so
    the listing follows the builders.
    """
    from kerascnn import models

    listing = []
    for name in models.names() if names is None else names:
        spec = models.get_spec(name)
        table = summarize_zoo(name)
        listing.append(
            {
                "name": name,
                "family": spec.family,
                "paper": spec.paper,
                "year": spec.year,
                "task": spec.task,
                "input_shape": _shape_json(table.input_shapes),
                "params": table.params,
                "trainable_params": table.trainable_params,
                "non_trainable_params": table.non_trainable_params,
                "macs": table.macs,
                "activations": table.activations,
            }
        )
    return listing


# ---------------------------------------------------------------- formatting


def format_count(value: float) -> str:
    """``15470264320 -> '15.47 G'`` (decimal K/M/G/T, as the papers)."""
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.3g} {unit}" if value / size < 100 else f"{value / size:.0f} {unit}"
    return f"{value:g}"


def format_bytes(value: float) -> str:
    """``60950432 -> '61.0 MB'`` (decimal units: 1 MB = 10^6 bytes)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{int(value)} B"


def format_shapes(shapes) -> str:
    """``((7, 7, 512),) -> '7x7x512'``; several outputs are joined by ', '."""
    return ", ".join("x".join(str(d) for d in s) if s else "scalar" for s in shapes)


# ---------------------------------------------------------------- graph walk


def _graph_of(model):
    """The functional graph behind ``model`` (a Sequential keeps one inside)."""
    import keras

    if isinstance(model, keras.Sequential):
        graph = getattr(model, "_functional", None)
        if graph is None:
            raise UsageError(
                f"Sequential model {model.name!r} is not built: give it an `Input` or call `build()` first."
            )
        return graph
    if not hasattr(model, "_nodes_by_depth"):
        raise UsageError(
            f"The summary needs a functional or Sequential model; {model.name!r} is a subclassed "
            f"{type(model).__name__}. Received: model={model.name!r}"
        )
    return model


def _is_nested_model(layer) -> bool:
    import keras

    return isinstance(layer, keras.Model) and (
        isinstance(layer, keras.Sequential) or hasattr(layer, "_nodes_by_depth")
    )


def _example_shape(tensor, where: str) -> Shape:
    shape = tuple(tensor.shape[1:])
    if any(d is None for d in shape):
        raise UsageError(
            f"The summary needs fixed shapes, but {where!r} has output shape {tuple(tensor.shape)}: "
            "build the model with a fixed `input_shape`."
        )
    return shape


def _calls(graph):
    """``(layer, node)`` for every layer call in ``graph``, in the order of ``graph.layers``."""
    keys = graph._nodes  # ids of this graph's call events: "<id(op)>_ib-<index>"
    for layer in graph.layers:
        for index, node in enumerate(layer._inbound_nodes):
            if f"{id(layer)}_ib-{index}" in keys:
                yield layer, node


def _role(layer, input_shapes, output_shapes, dtypes) -> str:
    import keras

    kinds = _kinds()
    if isinstance(layer, keras.layers.InputLayer):
        return INPUT
    if isinstance(layer, kinds.weighted) or getattr(layer, "kernel", None) is not None:
        return COMPUTED
    if isinstance(layer, kinds.view):
        return VIEW
    if len(output_shapes) == 1 and output_shapes[0] in input_shapes and dtypes[0] != "string":
        return IN_PLACE
    return COMPUTED


class _Walker:
    """Collects one :class:`LayerRow` per layer call, expanding nested models."""

    def __init__(self, batch_size: int):
        self.batch_size = batch_size
        self.rows: list[LayerRow] = []
        self.seen_weights: set[int] = set()
        self.calls: dict[str, int] = {}

    def walk(self, graph, prefix: str, top: bool) -> None:
        import keras

        for layer, node in _calls(graph):
            if _is_nested_model(layer):
                self.walk(_graph_of(layer), prefix=f"{prefix}{layer.name}/", top=False)
                continue
            if isinstance(layer, keras.layers.InputLayer) and not top:
                continue  # the outer tensor feeding the nested model is already counted
            self.rows.append(self._row(layer, node, prefix))

    def _row(self, layer, node, prefix: str) -> LayerRow:
        name = f"{prefix}{layer.name}"
        self.calls[name] = self.calls.get(name, 0) + 1
        if self.calls[name] > 1:
            name = f"{name} (call {self.calls[name]})"
        inputs = [_example_shape(t, name) for t in node.input_tensors]
        outputs = [_example_shape(t, name) for t in node.outputs]
        dtypes = [_dtype_name(t.dtype) for t in node.outputs]
        role = _role(layer, inputs, outputs, dtypes)
        counted = role in (INPUT, COMPUTED)
        activations = (
            sum(math.prod(s) for s, d in zip(outputs, dtypes) if d != "string") if counted else 0
        )
        trainable = self._new_params(layer.trainable_weights)
        non_trainable = self._new_params(layer.non_trainable_weights)
        return LayerRow(
            name=name,
            type=type(layer).__name__,
            output_shapes=tuple(outputs),
            role=role,
            activations=activations,
            activation_bytes=activations * BYTES_PER_VALUE * self.batch_size,
            trainable_params=trainable,
            non_trainable_params=non_trainable,
            macs=layer_macs(layer, inputs, outputs),
        )

    def _new_params(self, weights) -> int:
        total = 0
        for weight in weights:
            if id(weight) not in self.seen_weights:
                self.seen_weights.add(id(weight))
                total += math.prod(weight.shape)
        return total


def _dtype_name(dtype) -> str:
    import keras

    return keras.backend.standardize_dtype(dtype)


def _shape_json(shapes):
    """One shape as a list; several as a list of lists."""
    as_lists = [list(s) for s in shapes]
    return as_lists[0] if len(as_lists) == 1 else as_lists


__all__ = [
    "LayerRow",
    "ModelSummary",
    "summarize",
    "shapes_only",
    "summarize_zoo",
    "zoo_listing",
    "layer_macs",
    "format_count",
    "format_bytes",
    "format_shapes",
    "INPUT",
    "COMPUTED",
    "IN_PLACE",
    "VIEW",
]

"""Which int8 recipe an export uses, chosen from the CPU's instruction set and recorded in the manifest.

onnxruntime's x86 integer GEMM (MLAS) multiplies uint8 activations by int8 weights
(``U8S8``). How the products are summed depends on the CPU (Intel's and AMD's
instruction set references; onnxruntime's quantization guide, "When and why do
I need to try U8U8?"):

* **AVX-512 VNNI / AVX-VNNI / AMX-INT8**: ``vpdpbusd`` (or a tile multiply) adds
  four uint8 x int8 products straight into int32: full 8-bit weights are exact,
  so ``reduce_range`` is off.
* **AVX2 / AVX-512 without VNNI**: ``vpmaddubsw`` adds pairs of products into a
  *saturating* int16 first. 255 x 127 x 2 overflows it: 8-bit weights lost
  MobileNetV2 to 84.8 % top-1 agreement there; 7-bit weights (``reduce_range``)
  cannot overflow and cost no speed.

An artifact made with 8-bit weights on a VNNI CPU runs everywhere but is only
exact on VNNI CPUs: the manifest says which CPU the recipe was chosen for
(``chosen_for``) and whether it is exact on every x86 CPU (``portable``). Pass
``--int8 reduce_range=true`` for an export that must run on any x86 CPU.

Everything else is the same on both: QDQ format (onnxruntime's recommended
representation; its CPU provider fuses it into ``QLinearConv``/``QGemm`` and
runs the quantised convolutions in NHWC), uint8 activations (int8 activations
leave the residual ``Add``s unfused and 31 layout ``Transpose``s in MobileNetV2),
per-channel weights (per-tensor weights collapse MobileNetV2: BatchNorm folded
into depthwise filters spreads channel ranges over orders of magnitude), MinMax
calibration after ``quant_pre_process``. ``exports/README.md`` has the measured
table behind each choice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace

from kerascnn.core.errors import UsageError, unknown_name_message

#: CPU flags whose integer dot-product instructions accumulate uint8 x int8 straight into int32.
INT32_DOT_PRODUCT_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")

_BOOLEANS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}


@dataclass(frozen=True)
class Int8Settings:
    """The onnxruntime static-quantisation recipe (``onnxruntime.quantization.quantize_static`` arguments).

    Attributes:
        format: ``"qdq"`` (QuantizeLinear/DequantizeLinear pairs) or ``"qoperator"`` (QLinearConv ...).
        activations: ``"uint8"`` or ``"int8"``.
        weights: ``"int8"`` or ``"uint8"``.
        per_channel: one weight scale per output channel.
        reduce_range: 7-bit weights (exact on CPUs without a VNNI dot product).
        chosen_for: the CPU flags the recipe was chosen from (``[]``: not chosen from a CPU).
    """

    format: str = "qdq"
    activations: str = "uint8"
    weights: str = "int8"
    per_channel: bool = True
    reduce_range: bool = True
    chosen_for: tuple[str, ...] = ()

    @property
    def portable(self) -> bool:
        """Exact on every x86 CPU: 7-bit weights, or not the uint8 x int8 pair that saturates without VNNI."""
        return self.reduce_range or (self.activations, self.weights) != ("uint8", "int8")

    def quantize_static_arguments(self) -> dict:
        """Keyword arguments for ``onnxruntime.quantization.quantize_static``."""
        from onnxruntime.quantization import QuantFormat, QuantType

        types = {"uint8": QuantType.QUInt8, "int8": QuantType.QInt8}
        return {
            "quant_format": QuantFormat.QDQ if self.format == "qdq" else QuantFormat.QOperator,
            "activation_type": types[self.activations],
            "weight_type": types[self.weights],
            "per_channel": self.per_channel,
            "reduce_range": self.reduce_range,
        }

    def to_manifest(self) -> dict:
        """The ``settings`` entries the manifest records for this recipe."""
        record = asdict(self)
        record["format"] = self.format.upper() if self.format == "qdq" else "QOperator"
        record["weights"] = (
            f"{self.weights} {'per-channel' if self.per_channel else 'per-tensor'}, "
            f"{'7-bit' if self.reduce_range else '8-bit'} range"
        )
        record["chosen_for"] = list(self.chosen_for)
        record["portable"] = self.portable
        return record


#: The settings users may override with ``--int8 KEY=VALUE``: key -> allowed values (None: a boolean).
OPTIONS = {
    "format": ("qdq", "qoperator"),
    "activations": ("uint8", "int8"),
    "weights": ("int8", "uint8"),
    "per_channel": None,
    "reduce_range": None,
}


def for_cpu(flags: Iterable[str]) -> Int8Settings:
    """The recipe for a CPU with these ``/proc/cpuinfo`` flags (see the module docstring)."""
    flags = tuple(sorted(set(flags)))
    dot_product = any(flag in flags for flag in INT32_DOT_PRODUCT_FLAGS)
    shown = tuple(flag for flag in flags if flag in (*INT32_DOT_PRODUCT_FLAGS, "avx2", "avx512f", "avx512bw"))
    return Int8Settings(reduce_range=not dot_product, chosen_for=shown)


def this_cpu() -> Int8Settings:
    """The recipe for the CPU this process runs on."""
    from kerascnn.bench.machine import cpu_info

    return for_cpu(cpu_info()[1])


def parse_overrides(items: Sequence[str] | None) -> dict:
    """``["reduce_range=true", "format=qoperator"]`` -> ``{"reduce_range": True, "format": "qoperator"}``.

    Raises:
        UsageError: an unknown key (with a did-you-mean) or value, or an item without ``=``.
    """
    overrides: dict = {}
    for item in items or ():
        key, sep, value = str(item).partition("=")
        key, value = key.strip().replace("-", "_"), value.strip().lower()
        if not sep or not key:
            raise UsageError(f"--int8 takes KEY=VALUE (keys: {', '.join(OPTIONS)}). Received: {item!r}")
        if key not in OPTIONS:
            raise UsageError(unknown_name_message("int8 option", key, OPTIONS))
        allowed = OPTIONS[key]
        if allowed is None:
            if value not in _BOOLEANS:
                raise UsageError(f"--int8 {key} takes true or false. Received: {value!r}")
            overrides[key] = _BOOLEANS[value]
        elif value not in allowed:
            raise UsageError(f"--int8 {key} takes {' or '.join(allowed)}. Received: {value!r}")
        else:
            overrides[key] = value
    return overrides


def choose(overrides: dict | None = None, flags: Iterable[str] | None = None) -> Int8Settings:
    """The recipe for ``flags`` (default: this CPU's) with the user's ``overrides`` applied."""
    settings = this_cpu() if flags is None else for_cpu(flags)
    return replace(settings, **(overrides or {}))


__all__ = ["Int8Settings", "OPTIONS", "INT32_DOT_PRODUCT_FLAGS", "for_cpu", "this_cpu", "parse_overrides", "choose"]

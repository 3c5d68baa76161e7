"""The model zoo: a registry of classic CNN builders, one module per family.

    >>> from kerascnn import models
    >>> models.names()[:3]
    ['lenet5', 'alexnet', 'zfnet']
    >>> model = models.build("vgg16", classes=10, input_shape=(64, 64, 3))

Each family module (``lenet.py``, ``vgg.py``, ...) registers its builders with
:func:`register`. Builders follow the ``keras.applications`` conventions:
``include_top``, ``input_shape``, ``pooling``, ``classes``,
``classifier_activation``, ``name``, plus family options, and raise
``ValueError("... Received: ...")`` on bad arguments.

Later families (metric learning, text, volumetric) register the same way with a
different ``task``; nothing here needs to change.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import keras

from kerascnn.core.errors import UsageError


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about one model name."""

    name: str
    builder: Callable[..., keras.Model]
    family: str
    paper: str
    year: int
    default_input_shape: tuple[int, ...]
    task: str = "classification"  # "classification" | "embedding" | later: "text", "volumetric"
    fixed_kwargs: dict = field(default_factory=dict)  # e.g. {"depth": 16} for vgg16
    description: str = ""

    def options(self) -> list[str]:
        """Keyword arguments a user may pass to :func:`build` for this model."""
        params = inspect.signature(self.builder).parameters
        return [p for p in params if p not in self.fixed_kwargs]


_REGISTRY: dict[str, ModelSpec] = {}

# Family modules, imported once on first use; each calls register() at import.
_FAMILY_MODULES = (
    "lenet",
    "alexnet",
    "vgg",
    "nin",
    "inception",
    "resnet",
    "densenet",
    "senet",
    "squeezenet",
    "mobilenet",
    "facenet",
)
_loaded = False


def register(
    name: str,
    builder: Callable[..., keras.Model],
    *,
    family: str,
    paper: str,
    year: int,
    default_input_shape: tuple[int, ...],
    task: str = "classification",
    description: str = "",
    **fixed_kwargs,
) -> None:
    """Add ``name`` to the zoo. ``fixed_kwargs`` are bound (``register("vgg16", vgg, depth=16)``)."""
    if name in _REGISTRY:
        raise RuntimeError(f"Model name {name!r} registered twice.")
    _REGISTRY[name] = ModelSpec(
        name=name,
        builder=builder,
        family=family,
        paper=paper,
        year=year,
        default_input_shape=tuple(default_input_shape),
        task=task,
        fixed_kwargs=dict(fixed_kwargs),
        description=description,
    )


def _load_families() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in _FAMILY_MODULES:
            importlib.import_module(f"kerascnn.models.{module}")


def names(task: str | None = None) -> list[str]:
    """Every registered model name, in registration (lecture) order."""
    _load_families()
    return [n for n, s in _REGISTRY.items() if task is None or s.task == task]


def get_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` for ``name``; unknown names suggest the closest ones."""
    _load_families()
    if name not in _REGISTRY:
        raise UsageError(unknown_name_message("model", name, list(_REGISTRY)))
    return _REGISTRY[name]


def build(name: str, **kwargs) -> keras.Model:
    """Build the model registered as ``name`` with the builder's keyword arguments.

    Raises:
        ValueError: unknown model name (with the closest matches), an argument the
            builder does not take (with the ones it does), or a bad value.
    """
    spec = get_spec(name)
    allowed = spec.options()
    unknown = [k for k in kwargs if k not in allowed]
    if unknown:
        raise UsageError(
            f"Model {name!r} does not take the argument {unknown[0]!r}. "
            f"Allowed: {', '.join(allowed)}."
        )
    return spec.builder(**spec.fixed_kwargs, **kwargs)


def unknown_name_message(kind: str, name: str, valid: list[str]) -> str:
    """``Unknown model 'vgg61'. Did you mean: vgg16? Valid: ...`` (one line)."""
    close = difflib.get_close_matches(name, valid, n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return f"Unknown {kind} {name!r}.{hint} Valid {kind}s: {', '.join(valid)}."


__all__ = ["ModelSpec", "register", "names", "get_spec", "build", "unknown_name_message"]

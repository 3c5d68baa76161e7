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
different ``task`` (:mod:`kerascnn.tasks`); nothing here needs to change.

Importing this package imports no Keras: a family module declares the names it
registers in a module-level ``NAMES`` tuple, read from its source, so a mistyped
name is answered (with the closest names) before TensorFlow is loaded.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from kerascnn.core.errors import UsageError, unknown_name_message


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about one model name."""

    name: str
    builder: Callable[..., "keras.Model"]
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
    "voxnet",
    "c3d",
    "r3d",
    "kim_cnn",
    "siamese",
)
_loaded = False


def register(
    name: str,
    builder: Callable[..., "keras.Model"],
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
    declared = getattr(sys.modules.get(builder.__module__), "NAMES", None)
    if builder.__module__.startswith(f"{__name__}.") and name not in (declared or ()):
        raise RuntimeError(f"{builder.__module__} registers {name!r} but does not declare it in NAMES.")
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
        from kerascnn.core.quiet import import_tensorflow_quietly

        import_tensorflow_quietly()
        _loaded = True
        for module in _FAMILY_MODULES:
            importlib.import_module(f"kerascnn.models.{module}")


@lru_cache(maxsize=None)
def declared_names() -> tuple[str, ...]:
    """The zoo's names, read from the family modules' ``NAMES`` without importing them (no Keras)."""
    found: list[str] = []
    for module in _FAMILY_MODULES:
        tree = ast.parse(Path(__file__).with_name(f"{module}.py").read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "NAMES" for t in node.targets):
                found += ast.literal_eval(node.value)
    return tuple(found)


def check_name(name: str) -> None:
    """Raise the one-line "Unknown model ... Did you mean" error for a name no family declares.

    Cheap (no Keras): commands call it before loading TensorFlow. Names registered
    at run time by user code are accepted once registered.
    """
    if name not in _REGISTRY and name not in declared_names():
        raise UsageError(unknown_name_message("model", name, [*declared_names(), *_REGISTRY]))


def names(task: str | None = None) -> list[str]:
    """Every registered model name, in registration (lecture) order."""
    _load_families()
    return [n for n, s in _REGISTRY.items() if task is None or s.task == task]


def get_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` for ``name``; unknown names suggest the closest ones."""
    check_name(name)
    _load_families()
    if name not in _REGISTRY:
        raise UsageError(unknown_name_message("model", name, list(_REGISTRY)))
    return _REGISTRY[name]


def build(name: str, **kwargs) -> "keras.Model":
    """Build the model registered as ``name`` with the builder's keyword arguments.

    Raises:
        ValueError: unknown model name (with the closest matches), an argument the
            builder does not take (with the ones it does), or a bad value.
    """
    spec = get_spec(name)
    allowed = spec.options()
    unknown = [k for k in kwargs if k not in allowed]
    if "weights" in unknown and kwargs["weights"] is not None:
        from kerascnn.models.transfer import reference_for

        reference_for(name)  # names the models that have published weights
    if unknown:
        raise UsageError(
            f"Model {name!r} does not take the argument {unknown[0]!r}. "
            f"Allowed: {', '.join(allowed)}."
        )
    return spec.builder(**spec.fixed_kwargs, **kwargs)


__all__ = ["ModelSpec", "register", "names", "declared_names", "check_name", "get_spec", "build", "unknown_name_message"]

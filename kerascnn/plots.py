"""Matplotlib figures written to PNG files (Agg backend, no display needed).

Every plot goes through :func:`save_figure`, which writes atomically.
"""

from __future__ import annotations

import os

from kerascnn.files import atomic_save_path


def new_figure(*args, **kwargs):
    """``plt.subplots`` on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> str:
    """Save ``fig`` as PNG to ``path`` atomically and close it. Returns the path."""
    import matplotlib.pyplot as plt

    with atomic_save_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return os.fspath(path)

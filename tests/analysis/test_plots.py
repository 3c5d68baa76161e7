"""kerascnn.analysis.plots and ``kerascnn schedule``: PNGs written atomically, bad input refused."""

from __future__ import annotations

import math

import pytest

from kerascnn import cli

from kerascnn.analysis import plots
from kerascnn.core.errors import UsageError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

HISTORY = {
    "loss": [1.2, 0.6, 0.4, 0.35],
    "val_loss": [1.0, 0.7, 0.5, 0.55],
    "accuracy": [0.6, 0.8, 0.88, 0.9],
    "val_accuracy": [0.65, 0.78, 0.84, 0.83],
    "lr": [0.1, 0.1, 0.01, 0.001],
}


def assert_png(path):
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 2000
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []  # no temp file left


@pytest.mark.parametrize(
    "draw",
    [
        lambda p: plots.plot_curves(HISTORY, p, title="LeNet-5 on digits"),
        lambda p: plots.plot_curves({"loss": [1.0, float("nan"), float("inf")]}, p),  # loss only, NaN gap
        lambda p: plots.plot_lr(HISTORY, p),
        lambda p: plots.plot_lr([0.1 * 0.99**i for i in range(300)], p),
        lambda p: plots.plot_schedule({"a": [0.1] * 50, "b": [0.1 * i / 50 for i in range(50)]}, p,
                                      steps_per_epoch=10, log=True),
        lambda p: plots.plot_lr_find([1e-5 * 1.2**i for i in range(60)], [2 - math.tanh(i / 20) for i in range(60)],
                                     1e-3, p, raw_losses=[2.0] * 60),
        lambda p: plots.plot_bars(["keras", "tflite int8", "onnx"], [12.5, 1.7, 4.2], p, xlabel="ms", title="latency"),
        lambda p: plots.plot_xy([3e8, 6e8, 1.5e9], {"onnxruntime": [4, 8, 20], "tflite": [3, 7, 22]}, p,
                                labels=["mobilenet_v2", "resnet18", "vgg11"], xlabel="MACs", ylabel="ms",
                                logx=True, line=True),
        lambda p: plots.plot_xy([1, 2, 3], [3, 1, 2], p),
    ],
    ids=["curves", "curves-loss-only", "lr-history", "lr-steps", "schedule", "lr-find", "bars", "xy-series", "xy"],
)
def test_plots_write_png(tmp_path, draw):
    path = tmp_path / "out" / "figure.png"
    assert draw(path) == str(path)
    assert_png(path)


@pytest.mark.parametrize(
    "draw, message",
    [
        (lambda p: plots.plot_curves({"accuracy": [0.5]}, p), "no 'loss'"),
        (lambda p: plots.plot_lr({"loss": [1.0]}, p), "LearningRateLogger"),
        (lambda p: plots.plot_lr([], p), "empty"),
        (lambda p: plots.plot_bars(["a", "b"], [1.0], p), "differ in length"),
        (lambda p: plots.plot_xy([1, 2], [1, "x"], p), "numbers"),
        (lambda p: plots.plot_lr_find([1e-3, 1e-2], [1.0], None, p), "differ in length"),
        (lambda p: plots.plot_schedule({}, p), "No schedule"),
    ],
)
def test_bad_input_keeps_the_old_file(tmp_path, draw, message):
    path = tmp_path / "figure.png"
    path.write_bytes(b"old")
    with pytest.raises(UsageError, match=message):
        draw(path)
    assert path.read_bytes() == b"old"


def test_schedule_plot_command(tmp_path, capsys):
    out = tmp_path / "lr.png"
    status = cli.main(["schedule", "plot", "cosine:warmup=1", "step", "triangular2", "--lr", "0.05",
                       "--epochs", "6", "--steps-per-epoch", "20", "--out", str(out)])
    assert status == 0
    assert_png(out)
    printed = capsys.readouterr().out
    assert "cosine:warmup=1,min=0: lr 0 at step 0, max 0.05" in printed
    assert f"wrote {out}" in printed


@pytest.mark.parametrize(
    "argv, message",
    [
        (["cosnie"], "Unknown schedule 'cosnie'. Did you mean: cosine?"),
        (["step:factor=3"], "must be a number in (0, 1]"),
        (["plateau"], "cannot be drawn ahead"),
        (["cosine:warmup=9", "--epochs", "3"], "warm-up must be shorter"),
    ],
)
def test_schedule_plot_bad_input_is_one_line_exit_2(tmp_path, capsys, argv, message):
    out = tmp_path / "lr.png"
    assert cli.main(["schedule", "plot", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("kerascnn schedule: error:") and message in err
    assert len(err.splitlines()) == 1
    assert not out.exists()


def test_schedule_plot_rejects_a_bad_number_via_argparse(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["schedule", "plot", "step", "--lr", "-1"])
    assert info.value.code == 2
    assert "expected a positive number" in capsys.readouterr().err


def test_schedule_list_command(capsys):
    assert cli.main(["schedule", "list"]) == 0
    printed = capsys.readouterr().out
    for name in ("constant", "step", "exponential", "inverse-time", "cosine", "cyclical", "plateau"):
        assert f"\n{name}" in printed


def test_curves_mark_the_epoch_best_keras_keeps(tmp_path, monkeypatch):
    # best.keras keeps the highest validation accuracy (epoch 3), not the lowest validation loss (epoch 2).
    history = {"loss": [1.0, 0.6, 0.5], "val_loss": [0.9, 0.5, 0.6],
               "accuracy": [0.6, 0.8, 0.9], "val_accuracy": [0.7, 0.8, 0.85]}
    legends = []
    save = plots.save_figure

    def capture(fig, path):
        legends.extend(text.get_text() for legend in fig.legends for text in legend.get_texts())
        return save(fig, path)

    monkeypatch.setattr(plots, "save_figure", capture)
    plots.plot_curves(history, tmp_path / "curves.png")
    assert [t for t in legends if t.startswith("best")] == ["best validation accuracy (epoch 3)"]
    legends.clear()
    plots.plot_curves({"loss": history["loss"], "val_loss": history["val_loss"]}, tmp_path / "loss.png")
    assert [t for t in legends if t.startswith("best")] == ["best validation loss (epoch 2)"]


def _drawn_figures(monkeypatch):
    """Keep every figure ``save_figure`` writes (drawn, not closed) for inspection."""
    figures = []
    save = plots.save_figure

    def keep(fig, path, dpi=120):
        fig.canvas.draw()
        figures.append(fig)
        import matplotlib.pyplot as plt

        with monkeypatch.context() as m:
            m.setattr(plt, "close", lambda *_: None)
            return save(fig, path, dpi)

    monkeypatch.setattr(plots, "save_figure", keep)
    return figures


@pytest.mark.parametrize(
    "draw",
    [
        lambda p: plots.plot_curves(HISTORY, p, monitor=("accuracy", "max")),
        lambda p: plots.plot_schedule({"cosine": [0.1 * (1 - i / 50) for i in range(50)], "constant": [0.1] * 50}, p),
        lambda p: plots.plot_lr_find([1e-5 * 1.2**i for i in range(60)], [2 - math.tanh(i / 20) for i in range(60)],
                                     1e-3, p, raw_losses=[2.0] * 60),
    ],
    ids=["curves", "schedule", "lr-find"],
)
def test_legends_do_not_cover_the_curves(tmp_path, monkeypatch, draw):
    """Issue 8: legends sat on the data (``loc="best"``); now one figure legend below the axes."""
    figures = _drawn_figures(monkeypatch)
    draw(tmp_path / "figure.png")
    (fig,) = figures
    assert fig.legends and all(ax.get_legend() is None for ax in fig.axes)
    legend = fig.legends[0].get_window_extent()
    for ax in fig.axes:
        assert not legend.overlaps(ax.get_window_extent()), "the legend covers an axes"


def test_curves_mark_the_best_epoch_by_the_monitor(tmp_path, monkeypatch):
    figures = _drawn_figures(monkeypatch)
    plots.plot_curves(HISTORY, tmp_path / "acc.png", monitor=("accuracy", "max"))
    plots.plot_curves(HISTORY, tmp_path / "loss.png", monitor=("loss", "min"))
    labels = [[t.get_text() for t in fig.legends[0].get_texts()] for fig in figures]
    assert "best validation accuracy (epoch 3)" in labels[0]  # val_accuracy peaks at 0.84 in epoch 3
    assert "best validation loss (epoch 3)" in labels[1]  # val_loss is lowest (0.5) in epoch 3
    assert len(figures[1].axes) == 1  # a loss-monitored task: no accuracy panel

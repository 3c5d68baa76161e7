"""Training: config -> tf.data -> compile -> fit -> run directory.

    >>> from kerascnn.training.trainer import train
    >>> result = train("lenet5", "digits", epochs=2, run_dir="runs/demo", seed=0, quiet=True)
    >>> result.metrics["test_accuracy"], result.run_dir
    (0.93..., PosixPath('runs/demo'))

One function serves the ``kerascnn train`` command, the ``apps/`` scripts and
other code (the quickstart, exercises). The options are those of
:class:`kerascnn.training.config.TrainConfig`; the run directory layout is in
:mod:`kerascnn.training.rundir`.

What happens, in order (nothing is written until every check has passed):

1. options checked, the ``tf.distribute`` strategy made (``--cpu-devices`` first),
   seeds set and op determinism turned on;
2. the data set loaded (raw uint8 pixels), a stratified seeded validation split held out;
3. the run directory checked (new and empty, or ``resume`` of the same config);
4. the model built inside ``strategy.scope()``: raw-pixel preprocessing + the zoo
   backbone (:mod:`kerascnn.training.modeling`), the optimizer with its LR schedule;
5. ``model.fit`` with TerminateOnNaN, BackupAndRestore, best-checkpoint, CSVLogger,
   TensorBoard, the LR logger and optional early stopping / reduce-on-plateau
   (multi-worker: :mod:`kerascnn.training.custom_loop`);
6. test evaluation, the loss-curve diagnosis, ``model.keras``, ``metrics.json`` and
   the plots, each written atomically.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras

from kerascnn.core.errors import UsageError
from kerascnn.core.files import atomic_save_path, atomic_write_json
from kerascnn.training.config import OPTIMIZERS, TrainConfig, versions
from kerascnn.training.rundir import (
    RunDir,
    check_run_dir,
    completed_epochs,
    default_run_dir,
    read_history,
    trim_history,
    write_history,
)


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        run_dir: the run directory (``None`` on a non-chief multi-worker process).
        metrics: the content of ``metrics.json``.
        model: the trained ``keras.Model`` (takes raw pixels).
        history: ``{metric: [value per epoch]}`` over the whole run (resumes included).
    """

    run_dir: Path | None
    metrics: dict
    model: object
    history: dict = field(default_factory=dict)

    def summary(self) -> str:
        """The one-line result the ``train`` command prints."""
        m = self.metrics
        where = f" -> {self.run_dir}" if self.run_dir else ""
        replicas = f", {m['replicas']} replicas" if m["replicas"] > 1 else ""
        return (
            f"{m['model']} on {m['dataset']}: test accuracy {m['test_accuracy']:.2%} "
            f"(loss {m['test_loss']:.4f}) after {m['epochs_completed']} epochs, "
            f"{m['train_seconds']:.1f} s{replicas}; diagnosis: {m['diagnosis']['verdict']}{where}"
        )


def train(model_name: str, dataset="digits", *, run_dir=None, resume: bool = False, callbacks=(), **options) -> TrainResult:
    """Train a zoo model on a data set and write a run directory.

    Args:
        model_name: zoo name, e.g. ``"lenet5"`` (``kerascnn.models.names()``).
        dataset: data set name (``"digits"``, ``"mnist"``, ``"folder:PATH"`` ...) or an
            already loaded :class:`kerascnn.data.base.ImageDataset`.
        run_dir: output folder; default ``runs/<model>-<dataset>-<time>``. Must be
            new or empty unless ``resume``.
        resume: continue the unfinished run in ``run_dir`` (same configuration) from
            its last finished epoch; a missing or empty ``run_dir`` starts fresh.
        callbacks: extra Keras callbacks (after the built-in ones; ``fit`` path only).
        **options: :class:`~kerascnn.training.config.TrainConfig` fields: ``epochs``,
            ``batch_size``, ``optimizer``, ``lr``, ``schedule``, ``augment``,
            ``weight_decay``, ``l1``, ``validation_split``, ``early_stopping``, ``seed``,
            ``strategy``, ``cpu_devices``, ``init_from``, ``freeze``, ``weights``,
            ``data_dir``, ``quiet`` ...

    Returns:
        A :class:`TrainResult`.

    Raises:
        ValueError (``UsageError``): bad options, unknown model or data set, missing
            data, a run directory that is not empty / not writable / from another
            configuration. Nothing is written in these cases.
    """
    from kerascnn import data, models

    loaded = dataset if not isinstance(dataset, str) else None
    config = TrainConfig.from_options(model_name, loaded.name if loaded else dataset, **options)
    models.get_spec(config.model)  # unknown model: one line with the valid names
    if config.strategy == "multiworker" and resume:
        raise UsageError("--resume is not supported with --strategy multiworker; restart the run instead.")

    from kerascnn.training import distribute

    strategy = distribute.make_strategy(config.strategy, config.cpu_devices)
    chief = distribute.is_chief() if config.strategy == "multiworker" else True

    from kerascnn.training.seeding import set_global_seed

    set_global_seed(config.seed, deterministic=config.deterministic)

    if loaded is None:
        loaded = data.load(config.dataset, config.data_dir, download=config.download)
    record = {"train": config.to_dict(), "command": config.command_line(), "versions": versions()}
    record["data"] = {"source": loaded.source, "input_shape": list(loaded.input_shape), "classes": loaded.class_names}

    requested = Path(run_dir) if run_dir is not None else default_run_dir(config.model, config.dataset)
    scratch = None
    if chief:
        run = check_run_dir(requested, config.comparable(), resume=resume)
    else:  # non-chief workers write to a scratch folder that is removed at the end
        scratch = Path(tempfile.mkdtemp(prefix=f"kerascnn-{distribute.task_label()}-"))
        run = RunDir(scratch)
    try:
        return _train(config, loaded, run, strategy, record, chief=chief, resume=resume, extra_callbacks=callbacks)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _split_validation(dataset, fraction: float, seed: int):
    from kerascnn.data.base import stratified_split

    x, y = dataset.x_train, dataset.y_train
    if not fraction:
        return (x, y), None
    train_index, val_index = stratified_split(y, fraction, seed)
    return (x[train_index], y[train_index]), (x[val_index], y[val_index])


def make_optimizer(config: TrainConfig, learning_rate):
    """The Keras optimizer for ``config.optimizer`` (AdamW: decoupled ``weight_decay``)."""
    import keras

    class_name, fixed, _ = OPTIMIZERS[config.optimizer]
    kwargs = dict(fixed)
    if config.optimizer == "adamw":
        kwargs["weight_decay"] = config.weight_decay
    optimizer = getattr(keras.optimizers, class_name)(learning_rate=learning_rate, **kwargs)
    if config.optimizer == "adamw":
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


def compile_model(config: TrainConfig, dataset, x_train, learning_rate):
    """The compiled training model for ``config`` (call inside ``strategy.scope()``).

    Preprocessing statistics come from ``x_train`` (the training images after the
    validation split); ``learning_rate`` is a float or a schedule.
    """
    from kerascnn.training.modeling import build_training_model, channel_statistics

    mean, variance = channel_statistics(x_train)
    model = build_training_model(
        config.model,
        image_shape=dataset.input_shape,
        num_classes=dataset.num_classes,
        mean=mean,
        variance=variance,
        input_size=config.input_size,
        model_kwargs=config.model_kwargs,
        init_from=config.init_from,
        new_head=config.new_head,
        freeze=config.freeze,
        weights=config.weights,
        weight_decay=0.0 if config.optimizer == "adamw" else config.weight_decay,
        l1=config.l1,
        name=f"{config.model}_{dataset.name}".replace(":", "_").replace("/", "_"),
    )
    model.compile(
        optimizer=make_optimizer(config, learning_rate), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def _train(config: TrainConfig, dataset, run: RunDir, strategy, record: dict, *, chief, resume, extra_callbacks):
    from kerascnn import data
    from kerascnn.training import distribute
    from kerascnn.training import schedules

    (x_train, y_train), validation = _split_validation(dataset, config.validation_split, config.seed)
    if len(x_train) == 0:
        raise UsageError(f"Dataset {dataset.name!r} has no training images.")
    batches = math.ceil(len(x_train) / config.batch_size)
    steps_per_epoch = min(batches, config.steps_per_epoch or batches)

    train_ds = data.pipeline(
        x_train, y_train, batch_size=config.batch_size, shuffle=True, seed=config.seed, augment=config.augment
    )
    if config.steps_per_epoch:
        train_ds = train_ds.take(steps_per_epoch)
    val_ds = None
    if validation is not None:
        val_ds = data.pipeline(*validation, batch_size=config.batch_size, shuffle=False, seed=config.seed)
    test_ds = data.pipeline(dataset.x_test, dataset.y_test, batch_size=config.batch_size, shuffle=False, seed=config.seed)

    learning_rate = schedules.build(
        config.schedule, initial_lr=config.learning_rate, steps_per_epoch=steps_per_epoch, epochs=config.epochs
    )
    record["schedule"] = schedules.format_spec(*schedules.resolve(config.schedule, epochs=config.epochs))
    with strategy.scope():
        model = compile_model(config, dataset, x_train, learning_rate)
    optimizer = model.optimizer

    replicas = distribute.num_replicas(strategy)
    if chief:
        run.path.mkdir(parents=True, exist_ok=True)
        if not (resume and run.config.is_file()):
            atomic_write_json(run.config, record)
    start_epoch = completed_epochs(run) if resume else 0
    if resume:
        trim_history(run, start_epoch)

    verbose = 0 if config.quiet else 1
    started = time.perf_counter()
    so_far: dict[str, list[float]] = {}  # the custom loop's history (fit writes history.csv)
    if config.strategy == "multiworker":
        from kerascnn.training import custom_loop

        def save_history(epoch, logs):
            for key, value in logs.items():
                so_far.setdefault(key, []).append(value)
            if chief:
                write_history(run.history, so_far)

        with strategy.scope():
            optimizer.build(model.trainable_variables)
        custom_loop.fit(
            strategy,
            model,
            optimizer,
            train_ds,
            epochs=config.epochs,
            validation_dataset=val_ds,
            on_epoch_end=save_history,
            verbose=not config.quiet,
        )
        _, eval_step = custom_loop.make_steps(strategy, model, optimizer)
        test = custom_loop.evaluate(strategy, eval_step, test_ds)
        test_loss, test_accuracy = test["loss"], test["accuracy"]
    else:
        callbacks = _callbacks(config, run, has_validation=val_ds is not None) + list(extra_callbacks)
        model.fit(
            train_ds,
            epochs=config.epochs,
            validation_data=val_ds,
            callbacks=callbacks,
            shuffle=False,  # the tf.data pipeline shuffles, with the seed
            verbose=verbose,
        )
        scores = model.evaluate(test_ds, verbose=0, return_dict=True)
        test_loss, test_accuracy = float(scores["loss"]), float(scores["accuracy"])
    session_seconds = time.perf_counter() - started

    history = read_history(run.history) if chief else so_far
    counts = {"train_samples": len(x_train), "validation_samples": len(validation[0]) if validation else 0,
              "test_samples": len(dataset.x_test)}
    metrics = _metrics(config, dataset, model, history, test_loss, test_accuracy, replicas, session_seconds,
                       start_epoch, counts, record["schedule"])
    if chief:
        _write_outputs(run, model, history, metrics)
    result = TrainResult(run.path if chief else None, metrics, model, history)
    return result


class EpochTimer(keras.callbacks.Callback):
    """Add ``epoch_seconds`` to the epoch logs, so history.csv sums to the train time across resumes."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


def tensorboard_available() -> bool:
    """TensorFlow's summaries need the ``tensorboard`` package (an optional dependency of TF 2.21)."""
    import importlib.util

    return importlib.util.find_spec("tensorboard") is not None


def _callbacks(config: TrainConfig, run: RunDir, *, has_validation: bool) -> list:
    import keras

    from kerascnn.training import callbacks as kcallbacks
    from kerascnn.training import schedules

    monitor_accuracy = "val_accuracy" if has_validation else "accuracy"
    monitor_loss = "val_loss" if has_validation else "loss"
    out = [keras.callbacks.TerminateOnNaN(), EpochTimer()]
    if schedules.is_callback(config.schedule):
        _, params = schedules.parse(config.schedule)
        if not has_validation and "monitor" not in params:
            params["monitor"] = "loss"
        out.append(schedules.plateau_callback(params, initial_lr=config.learning_rate, verbose=0 if config.quiet else 1))
    out.append(kcallbacks.LearningRateLogger())
    if config.early_stopping:
        out.append(keras.callbacks.EarlyStopping(monitor=monitor_loss, patience=config.early_stopping))
    if tensorboard_available():
        out.append(keras.callbacks.TensorBoard(log_dir=str(run.logs), write_graph=False))
    out += [
        keras.callbacks.ModelCheckpoint(run.best, monitor=monitor_accuracy, mode="max", save_best_only=True),
        keras.callbacks.CSVLogger(str(run.history), append=True),
        # Last, so a kill between the CSV row and the backup leaves a row that resume trims.
        keras.callbacks.BackupAndRestore(str(run.backup), double_checkpoint=True),
    ]
    return out


def _metrics(config, dataset, model, history, test_loss, test_accuracy, replicas, session_seconds, start_epoch,
             counts, schedule) -> dict:
    import numpy as np

    from kerascnn.training import callbacks as kcallbacks

    epochs_done = len(history.get("loss", []))
    seconds = history.get("epoch_seconds")
    train_seconds = float(np.nansum(seconds)) if seconds else session_seconds
    best_epoch = best_val = None
    if history.get("val_accuracy"):
        best_epoch = int(np.nanargmax(history["val_accuracy"]))
        best_val = float(history["val_accuracy"][best_epoch])
    trainable = int(sum(np.prod(v.shape) for v in model.trainable_weights))
    total = int(sum(np.prod(v.shape) for v in model.weights))
    final = {k: v[-1] for k, v in history.items() if v and k != "epoch_seconds"}
    return {
        "model": config.model,
        "dataset": config.dataset,
        "test_accuracy": float(test_accuracy),
        "test_loss": float(test_loss),
        "epochs_completed": epochs_done,
        "epochs_requested": config.epochs,
        "stopped_early": epochs_done < config.epochs,
        "resumed_at_epoch": start_epoch if start_epoch else None,
        "replicas": replicas,
        "strategy": config.strategy,
        "schedule": schedule,
        "train_seconds": round(train_seconds, 3),
        "seconds_per_epoch": round(train_seconds / epochs_done, 3) if epochs_done else None,
        "best_epoch": best_epoch + 1 if best_epoch is not None else None,
        "best_val_accuracy": best_val,
        "final": final,
        **counts,
        "input_shape": list(dataset.input_shape),
        "params": {"trainable": trainable, "total": total},
        "diagnosis": kcallbacks.diagnose_history(history),
    }


def _write_outputs(run: RunDir, model, history: dict, metrics: dict) -> None:
    from kerascnn.analysis import plots

    with atomic_save_path(run.model) as tmp:
        model.save(tmp)
    if history:
        plots.plot_curves(history, run.curves, title=f"{metrics['model']} on {metrics['dataset']}")
        if "lr" in history:
            plots.plot_lr(history, run.lr_plot, title=f"learning rate ({metrics['schedule']})")
    atomic_write_json(run.metrics, metrics)  # last: its presence marks a finished run


def lr_find(
    model_name: str,
    dataset="digits",
    *,
    out=None,
    min_lr: float = 1e-6,
    max_lr: float = 10.0,
    steps: int = 100,
    method: str = "steepest",
    **options,
) -> dict:
    """LR range test (Smith 2017) for the model and data a :func:`train` call would use.

    Builds the same model, optimizer and input pipeline as ``train(model_name,
    dataset, **options)`` (augmentation included), raises the learning rate
    exponentially from ``min_lr`` to ``max_lr`` over ``steps`` batches with
    :func:`kerascnn.training.callbacks.lr_range_test`, and plots loss against LR to ``out``
    (a PNG; optional).

    Returns:
        The range-test record: ``lrs``, ``losses``, ``smoothed_losses``,
        ``suggestion`` (the LR to pass as ``lr``), ``min_loss_lr``, ``diverged`` ...
    """
    from kerascnn import data, models
    from kerascnn.training import callbacks
    from kerascnn.analysis import plots
    from kerascnn.training.seeding import set_global_seed

    loaded = dataset if not isinstance(dataset, str) else None
    config = TrainConfig.from_options(model_name, loaded.name if loaded else dataset, **options)
    models.get_spec(config.model)
    if out is not None:
        _check_output_file(out)
    set_global_seed(config.seed, deterministic=config.deterministic)
    if loaded is None:
        loaded = data.load(config.dataset, config.data_dir, download=config.download)
    (x_train, y_train), _ = _split_validation(loaded, config.validation_split, config.seed)
    pipeline = data.pipeline(
        x_train, y_train, batch_size=config.batch_size, shuffle=True, seed=config.seed, augment=config.augment
    )
    model = compile_model(config, loaded, x_train, min_lr)
    record = callbacks.lr_range_test(
        model, pipeline, min_lr=min_lr, max_lr=max_lr, steps=steps, method=method, verbose=0 if config.quiet else 1
    )
    if out is not None:
        plots.plot_lr_find(
            record["lrs"],
            [math.nan if v is None else v for v in record["smoothed_losses"]],
            record["suggestion"],
            out,
            raw_losses=record["losses"],
            title=f"LR range test: {config.model} on {config.dataset}, {config.optimizer}",
        )
    return record


def _check_output_file(path) -> None:
    """Refuse an output file whose folder cannot be written, before any work."""
    import os

    folder = Path(path).expanduser().resolve().parent
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"Cannot write {path}: {existing} is not a writable folder.")


__all__ = ["train", "lr_find", "compile_model", "make_optimizer", "TrainResult", "TrainConfig"]

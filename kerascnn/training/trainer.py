"""Training: config -> tf.data -> compile -> fit -> run directory, for any Task.

    >>> from kerascnn.training import train
    >>> result = train("lenet5", "digits", epochs=2, run_dir="runs/demo", seed=0, quiet=True)
    >>> result.metrics["test_accuracy"], result.run_dir
    (0.93..., PosixPath('runs/demo'))

One function serves the ``kerascnn train`` command, the ``apps/`` scripts and
other code (the quickstart, exercises). The options are those of
:class:`kerascnn.training.config.TrainConfig`; the run folder's files are
:class:`kerascnn.core.layout.RunLayout`'s. Everything that depends on the kind
of problem (the model's head, loss, metrics, the monitored quantity, test
evaluation, the headline) is asked of the :class:`kerascnn.tasks.Task`.

What happens, in order (nothing is written until every check has passed):

1. options checked (the schedule spec parsed once, into ``config.schedule``), the
   Task found, the ``tf.distribute`` strategy made (``--cpu-devices`` first), seeds
   set and op determinism turned on;
2. the data set loaded (raw values), a stratified seeded validation split held out, the rest
   passed through ``task.training_examples`` (e.g. rotated classes for metric learning);
3. the run directory checked (new and empty, or ``resume`` of the same config;
   a resume may raise ``epochs``);
4. the model built inside ``strategy.scope()`` by ``task.build_model``, compiled
   with ``task.loss()`` / ``task.metrics()`` and the optimizer with its LR schedule
   (``mixed_precision``: under ``mixed_float16`` or ``mixed_bfloat16``); the memory plan checked against the budget
   (:mod:`kerascnn.training.resources`);
5. ``model.fit`` with TerminateOnNaN, BackupAndRestore, the best checkpoint by
   ``task.monitor``, CSVLogger, TensorBoard, the LR logger and optional early
   stopping / reduce-on-plateau (multi-worker: :mod:`kerascnn.training.custom_loop`
   on ``task.per_example``);
6. ``task.evaluate`` on the test split, the loss-curve diagnosis, ``model.keras``,
   ``metrics.json`` and the plots, each written atomically.
"""

from __future__ import annotations

import math
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from kerascnn import tasks
from kerascnn.core.errors import UsageError
from kerascnn.core.files import atomic_save_path, atomic_write_json
from kerascnn.core.layout import RunLayout
from kerascnn.core.versions import versions
from kerascnn.training.config import TrainConfig
from kerascnn.training.optimizers import make_optimizer
from kerascnn.training.rundir import (
    check_run_dir,
    default_run_dir,
    read_history,
    read_record,
    resume_point,
    trim_history,
    write_history,
)


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        run_dir: the run directory (``None`` on a non-chief multi-worker process).
        metrics: the content of ``metrics.json``.
        model: the trained ``keras.Model`` (takes raw inputs).
        history: ``{metric: [value per epoch]}`` over the whole run (resumes included).
        task: the :class:`kerascnn.tasks.Task` trained for.
    """

    run_dir: Path | None
    metrics: dict
    model: object
    history: dict = field(default_factory=dict)
    task: tasks.Task | None = None

    def summary(self) -> str:
        """The one-line result the ``train`` command prints."""
        from kerascnn.training.diagnosis import describe

        m = self.metrics
        task = self.task or tasks.get(m.get("task"))
        where = f" -> {self.run_dir}" if self.run_dir else ""
        replicas = f", {m['replicas']} replicas" if m["replicas"] > 1 else ""
        return (
            f"{m['model']} on {m['dataset']}: {task.headline(m)} after {m['epochs_completed']} epochs, "
            f"{m['train_seconds']:.1f} s{replicas}; diagnosis: {describe(m['diagnosis'])}{where}"
        )


def resolve_task(task, model_name: str) -> tasks.Task:
    """The Task to train ``model_name`` for: ``task`` (a Task or a registered name), else the model's own.

    Raises:
        UsageError: the model's task (or the name given) has no Task.
    """
    if task is None:
        return tasks.for_model(model_name)
    if isinstance(task, tasks.Task):
        return task
    if isinstance(task, str):
        return tasks.get(task)
    raise UsageError(f"`task` must be a kerascnn.tasks.Task or a task name. Received: task={task!r}")


def resolve_run(model_name: str, dataset_name: str, task, options: dict) -> tuple[tasks.Task, TrainConfig]:
    """The Task (:func:`resolve_task`) and the :class:`TrainConfig` of a run: the Task's recipe for the model and
    data set (:meth:`~kerascnn.tasks.Task.training_defaults`) under the caller's ``options``, which win."""
    task = resolve_task(task, model_name)  # also: unknown model -> one line with the valid names
    options = {**task.training_defaults(model_name, dataset_name), **options}
    return task, TrainConfig.from_options(model_name, dataset_name, **options)


def train(model_name: str, dataset="digits", *, task=None, run_dir=None, resume: bool = False, callbacks=(),
          **options) -> TrainResult:
    """Train a zoo model on a data set and write a run directory.

    Args:
        model_name: zoo name, e.g. ``"lenet5"`` (``kerascnn.models.names()``).
        dataset: data set name (``"digits"``, ``"mnist"``, ``"folder:PATH"`` ...) or an
            already loaded data set (:class:`kerascnn.data.base.ImageDataset`).
        task: the :class:`kerascnn.tasks.Task` (or a registered task name) to train
            for; default the model's own (``tasks.for_model(model_name)``).
        run_dir: output folder; default ``runs/<model>-<dataset>-<time>``. Must be
            new or empty unless ``resume``.
        resume: continue the run in ``run_dir`` (same configuration) from its last
            finished epoch; ``epochs`` may grow, also for a finished run. A missing
            or empty ``run_dir`` starts fresh.
        callbacks: extra Keras callbacks (after the built-in ones; ``fit`` path only).
        **options: :class:`~kerascnn.training.config.TrainConfig` fields (those not given: the
            Task's recipe for this model and data set, :meth:`~kerascnn.tasks.Task.training_defaults`,
            then the config's defaults): ``epochs``,
            ``batch_size``, ``optimizer``, ``lr``, ``schedule``, ``augment``,
            ``weight_decay``, ``l1``, ``validation_split``, ``early_stopping``, ``seed``,
            ``strategy``, ``cpu_devices``, ``init_from``, ``freeze``, ``weights``,
            ``data_dir``, ``quiet`` ...

    Returns:
        A :class:`TrainResult`.

    Raises:
        ValueError (``UsageError``): bad options, unknown model or data set, a model
            whose task has no Task, missing data, a run directory that is not empty /
            not writable / from another configuration. Nothing is written in these cases.
    """
    from kerascnn import data

    loaded = dataset if not isinstance(dataset, str) else None
    task, config = resolve_run(model_name, loaded.name if loaded else dataset, task, options)
    if config.strategy == "multiworker" and resume:
        raise UsageError("--resume is not supported with --strategy multiworker; restart the run instead.")

    from kerascnn.training import distribute

    strategy = distribute.make_strategy(config.strategy, config.cpu_devices)
    chief = distribute.is_chief() if config.strategy == "multiworker" else True

    from kerascnn.training.seeding import set_global_seed

    set_global_seed(config.seed, deterministic=config.deterministic)
    from kerascnn.training.resources import mixed_precision_note

    note = mixed_precision_note(config.mixed_precision)  # None in float32
    if note:
        print(f"note: {note}", file=sys.stderr)

    if loaded is None:
        loaded = data.load(config.dataset, config.data_dir, download=config.download)
    record = {"task": task.name, "train": config.to_dict(), "command": config.command_line(), "versions": versions()}
    record["data"] = {"source": loaded.source, "input_shape": list(loaded.input_shape),
                      "classes": getattr(loaded, "class_names", None)}

    requested = Path(run_dir) if run_dir is not None else default_run_dir(config.model, config.dataset)
    scratch = None
    if chief:
        run = check_run_dir(requested, config.comparable(), resume=resume, task=task.name)
    else:  # non-chief workers write to a scratch folder that is removed at the end
        scratch = Path(tempfile.mkdtemp(prefix=f"kerascnn-{distribute.task_label()}-"))
        run = RunLayout(scratch)
    try:
        return _train(config, task, loaded, run, strategy, record, chief=chief, resume=resume,
                      extra_callbacks=callbacks)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def split_validation(dataset, fraction: float, seed: int):
    """``((x, y) train, (x, y) validation or None)``: a stratified, seeded hold-out of ``fraction``."""
    from kerascnn.data.base import stratified_split

    x, y = dataset.x_train, dataset.y_train
    if not fraction:
        return (x, y), None
    train_index, val_index = stratified_split(y, fraction, seed)
    return (x[train_index], y[train_index]), (x[val_index], y[val_index])


def compile_model(config: TrainConfig, dataset, x_train, learning_rate, *, task=None):
    """The compiled training model for ``config`` (call inside ``strategy.scope()``).

    ``task.build_model`` builds it (the model's own Task by default; input
    statistics come from ``x_train``, the training inputs after the validation
    split); it is compiled with ``task.loss()``, ``task.metrics()`` and the
    optimizer of ``config`` at ``learning_rate`` (a float or a schedule).
    """
    from kerascnn.training.resources import float32_output, precision

    task = resolve_task(task, config.model)
    with precision(config.mixed_precision):  # 16-bit layers (float16: and loss scaling), float32 outputs
        model = task.build_model(config, dataset, x_train)
        if config.mixed_precision:
            model = float32_output(model)
        model.compile(optimizer=make_optimizer(config, learning_rate), loss=task.loss(), metrics=task.metrics())
    return model


def _train(config: TrainConfig, task, dataset, run: RunLayout, strategy, record: dict, *, chief, resume,
           extra_callbacks):
    from kerascnn.training import distribute

    (x_train, y_train), validation = split_validation(dataset, config.validation_split, config.seed)
    if len(x_train) == 0:
        raise UsageError(f"Dataset {dataset.name!r} has no training examples.")
    x_train, y_train = task.training_examples(config, dataset, x_train, y_train)  # e.g. rotated classes
    batches = math.ceil(len(x_train) / config.batch_size)
    steps_per_epoch = min(batches, config.steps_per_epoch or batches)

    pipeline = task.pipeline  # images by default; sentences, P x K batches ... for other tasks
    train_ds = pipeline(
        x_train, y_train, batch_size=config.batch_size, shuffle=True, seed=config.seed, augment=config.augment
    )
    if config.steps_per_epoch:
        train_ds = train_ds.take(steps_per_epoch)
    val_ds = None
    if validation is not None:
        val_ds = pipeline(*validation, batch_size=config.batch_size, shuffle=False, seed=config.seed)
    test_ds = pipeline(dataset.x_test, dataset.y_test, batch_size=config.batch_size, shuffle=False,
                       seed=config.seed)

    schedule = config.schedule
    learning_rate = schedule.build(initial_lr=config.learning_rate, steps_per_epoch=steps_per_epoch,
                                   epochs=config.epochs)
    record["schedule"] = str(schedule.resolve(config.epochs))
    with strategy.scope():
        model = compile_model(config, dataset, x_train, learning_rate, task=task)
    optimizer = model.optimizer

    replicas = distribute.num_replicas(strategy)
    from kerascnn.training.resources import check_memory, check_mixed_precision

    check_memory(config, model, replicas=replicas)  # a batch that cannot fit: one line, nothing written yet
    if config.mixed_precision:
        check_mixed_precision(model, x_train[:1], config.mixed_precision)  # a 16-bit kernel missing on this CPU
    start_epoch, from_model = resume_point(run) if resume and run.config.is_file() else (0, False)
    if chief:
        run.path.mkdir(parents=True, exist_ok=True)
        if resume and run.config.is_file():
            _note_longer_run(run, record, config, start_epoch)
        else:
            atomic_write_json(run.config, record)
    if resume:
        trim_history(run, start_epoch)
    if from_model:
        _continue_from(run, model)

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
        custom_loop.fit(strategy, model, optimizer, train_ds, task=task, epochs=config.epochs,
                        validation_dataset=val_ds, on_epoch_end=save_history, verbose=not config.quiet)
        task.after_training(model, x_train, y_train)
        _, eval_step = custom_loop.make_steps(strategy, model, optimizer, task)
        scores = {f"test_{name}": value for name, value in custom_loop.evaluate(strategy, eval_step, test_ds).items()}
    else:
        history_so_far = read_history(run.history) if start_epoch else {}
        callbacks = _callbacks(config, task, run, has_validation=val_ds is not None, history=history_so_far)
        model.fit(
            train_ds,
            epochs=config.epochs,
            initial_epoch=start_epoch if from_model else 0,  # a backup sets its own epoch
            validation_data=val_ds,
            callbacks=callbacks + list(extra_callbacks),
            shuffle=False,  # the tf.data pipeline shuffles, with the seed
            verbose=verbose,
        )
        task.after_training(model, x_train, y_train)  # e.g. the embedding's whitening, from the training split
        scores = task.evaluate(model, test_ds)
    session_seconds = time.perf_counter() - started

    history = read_history(run.history) if chief else so_far
    counts = {"train_samples": len(x_train), "validation_samples": len(validation[0]) if validation else 0,
              "test_samples": len(dataset.x_test)}
    metrics = _metrics(config, task, dataset, model, history, scores, replicas, session_seconds, start_epoch,
                       counts, record["schedule"])
    if chief:
        _write_outputs(run, model, history, metrics, task)
    return TrainResult(run.path if chief else None, metrics, model, history, task)


def _note_longer_run(run: RunLayout, record: dict, config: TrainConfig, start_epoch: int) -> None:
    """On a resume that raises ``epochs``: record the new length, and say when the schedule is recomputed."""
    saved = read_record(run)
    before = saved["train"].get("epochs")
    if before == config.epochs:
        return
    saved.update(train=record["train"], command=record["command"], schedule=record["schedule"])
    saved.setdefault("extended", []).append({"from_epochs": before, "to_epochs": config.epochs,
                                             "at_epoch": start_epoch})
    atomic_write_json(run.config, saved)
    if config.schedule.uses_run_length:
        print(f"note: the {config.schedule} schedule is recomputed for {config.epochs} epochs instead of "
              f"{before}; from epoch {start_epoch + 1} the learning rate follows the longer run's curve.",
              file=sys.stderr)


def _continue_from(run: RunLayout, model) -> None:
    """Load the weights and optimizer state of the run's ``model.keras`` into ``model`` (a longer run)."""
    from kerascnn.nn.saving import load_model

    saved = load_model(run.model, compile=True)
    model.set_weights(saved.get_weights())
    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)
    if len(saved.optimizer.variables) != len(optimizer.variables):
        raise UsageError(f"Cannot continue {run.path}: the optimizer state in {run.model.name} does not match.")
    for variable, value in zip(optimizer.variables, saved.optimizer.variables):
        variable.assign(value)


def _monitored(task, has_validation: bool) -> tuple[str, str]:
    """``(logged name, mode)`` that picks the best epoch: ``val_<metric>``, or the training metric."""
    metric, mode = task.monitor
    return (f"val_{metric}" if has_validation else metric), mode


def _callbacks(config: TrainConfig, task, run: RunLayout, *, has_validation: bool, history: dict) -> list:
    import keras

    from kerascnn.training.callbacks import EpochTimer, LearningRateLogger, tensorboard_available

    monitor, mode = _monitored(task, has_validation)
    out = [keras.callbacks.TerminateOnNaN(), EpochTimer()]
    if config.schedule.is_callback:
        out.append(config.schedule.callback(initial_lr=config.learning_rate, has_validation=has_validation,
                                            verbose=0 if config.quiet else 1))
    out.append(LearningRateLogger())
    if config.early_stopping:
        out.append(keras.callbacks.EarlyStopping(monitor="val_loss" if has_validation else "loss",
                                                 patience=config.early_stopping))
    if tensorboard_available():
        out.append(keras.callbacks.TensorBoard(log_dir=str(run.logs), write_graph=False))
    # On resume, best.keras is only replaced by an epoch better than the best so far.
    earlier = [v for v in history.get(monitor, []) if math.isfinite(v)]
    threshold = (max(earlier) if mode == "max" else min(earlier)) if earlier else None
    out += [
        keras.callbacks.ModelCheckpoint(run.best, monitor=monitor, mode=mode, save_best_only=True,
                                        initial_value_threshold=threshold),
        keras.callbacks.CSVLogger(str(run.history), append=True),
        # Last, so a kill between the CSV row and the backup leaves a row that resume trims.
        keras.callbacks.BackupAndRestore(str(run.backup), double_checkpoint=True),
    ]
    return out


def _metrics(config, task, dataset, model, history, scores, replicas, session_seconds, start_epoch, counts,
             schedule) -> dict:
    import numpy as np

    from kerascnn.training.diagnosis import best_epoch, diagnose_history

    epochs_done = len(history.get("loss", []))
    seconds = history.get("epoch_seconds")
    train_seconds = float(np.nansum(seconds)) if seconds else session_seconds
    metric, mode = task.monitor
    best = best_epoch(history, task.monitor)
    trainable = int(sum(np.prod(v.shape) for v in model.trainable_weights))
    total = int(sum(np.prod(v.shape) for v in model.weights))
    final = {k: v[-1] for k, v in history.items() if v and k != "epoch_seconds"}
    return {
        "model": config.model,
        "dataset": config.dataset,
        "task": task.name,
        **{key: float(value) for key, value in scores.items()},
        "epochs_completed": epochs_done,
        "epochs_requested": config.epochs,
        "stopped_early": epochs_done < config.epochs,
        "resumed_at_epoch": start_epoch if start_epoch else None,
        "replicas": replicas,
        "strategy": config.strategy,
        "schedule": schedule,
        "train_seconds": round(train_seconds, 3),
        "seconds_per_epoch": round(train_seconds / epochs_done, 3) if epochs_done else None,
        "monitor": {"metric": f"val_{metric}", "mode": mode},
        "best_epoch": best[0] + 1 if best is not None else None,
        f"best_val_{metric}": best[1] if best is not None else None,
        "final": final,
        **counts,
        "input_shape": list(dataset.input_shape),
        "params": {"trainable": trainable, "total": total},
        "diagnosis": diagnose_history(history, task.monitor),
    }


def _write_outputs(run: RunLayout, model, history: dict, metrics: dict, task) -> None:
    from kerascnn.analysis import plots

    with atomic_save_path(run.model) as tmp:
        model.save(tmp)
    task.write_outputs(run.path, model)
    if history:
        plots.plot_curves(history, run.curves, title=f"{metrics['model']} on {metrics['dataset']}",
                          monitor=task.monitor)
        if "lr" in history:
            plots.plot_lr(history, run.lr_plot, title=f"learning rate ({metrics['schedule']})")
    atomic_write_json(run.metrics, metrics)  # last: its presence marks a finished run


__all__ = ["train", "compile_model", "make_optimizer", "resolve_run", "resolve_task", "split_validation", "TrainResult",
           "TrainConfig"]

"""``kerascnn train MODEL --dataset NAME ...``: train with Keras fit into a run directory.

The flags map one to one onto :func:`kerascnn.training.train` (see
:class:`kerascnn.training.config.TrainConfig`); the defaults are the recipe.
Every option is checked before TensorFlow is imported, so a typo answers at once.
Ctrl-C prints the command that resumes the run.
"""

from __future__ import annotations

import argparse
import ast
import shlex
import sys

from kerascnn.core.errors import UsageError
from kerascnn.core.options import non_negative_float, non_negative_int, positive_float, positive_int, shape
from kerascnn.core.quiet import import_tensorflow_quietly
from kerascnn.training.config import TrainConfig
from kerascnn.training import schedules
from kerascnn.training.distribute import STRATEGIES
from kerascnn.training.optimizers import OPTIMIZERS

#: Status of a run stopped with Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130
#: Data set trained on when ``--dataset`` is not given (embedded, needs no data folder).
DEFAULT_DATASET = "digits"

DEFAULTS = TrainConfig()  # the recipe; no TensorFlow import here


def fraction(text: str) -> float:
    """A number in [0, 1) (the validation split)."""
    value = non_negative_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def image_size(text: str) -> tuple[int, int]:
    """``"32"`` or ``"32,32"`` -> ``(32, 32)``."""
    dims = shape(text)
    if len(dims) == 1:
        dims = dims * 2
    if len(dims) != 2:
        raise argparse.ArgumentTypeError(f"expected HEIGHT,WIDTH like 32,32, got {text!r}")
    return dims


def model_argument(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` with a Python literal value (``dropout=0.5``, ``subsampling=avg``)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        parsed = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        parsed = value.strip()
    return key.strip(), parsed


def recipe_defaults(option: str) -> str:
    """``", or the model's recipe for the data set: siamese on omniglot 20"``: the recipes' values of ``option``
    for a flag's help, read from the Tasks' recipe tables (no TensorFlow)."""
    from kerascnn.tasks.metric import TRAINING_RECIPES

    values = [f"{model} on {dataset} {recipe[option]}" for (model, dataset), recipe in TRAINING_RECIPES.items()
              if option in recipe]
    return f", or the model's recipe for the data set: {', '.join(values)}" if values else ""


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Model, data and optimizer flags shared by ``train`` and ``lr-find``."""
    parser.add_argument("model", metavar="MODEL", help="zoo model name (see `kerascnn models`), e.g. lenet5")
    parser.add_argument("--dataset",
                        help=f"data set: {DEFAULT_DATASET} (embedded, default), mnist, fashion_mnist, cifar10, "
                             "omniglot, folder:PATH, moving_mnist, shapes3d, nifti:PATH; text: mr, imdb_reviews, "
                             "sst2, text:PATH (folder or .csv) ...")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="where offline data lives (default: $KERASCNN_DATA, then the TFDS data dir); "
                             "needs --dataset")
    parser.add_argument("--download", action="store_true",
                        help="allow tensorflow-datasets to download the data set (needs network)")
    parser.add_argument("--batch-size", type=positive_int,
                        help=f"global batch size (default {DEFAULTS.batch_size}{recipe_defaults('batch_size')})")
    parser.add_argument("--optimizer", choices=list(OPTIMIZERS), default=DEFAULTS.optimizer,
                        help=f"optimizer (default {DEFAULTS.optimizer})")
    parser.add_argument("--weight-decay", type=non_negative_float, default=0.0,
                        help="L2 weight decay on kernels (AdamW: decoupled decay); default 0")
    parser.add_argument("--l1", type=non_negative_float, default=0.0,
                        help="L1 penalty on kernels (with --weight-decay: elastic net); default 0")
    parser.add_argument("--augment", metavar="SPEC",
                        help="augmentation in the input pipeline, e.g. crop,rotate:10 for images, "
                             "flip_w,noise:8 for clips and volumes (`kerascnn augment-preview --list` lists them)")
    parser.add_argument("--input-size", type=image_size, metavar="H,W",
                        help="image size the network sees (default: the images' own size if the model takes it)")
    parser.add_argument("--model-arg", type=model_argument, action="append", default=[], metavar="KEY=VALUE",
                        help="extra model builder argument, repeatable (e.g. --model-arg dropout=0.5)")
    parser.add_argument("--init-from", metavar="MODEL.keras",
                        help="start from a saved model's network (transfer learning)")
    parser.add_argument("--new-head", action="store_true",
                        help="with --init-from: always start a fresh classifier layer")
    parser.add_argument("--freeze", metavar="base|LAYER",
                        help="freeze the base network (all but the classifier) or up to a named layer")
    parser.add_argument("--weights", choices=("imagenet",),
                        help="start from keras.applications ImageNet weights (downloads; mobilenet_v1, "
                             "mobilenet_v2, densenet121/169/201)")
    parser.add_argument("--seed", type=non_negative_int, default=DEFAULTS.seed, help=f"random seed (default {DEFAULTS.seed})")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--epochs", type=positive_int,
                        help=f"epochs (default {DEFAULTS.epochs}{recipe_defaults('epochs')})")
    parser.add_argument("--lr", type=positive_float, metavar="LR",
                        help="initial learning rate (default: 0.001 for adam/adamw/amsgrad/rmsprop, 0.01 otherwise)")
    parser.add_argument("--schedule", default=DEFAULTS.schedule, metavar="SPEC",
                        help="LR schedule NAME[:KEY=VALUE,...]: " + ", ".join(schedules.names()) + "; "
                             "`kerascnn schedule list` shows each one's parameters and defaults "
                             f"(default {DEFAULTS.schedule})")
    parser.add_argument("--validation-split", type=fraction, default=DEFAULTS.validation_split,
                        help="fraction of training images held out for validation "
                             f"(default {DEFAULTS.validation_split}; 0 = none)")
    parser.add_argument("--early-stopping", type=positive_int, metavar="PATIENCE",
                        help="stop when the validation loss has not improved for PATIENCE epochs")
    parser.add_argument("--no-deterministic", dest="deterministic", action="store_false",
                        help="allow non-deterministic (faster) TF ops")
    parser.add_argument("--steps-per-epoch", type=positive_int, metavar="N",
                        help="cap the batches per epoch (quick smoke runs)")
    parser.add_argument("--run-dir", metavar="DIR",
                        help="output folder (default runs/MODEL-DATASET-TIME); must be new or empty")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --run-dir from its last finished epoch; a larger --epochs "
                             "trains a finished run longer")
    parser.add_argument("--strategy", choices=STRATEGIES, default=DEFAULTS.strategy,
                        help="tf.distribute strategy: default (one device), mirrored (all local GPUs, "
                             "or --cpu-devices), multiworker (machines in TF_CONFIG)")
    parser.add_argument("--cpu-devices", type=positive_int, metavar="N",
                        help="split the CPU into N logical devices (mirrored training without GPUs)")
    parser.add_argument("--mixed-precision", nargs="?", const="float16", default=False,
                        choices=("float16", "bfloat16"), metavar="float16|bfloat16",
                        help="16-bit activations, half the memory: float16 (the default type; loss scaling) is "
                             "faster on GPUs with tensor cores, slower on CPUs; bfloat16 is faster on CPUs with "
                             "AVX512-BF16 or AMX-BF16")
    parser.add_argument("--memory-budget", metavar="SIZE",
                        help="memory training must fit in, e.g. 8GiB (default: this machine's available memory "
                             "on a CPU); a batch the plan says cannot fit is refused before training")
    from kerascnn.training.crossval import add_text_arguments

    add_text_arguments(parser)  # --variant, --vectors, --cv, --seeds (text models)
    from kerascnn.tasks.metric import add_metric_arguments

    add_metric_arguments(parser)  # --tower, --loss, --mining, --margin, --embedding-dim (embedding models)


def options_from_args(args: argparse.Namespace, **command_options) -> dict:
    """The :class:`~kerascnn.training.config.TrainConfig` options given on the command line (plus a command's own
    ``command_options``), less the recipe options the user left out."""
    keys = ("data_dir", "download", "batch_size", "optimizer", "weight_decay", "l1", "augment", "input_size",
            "init_from", "new_head", "freeze", "weights", "seed", "quiet")
    options = {key: getattr(args, key) for key in keys}
    options["model_kwargs"] = dict(args.model_arg)
    return without_unset_recipe_options({**options, **command_options})


#: Options a Task's recipe may set (:meth:`kerascnn.tasks.Task.training_defaults`); ``None`` = not given.
RECIPE_OPTIONS = ("epochs", "batch_size", "lr")


def without_unset_recipe_options(options: dict) -> dict:
    """``options`` less the recipe options the user did not give, so the model's recipe (or the default) applies."""
    return {key: value for key, value in options.items() if value is not None or key not in RECIPE_OPTIONS}


def dataset_from_args(args: argparse.Namespace) -> str:
    """``--dataset``, refusing ``--data-dir`` without it (it would silently train on the bundled digits)."""
    if args.dataset is None and args.data_dir is not None:
        raise UsageError(
            f"--data-dir {args.data_dir} needs --dataset NAME (e.g. --dataset mnist); without it the embedded "
            f"{DEFAULT_DATASET} would be used and the folder ignored."
        )
    return args.dataset or DEFAULT_DATASET


def check_names(model: str, dataset: str, weights: str | None = None) -> None:
    """Unknown model or data set names (and ImageNet weights for a model without them), before TensorFlow loads."""
    from kerascnn import data, models

    models.check_name(model)
    if data.is_text(dataset):
        data.check_text_name(dataset)
    else:
        data.check_name(dataset)
    if weights:
        from kerascnn.models.transfer import reference_for

        reference_for(model)  # ImageNet weights exist for keras.applications' models only


def warn_about_augmentation(args: argparse.Namespace, dataset: str) -> None:
    """One line on stderr when ``--augment`` changes the labels of this data set (a mirrored digit, a flipped clip)."""
    from kerascnn import data

    warning = data.augmentation_for(dataset).mirror_warning(args.augment, dataset) if args.augment else None
    if warning:
        print(f"kerascnn {args.command}: warning: {warning}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from kerascnn.data import is_text
    from kerascnn.training.rundir import default_run_dir

    dataset = dataset_from_args(args)
    options = options_from_args(
        args,
        epochs=args.epochs,
        lr=args.lr,
        schedule=args.schedule,
        validation_split=args.validation_split,
        early_stopping=args.early_stopping,
        deterministic=args.deterministic,
        steps_per_epoch=args.steps_per_epoch,
        strategy=args.strategy,
        cpu_devices=args.cpu_devices,
        mixed_precision=args.mixed_precision,
        memory_budget=args.memory_budget,
    )
    config = TrainConfig.from_options(args.model, dataset, **options)  # every flag checked, no TensorFlow yet
    check_names(args.model, dataset, args.weights)
    from kerascnn.training.crossval import check_text_options

    check_text_options(args, dataset)  # --cv, --seeds, --variant, --vectors: text data sets only, before TF
    warn_about_augmentation(args, dataset)
    run_dir = args.run_dir or str(default_run_dir(config.model, config.dataset))
    import_tensorflow_quietly()
    from kerascnn.training import train

    if is_text(dataset):  # sentences: the text Task, k-fold cross-validation with --cv
        from kerascnn.training.crossval import run_command

        return run_command(args, dataset, options)
    try:
        result = train(args.model, dataset, run_dir=run_dir, resume=args.resume, **options)
    except KeyboardInterrupt:
        resume = f"{config.command_line()} --run-dir {shlex.quote(run_dir)} --resume"
        print(f"kerascnn train: interrupted; continue from the last finished epoch with: {resume}", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(result.summary())
    diagnosis = result.metrics["diagnosis"]
    if diagnosis["verdict"] not in ("healthy", "inconclusive"):
        print(f"advice: {diagnosis['advice']}")
    return 0

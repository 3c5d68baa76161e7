"""The ``kerascnn`` console script: a thin argparse front over the library.

Each sub-command lives in ``kerascnn/commands/<module>.py`` and exposes

    def add_arguments(parser: argparse.ArgumentParser) -> None
    def check(args: argparse.Namespace) -> None      # optional: cheap checks, no TensorFlow
    def run(args: argparse.Namespace) -> int | None

``check`` runs first and never imports TensorFlow, so a mistyped name or a
missing file is answered at once (``kerascnn summary vgg61`` in a fraction of a
second). Commands import TensorFlow themselves, only once their arguments are
checked, through :func:`kerascnn.core.quiet.import_tensorflow_quietly` (no start-up
banner on the terminal); ``predict`` and ``models`` (cached) never do.

Only the module of the command being run is imported, so ``kerascnn --help``
and ``kerascnn predict`` (onnxruntime only) never import TensorFlow.

Bad input raises ``ValueError`` (``kerascnn.core.errors.UsageError``) or ``OSError``
somewhere below; it is printed here as one line and the exit status is 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

import kerascnn

# name -> (module under kerascnn.commands, one-line help). Order = order in --help.
COMMANDS: dict[str, tuple[str, str]] = {
    "quickstart": ("quickstart", "train LeNet-5 on the bundled digits, export, verify, benchmark, predict"),
    "models": ("models", "list every model in the zoo with family, paper, year, parameters and MACs"),
    "summary": ("summary", "lecture-style per-layer table: shapes, activations, memory, params, MACs"),
    "memory": ("memory", "training memory estimate: does this model and batch fit, and the largest batch that does"),
    "train": ("train", "train a model with Keras fit into a run directory"),
    "schedule": ("schedule", "plot or list learning-rate schedules"),
    "lr-find": ("lr_find", "LR range test: plot loss against learning rate and suggest one"),
    "augment-preview": ("augment_preview", "write a PNG grid of augmented samples"),
    "export": ("export", "export a .keras model to TFLite and ONNX with parity checks"),
    "bench": ("bench", "benchmark exported artifacts (onnxruntime, LiteRT) against Keras"),
    "predict": ("predict", "classify images with an .onnx or .tflite model (no TensorFlow)"),
    "oneshot": ("oneshot", "N-way one-shot error rate of an embedding model (Lake runs or episodes)"),
    "verify": ("verify", "verification report of an embedding model: ROC AUC, EER, accuracy, VAL@FAR"),
    "exercises": ("exercises", "classroom exercises: list them, start one (.py or notebook), check your answer"),
    "grade": ("grade", "grade a submission or a class folder (public + hidden checks), CSV of scores"),
}

EXIT_USAGE = 2



def _quiet_tensorflow() -> None:
    # TensorFlow's C++ log lines ("failed call to cuInit" on a CPU-only machine, graph
    # attribute notices) are noise for students; failures still raise Python errors.
    # Set TF_CPP_MIN_LOG_LEVEL=0 to see them.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore", message=".*np.object.*", category=FutureWarning)


def _command_module(command: str):
    module_name, _ = COMMANDS[command]
    return importlib.import_module(f"kerascnn.commands.{module_name}")


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse with one-line usage errors (no usage block), exit status 2."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser; only ``command``'s own arguments are loaded."""
    parser = OneLineErrorParser(
        prog="kerascnn",
        description="kerascnn: classic CNNs in Keras 3, from the lecture table to the edge device.",
    )
    parser.add_argument("--version", action="version", version=f"kerascnn {kerascnn.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (_, help_text) in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            module = _command_module(name)
            module.add_arguments(sub_parser)
            sub_parser.set_defaults(_run=module.run, _check=getattr(module, "check", None))
    return parser


def _first_command(argv: list[str]) -> str | None:
    for token in argv:
        if token in COMMANDS:
            return token
        if not token.startswith("-"):
            return None
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``kerascnn`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    _quiet_tensorflow()
    parser = build_parser(_first_command(argv))
    args = parser.parse_args(argv)
    try:
        if args._check is not None:
            args._check(args)
        status = args._run(args)
    except KeyboardInterrupt:
        print("kerascnn: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `kerascnn models | head`: the reader left; not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (ValueError, OSError) as err:
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if isinstance(err, OSError) and err.filename and str(err.filename) not in message:
            message = f"{message}: {err.filename}"
        print(f"kerascnn {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())

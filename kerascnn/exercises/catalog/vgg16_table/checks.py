"""Checks of exercise 2: every row against kerascnn's own VGG-16 and its lecture table
(:func:`kerascnn.analysis.summary.summarize_zoo`), at several input sizes and class counts."""

import math

import numpy as np

from kerascnn.exercises.catalog.vgg16_table import solution as reference
from kerascnn.exercises.checking import CheckFailed, check, expect_equal, function_of

NUMBER = 2
TITLE = "The VGG-16 memory and parameter table by hand"
LECTURE = "Where memory and parameters go: activations early (big maps), parameters late (fc6)"
USES_KERAS = True  # kerascnn's summary builds the model: the sandbox imports Keras before the clock starts

SHAPE_HINT = ("Revisit the shapes: 3x3 'same' convolutions keep H x W and set C to the filters; a 2x2 pool of "
              "stride 2 halves H and W (rounded down); fully connected layers output (units,).")
PARAM_HINT = ("Revisit the parameter counts: a 3x3 conv has 3*3*C_in*C_out weights + C_out biases; a dense layer "
              "n_in*n_out + n_out, and fc6's n_in is H*W*C of the last pool; pools have none.")


def _library_rows(size, classes):
    """(name, shape, params) of the input and every conv/pool/dense output of kerascnn's vgg16."""
    from kerascnn.analysis.summary import summarize_zoo

    summary = summarize_zoo("vgg16", input_shape=(size, size, 3), classes=classes)
    rows = [r for r in summary.layers if r.type in ("InputLayer", "Conv2D", "MaxPooling2D", "Dense")]
    return [(r.name, tuple(r.output_shapes[0]), r.params) for r in rows], summary


def _student_rows(student, size, classes):
    table = function_of(student, "vgg16_table")(size, classes)
    try:
        return [(row[0], tuple(int(v) for v in row[1]), row[2]) for row in table]
    except (TypeError, IndexError, ValueError):
        raise CheckFailed("vgg16_table must return a list of (name, output_shape, params) rows") from None


def _compare(student, size, classes, column):
    want, _ = _library_rows(size, classes)
    got = _student_rows(student, size, classes)
    expect_equal(len(got), len(want), f"rows of the table at {size}x{size} (input, 13 conv, 5 pool, 3 fc)",
                 "Revisit the architecture: configuration D has 13 convolutions in 5 blocks.")
    for index, (mine, theirs) in enumerate(zip(got, want)):
        what = "output shape" if column == 1 else "parameters"
        expect_equal(mine[column], theirs[column], f"{what} of row {index} ({theirs[0]}) at input {size}x{size}, "
                     f"{classes} classes", SHAPE_HINT if column == 1 else PARAM_HINT)


@check(points=2)
def layer_shapes(student):
    """Every row's output shape at 224x224 matches kerascnn's VGG-16."""
    _compare(student, 224, 1000, column=1)


@check(points=2)
def layer_parameters(student):
    """Every row's parameter count at 224x224, 1000 classes matches kerascnn's VGG-16."""
    _compare(student, 224, 1000, column=2)


@check(points=1, hidden=True)
def other_input_sizes(student):
    """The table follows the input size and class count (fc6 depends on the last pool's size)."""
    for size, classes in ((64, 10), (96, 37)):
        _compare(student, size, classes, column=1)
        _compare(student, size, classes, column=2)


def _random_table(seed):
    rng = np.random.default_rng(seed)
    return [(f"layer{i}", tuple(int(v) for v in rng.integers(1, 40, rng.integers(1, 4))), int(rng.integers(0, 10**6)))
            for i in range(int(rng.integers(3, 9)))]


@check(points=1)
def totals(student):
    """table_totals sums the parameters and the activations (values of every output, input included)."""
    function = function_of(student, "table_totals")
    _, summary = _library_rows(224, 1000)
    hint = "Revisit the totals: params summed over rows; activations = sum over rows of the product of the shape."
    expect_equal(tuple(function(reference.vgg16_table())), (summary.params, summary.activations),
                 "totals of the VGG-16 table (parameters, activations)", hint)
    for seed in (1, 2):
        table = _random_table(seed)
        expect_equal(tuple(function(table)), (sum(r[2] for r in table), sum(math.prod(r[1]) for r in table)),
                     f"totals of the table {table}", hint)


@check(points=1)
def forward_memory(student):
    """forward_memory_bytes = activations x batch size x bytes per value, as in the lecture table."""
    function = function_of(student, "forward_memory_bytes")
    hint = "Revisit the memory: every activation is kept, batch_size times, bytes_per_value bytes each."
    _, summary = _library_rows(224, 1000)
    for batch, width in ((1, 4), (8, 4), (32, 2)):
        expect_equal(function(reference.vgg16_table(), batch, width), summary.activations * batch * width,
                     f"forward memory of VGG-16 at batch {batch}, {width} bytes a value", hint)

# kerascnn exercise: vgg16_table
"""Exercise 2: the VGG-16 memory and parameter table, by hand.

Lecture idea: where do a CNN's memory and parameters go? Write the lecture's table for VGG-16
(Simonyan & Zisserman 2015, configuration D) one row per layer: most of the memory (activations)
is in the early convolutions at full resolution, most of the parameters in the first fully
connected layer.

VGG-16: input size x size x 3; five blocks of 3x3 convolutions with padding "same" (size kept),
(2, 2, 3, 3, 3) convolutions with (64, 128, 256, 512, 512) filters, each block ending with a 2x2
max pool of stride 2 (size halved, rounded down); then fully connected layers of 4096, 4096 and
``classes`` units (fc6 sees the flattened last pool). Pools have no parameters; convolutions and
fully connected layers have weights and biases.
Check yourself with ``kerascnn exercises check vgg16_table.py``.
"""

import math


def vgg16_table(size=224, classes=1000):
    """The table as a list of 22 rows ``(name, output_shape, params)``, from the input to the output:

    ("input", (size, size, 3), 0), then 13 conv and 5 pool rows in order (shape (H, W, C)), then
    fc6, fc7, fc8 (shape (units,)). Names are yours to choose; shapes and params are checked.
    """
    raise NotImplementedError("TODO: walk the five blocks, then the three fully connected layers")


def table_totals(table):
    """``(total parameters, total activations)`` of a table; a row's activations are the number of
    values in its output shape (the input counts too)."""
    raise NotImplementedError("TODO: sum the params; sum the product of each output shape")


def forward_memory_bytes(table, batch_size=1, bytes_per_value=4):
    """Bytes to keep every activation of the forward pass for a batch (float32: 4 bytes a value)."""
    raise NotImplementedError("TODO: activations x batch size x bytes per value")


if __name__ == "__main__":
    table = vgg16_table()
    for name, shape, params in table:
        print(f"{name:14s} {str(shape):16s} activations {math.prod(shape):>10,}  params {params:>12,}")
    params, activations = table_totals(table)
    print(f"total: {params:,} parameters, {activations:,} activations = "
          f"{forward_memory_bytes(table) / 2**20:.1f} MiB per image (forward pass only)")

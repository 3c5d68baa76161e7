# kerascnn exercise: vgg16_table
"""A wrong submission: the convolutions without their biases: the VGG-16 memory and parameter table by hand."""

import math

BLOCKS = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))


def vgg16_table(size=224, classes=1000):
    rows = [("input", (size, size, 3), 0)]
    channels = 3
    for block, (convs, filters) in enumerate(BLOCKS, start=1):
        for conv in range(1, convs + 1):
            rows.append((f"block{block}_conv{conv}", (size, size, filters), 3 * 3 * channels * filters))
            channels = filters
        size //= 2
        rows.append((f"block{block}_pool", (size, size, channels), 0))
    features = size * size * channels
    for name, units in (("fc6", 4096), ("fc7", 4096), ("fc8", classes)):
        rows.append((name, (units,), features * units + units))
        features = units
    return rows


def table_totals(table):
    return sum(row[2] for row in table), sum(math.prod(row[1]) for row in table)


def forward_memory_bytes(table, batch_size=1, bytes_per_value=4):
    return table_totals(table)[1] * batch_size * bytes_per_value


if __name__ == "__main__":
    table = vgg16_table()
    for name, shape, params in table:
        print(f"{name:14s} {str(shape):16s} activations {math.prod(shape):>10,}  params {params:>12,}")
    params, activations = table_totals(table)
    print(f"total: {params:,} parameters, {activations:,} activations = "
          f"{forward_memory_bytes(table) / 2**20:.1f} MiB per image (forward pass only)")

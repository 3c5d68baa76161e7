"""``kerascnn augment-preview``: a PNG grid of augmented training images.

    kerascnn augment-preview --dataset mnist --data-dir ../shared/data \\
        --augment rotate:15,translate:0.1,zoom:0.1 --out augment.png
    kerascnn augment-preview --list

Each row is one training image: the original in the first column, augmented
variants (the same layers the training pipeline runs) beside it. For clips and
volumes (``moving_mnist``, ``shapes3d``, ``nifti``) the 3D augmentations run
(:mod:`kerascnn.data.augment3d`) and each cell is a slice montage: ``--slices``
evenly spaced frames (clips) or slices (volumes) side by side (the centres of equal
segments of the depth: 4 of 32 slices are 4, 12, 20 and 28).

    kerascnn augment-preview --dataset shapes3d --augment flip_w,rot90,noise:8 --out aug3d.png
"""

from __future__ import annotations

import argparse

from kerascnn.core.options import non_negative_int, positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default="digits",
                        help="data set name or folder:PATH (default: digits, embedded)")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="where offline data lives (default: $KERASCNN_DATA, then the TFDS data dir)")
    parser.add_argument("--download", action="store_true",
                        help="allow tensorflow-datasets to download the data set (needs network)")
    parser.add_argument("--augment", metavar="SPEC",
                        help="comma-separated name[:value] items, e.g. rotate:15,translate:0.1 "
                             "(default: a label-safe suggestion for the data set; --list shows all)")
    parser.add_argument("--samples", type=positive_int, default=6, metavar="N",
                        help="training images, one per row (default 6)")
    parser.add_argument("--variants", type=positive_int, default=7, metavar="V",
                        help="augmented variants per image (default 7)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="picks the images and the augmentation")
    parser.add_argument("--slices", type=positive_int, default=4, metavar="S",
                        help="clips and volumes: frames / slices per montage (default 4)")
    parser.add_argument("--out", metavar="PNG", help="PNG file to write (required unless --list)")
    parser.add_argument("--list", action="store_true", help="list the augmentations and exit")


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from kerascnn import data
    from kerascnn.core.errors import UsageError
    from kerascnn.core.quiet import import_tensorflow_quietly
    from kerascnn.data import augment, augment3d

    if args.list:
        for title, module in (("images", augment), ("clips and volumes (5-D data)", augment3d)):
            print(f"{title}:")
            for name, text in module.describe().items():
                print(f"  {name:<12} {text}")
        return 0
    if not args.out:
        raise UsageError("--out PNG is required (the grid is written there).")
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise UsageError(f"--out must name a .png file. Received: {args.out}")

    if args.augment is not None:
        data.check_augment(args.augment, args.dataset)  # a bad spec fails before any data is read (no TensorFlow)
        warning = data.augmentation_for(args.dataset).mirror_warning(args.augment, args.dataset)
        if warning:
            print(f"kerascnn augment-preview: warning: {warning}", file=sys.stderr)
    import_tensorflow_quietly()

    import numpy as np

    from kerascnn.analysis.plots import new_figure, save_figure
    from kerascnn.training.seeding import set_global_seed

    set_global_seed(args.seed, deterministic=False)
    dataset = data.load(args.dataset, args.data_dir, download=args.download)
    kind = data.augmentation_for(dataset)  # augment (images) or augment3d (clips, volumes)
    spec = args.augment if args.augment is not None else kind.suggest(dataset.name)
    layers = kind.build(spec, dataset.input_shape, seed=args.seed)
    if layers is None:
        raise UsageError(f"Nothing to preview: --augment {spec!r} names no augmentation.")

    rng = np.random.default_rng(args.seed)
    count = min(args.samples, len(dataset.x_train))
    originals = dataset.x_train[np.sort(rng.choice(len(dataset.x_train), size=count, replace=False))]
    augmented = augment.variants(layers, originals, args.variants)

    volumes = dataset.rank == 5
    if volumes:  # each cell: a montage of evenly spaced frames / slices
        originals, augmented = montage(originals, args.slices), montage(augmented, args.slices)
    columns = 1 + args.variants
    width = 1.3 * (min(args.slices, dataset.input_shape[0]) if volumes else 1)
    fig, axes = new_figure(count, columns, figsize=(width * columns, 1.3 * count + 0.5), squeeze=False)
    for row in range(count):
        images = [originals[row]] + [augmented[row, v] for v in range(args.variants)]
        for col, image in enumerate(images):
            ax = axes[row, col]
            _show(ax, image)
            if row == 0:
                ax.set_title("original" if col == 0 else f"#{col}", fontsize=8)
    shown = f", {min(args.slices, dataset.input_shape[0])} slices each" if volumes else ""
    fig.suptitle(f"{dataset.name}  --augment {spec}{shown}", fontsize=9)
    save_figure(fig, out)  # atomic: a temporary file renamed into place
    what = "volumes" if volumes else "images"
    print(f"Wrote {out}: {count} {dataset.name} {what} x {args.variants} variants of --augment {spec}{shown}")
    return 0


def slice_indices(depth: int, slices: int) -> list[int]:
    """``slices`` evenly spaced indices in ``range(depth)``: the centres of equal segments (every index when fewer)."""
    if slices >= depth:
        return list(range(depth))
    return [int((i + 0.5) * depth / slices) for i in range(slices)]


def montage(volumes, slices: int, gap: int = 1):
    """``(..., D, H, W, C)`` volumes -> ``(..., H, S*W + (S-1)*gap, C)`` images: chosen slices side by side,
    separated by ``gap`` columns of mid-grey."""
    import numpy as np

    volumes = np.asarray(volumes, dtype=np.float32)
    index = slice_indices(volumes.shape[-4], slices)
    pieces = []
    for i, d in enumerate(index):
        if i:
            pieces.append(np.full(volumes.shape[:-4] + (volumes.shape[-3], gap, volumes.shape[-1]), 128.0, "float32"))
        pieces.append(volumes[..., d, :, :, :])
    return np.concatenate(pieces, axis=-2)


def _show(ax, image) -> None:
    """Raw pixels 0–255 as they are: grey with a fixed 0–255 scale, RGB as uint8."""
    import numpy as np

    pixels = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    if pixels.shape[-1] == 1:
        ax.imshow(pixels[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    else:
        ax.imshow(pixels, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])

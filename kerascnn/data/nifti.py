"""``nifti``: a folder of NIfTI volumes (``.nii`` / ``.nii.gz``, MRI or CT) and a ``labels.csv``, read with nibabel.

    scans/
      labels.csv        file,label[,split]   header row; file names relative to the folder
      case001.nii.gz    one 3-D volume per file (a 4-D image with one volume too)
      ...
      nifti.json        optional: {"shape": [32, 64, 64], "window": [-1000, 400]}

``kerascnn train voxnet --dataset nifti:scans`` (or ``--dataset nifti --data-dir DIR`` with the
files in ``DIR/nifti/``). Each volume is

1. reoriented to the closest canonical orientation (RAS+, ``nibabel.as_closest_canonical``)
   and transposed to ``(D, H, W)`` = (axial slices, rows, columns), so every file has the same
   axis order whatever its affine says;
2. windowed: values clipped to ``window = [low, high]`` and scaled to 0-255 — for CT the
   window is in Hounsfield units (lung -1000..400, soft tissue -160..240, bone -500..1300);
   without a window each volume's own 0.5-99.5 percentile range is used (MRI intensities
   have no absolute unit);
3. resized to ``shape`` (default :data:`DEFAULT_SHAPE`) with linear interpolation
   (``scipy.ndimage.zoom``, order 1) and stored as uint8 ``(N, D, H, W, 1)``.

The split is the ``split`` column (train / test) or stratified 80/20 (``random_state=0``).
Volumes of the wrong rank, a ``labels.csv`` naming missing files and unreadable files are
one-line errors.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kerascnn.core.errors import DataNotFoundError, UsageError, first_line
from kerascnn.data.base import VolumeDataset, stratified_split

LABELS = "labels.csv"
OPTIONS = "nifti.json"
#: (depth, height, width) every volume is resized to: small enough to train a 3D CNN on a CPU.
DEFAULT_SHAPE = (32, 64, 64)
PERCENTILES = (0.5, 99.5)
SUFFIXES = (".nii", ".nii.gz")
TEST_FRACTION, SPLIT_SEED = 0.2, 0


def has_labels(folder: Path) -> bool:
    return (folder / LABELS).is_file()


def load(path: str | Path, *, shape=None, window=None) -> VolumeDataset:
    """Read the folder ``path`` (see the module doc); ``shape`` / ``window`` override ``nifti.json``.

    Raises:
        DataNotFoundError: no folder or no ``labels.csv``.
        UsageError: nibabel missing, bad ``labels.csv`` / ``nifti.json``, missing, unreadable
            or wrong-rank volumes.
    """
    from kerascnn.data.labelled_csv import read_labelled
    from kerascnn.data.text import read_text

    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataNotFoundError(f"NIfTI folder {root} does not exist (expected .nii/.nii.gz volumes and {LABELS}).")
    if not has_labels(root):
        raise DataNotFoundError(f"{root} has no {LABELS}: write one with a header row file,label and one volume "
                                "per row.")
    options = _options(root)
    shape = _check_shape(shape if shape is not None else options.get("shape", DEFAULT_SHAPE))
    window = _check_window(window if window is not None else options.get("window"))
    table = read_labelled(root / LABELS, read_text(root / LABELS, "utf-8"), "file", "label")
    files = [root / name for name in table.values]
    missing = [(line, f) for line, f in zip(table.lines, files) if not f.is_file()]
    if missing:
        line, first = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise UsageError(f"{root / LABELS} line {line} names {first.name}, which is not in {root}{more}.")
    wrong = [f for f in files if not f.name.lower().endswith(SUFFIXES)]
    if wrong:
        raise UsageError(f"{wrong[0]} is not a NIfTI file (.nii or .nii.gz).")
    volumes = np.stack([to_uint8(read_volume(f), shape, window) for f in files])[..., np.newaxis]
    labels = np.asarray(table.labels, dtype=np.int64)
    if table.is_test is not None:
        train, test = np.flatnonzero(~table.is_test), np.flatnonzero(table.is_test)
        split = "split column"
    else:
        train, test = stratified_split(labels, TEST_FRACTION, SPLIT_SEED)
        split = f"stratified {1 - TEST_FRACTION:.0%}/{TEST_FRACTION:.0%} random_state={SPLIT_SEED}"
    how = f"window {window[0]:g}..{window[1]:g}" if window else "per-volume 0.5-99.5 percentiles"
    return VolumeDataset(
        name=f"nifti:{root}", x_train=volumes[train], y_train=labels[train], x_test=volumes[test],
        y_test=labels[test], class_names=table.class_names,
        source=f"{len(files)} NIfTI volumes in {root} ({how}, resized to {'x'.join(map(str, shape))}); {split}",
    )


def read_volume(path: Path) -> np.ndarray:
    """The float32 ``(D, H, W)`` array of one NIfTI file, in canonical (RAS+) orientation."""
    try:
        import nibabel as nib
    except ImportError:
        raise UsageError("Reading NIfTI needs nibabel: pip install nibabel") from None
    try:
        image = nib.as_closest_canonical(nib.load(path))
        data = np.asarray(image.dataobj, dtype=np.float32)
    except Exception as err:  # nibabel raises ImageFileError, OSError, EOFError, zlib.error ...
        raise UsageError(f"Cannot read {path} as NIfTI: {first_line(err) or type(err).__name__}") from None
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise UsageError(f"{path} holds an image of shape {data.shape}: expected one 3-D volume (x, y, z).")
    if not np.isfinite(data).all():
        raise UsageError(f"{path} has NaN or infinite values.")
    return np.transpose(data, (2, 1, 0))  # (x, y, z) -> (z, y, x): slices, rows, columns


def window_to_uint8(volume: np.ndarray, window=None) -> np.ndarray:
    """Clip to ``window`` (``None``: the volume's 0.5-99.5 percentiles) and scale to 0-255 (float32)."""
    low, high = (float(v) for v in (window if window else np.percentile(volume, PERCENTILES)))
    if high <= low:  # a constant volume
        return np.zeros_like(volume, dtype=np.float32)
    return ((np.clip(volume, low, high) - low) * (255.0 / (high - low))).astype(np.float32)


def resize(volume: np.ndarray, shape) -> np.ndarray:
    """``volume`` resized to ``shape`` (linear interpolation)."""
    from scipy import ndimage

    if tuple(volume.shape) == tuple(shape):
        return volume
    factors = [target / size for target, size in zip(shape, volume.shape)]
    out = ndimage.zoom(volume, factors, order=1, mode="nearest", grid_mode=True)
    return out[: shape[0], : shape[1], : shape[2]]


def to_uint8(volume: np.ndarray, shape, window=None) -> np.ndarray:
    """Windowed, resized, rounded: one ``(D, H, W)`` uint8 volume."""
    return np.clip(np.rint(resize(window_to_uint8(volume, window), shape)), 0, 255).astype(np.uint8)


def write_volume(path: str | Path, volume: np.ndarray, *, affine=None) -> Path:
    """Write ``volume`` ``(D, H, W)`` as a NIfTI file that :func:`read_volume` reads back as ``volume``
    (RAS+ affine; used by tests and examples)."""
    import nibabel as nib

    data = np.transpose(np.asarray(volume), (2, 1, 0))
    nib.save(nib.Nifti1Image(data, np.eye(4) if affine is None else affine), str(path))
    return Path(path)


def _options(root: Path) -> dict:
    path = root / OPTIONS
    if not path.is_file():
        return {}
    try:
        options = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise UsageError(f"Cannot read {path}: {first_line(err)}") from None
    unknown = set(options) - {"shape", "window"} if isinstance(options, dict) else {"(not an object)"}
    if unknown:
        raise UsageError(f"{path}: unknown key {sorted(unknown)[0]!r}; it may set 'shape' and 'window'.")
    return options


def _check_shape(shape) -> tuple[int, int, int]:
    try:
        out = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        out = ()
    if len(out) != 3 or min(out) <= 0 or out != tuple(shape):
        raise UsageError(f"NIfTI shape must be (depth, height, width), three positive integers. Received: {shape!r}")
    return out


def _check_window(window):
    if window is None:
        return None
    try:
        low, high = (float(v) for v in window)
    except (TypeError, ValueError):
        low = high = float("nan")
    if not low < high:
        raise UsageError(f"NIfTI window must be [low, high] with low < high (e.g. [-1000, 400] HU). "
                         f"Received: {window!r}")
    return low, high

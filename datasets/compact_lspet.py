"""Write a compact copy of LSPET: each image cut to a window around its person, same layout.

The copy keeps LSPET's own layout (``images/imNNNNN.jpg`` + ``joints.mat``, shape (14, 3, N)),
so every loader, split and tool reads it as it reads the original (``--data-root`` the copy).
It exists to carry the data where a size limit applies (a remote GPU machine that takes at
most 64 MiB): the first 5000 originals alone hold 85 MB, mostly background far from the person.

Per image, the window is centred on the box of the labelled joints (flag 1) with a half-side
of ``--margin`` times the box's longer side (default 1.3, i.e. a window 2.6x the joint box),
clipped to the image and aligned to its pixel grid. A training crop of ``crop_padding`` P
box sides, scaled by up to S and rotated by up to R degrees, reaches
``P / 2 * S * (cos R + sin R)`` box sides from the centre; the margin must be at least that
for the crops to see the original's background rather than black: 1.10 for the shipped body
models' last stages (P 1.15, S 1.35, R up to 45), 1.37 for the loader's default padding 1.6
with Newell et al.'s augmentation (S 1.25, R 30), which the default 1.3 does not quite hold.
Joints move by the window's integer offset (exact in any pixel convention);
LSPET's placeholder coordinates of unlabelled joints (flag 0, x and y <= 0) are kept as they
are. Images whose window is the whole image are copied byte for byte; the others are
re-encoded as JPEG with the original file's own quantisation tables and chroma subsampling, so
the copy keeps the source's quality (LSPET's files are already compressed to about quality 75).

That left 46 MB for the 4500 training people of the first 5000 images. To fit less,
``--only-split train`` writes the images of one split alone (``hourglass.data.lsp.lspet_split``:
the 500 held-out people fixed by image number among images 1-5000, every other image training
data; the loader's ``train`` and ``val``; training on a copy without the ``val`` images warns
that they are missing and runs without validation) and ``--quality Q`` re-encodes every image
at JPEG quality Q. At ``--margin 1.1``, 65 gave 41 MB for those 4500 people and 82.5 MB for the
9000 of the 9500-image copy, over a 64 MiB limit; a second compression the originals do not
have, so evaluate on the originals.

Usage::

    python datasets/compact_lspet.py ../shared/data/lspet .devdata/lspet
    python datasets/compact_lspet.py ../shared/data/lspet .devdata/lspet --margin 1.1 --only-split train --quality 65
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image, JpegImagePlugin
from tqdm import tqdm

from hourglass.data.lsp import lspet_split

VAL_FRACTION = 0.1  # the shipped body models' held-out share (weights/README.md)


def window(joints: np.ndarray, width: int, height: int, margin: float) -> tuple[int, int, int, int]:
    """Integer ``(x0, y0, x1, y1)`` (end exclusive) of the window around one person's labelled joints.

    ``joints``: (14, 3) LSPET rows (1-based x, y, flag). No labelled joint: the whole image.
    """
    labelled = joints[joints[:, 2] == 1, :2] - 1.0  # 0-based pixel centres
    if len(labelled) == 0:
        return 0, 0, width, height
    low, high = labelled.min(0), labelled.max(0)
    centre, half = (low + high) / 2, margin * max(high - low) + 2.0  # 2 px for interpolation support
    x0, y0 = (max(0, int(np.floor(c - half))) for c in centre)
    x1, y1 = min(width, int(np.ceil(centre[0] + half)) + 1), min(height, int(np.ceil(centre[1] + half)) + 1)
    return x0, y0, x1, y1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="LSPET root (joints.mat, images/)")
    parser.add_argument("out", type=Path, help="folder of the compact copy (created)")
    parser.add_argument("--margin", type=float, default=1.3, help="window half-side / longer side of the joint box")
    parser.add_argument(
        "--only-split", choices=("train", "val"), help="write only this split's images (LSPET's seeded 90/10 split)"
    )
    parser.add_argument(
        "--quality", type=int, help="re-encode every image at this JPEG quality (default: keep each file's own tables)"
    )
    args = parser.parse_args(argv)
    if args.quality is not None and not 1 <= args.quality <= 100:
        parser.error(f"--quality must be in 1..100, got {args.quality}")
    mat = args.source / "joints.mat"
    if not mat.is_file():
        parser.error(f"{mat} does not exist: SOURCE must be an LSPET root holding joints.mat and images/")
    if not args.margin > 0:
        parser.error(f"--margin must be positive, got {args.margin}")
    joints = scipy.io.loadmat(mat)["joints"].astype(np.float64)
    if joints.ndim != 3 or joints.shape[:2] != (14, 3):
        parser.error(f"{mat}: 'joints' has shape {joints.shape}, expected LSPET's (14, 3, N)")
    out_images = args.out / "images"
    if out_images.is_dir() and any(out_images.iterdir()):
        # a copy of another split or margin would stay beside the new joints.mat, which moves only these joints
        parser.error(f"{out_images} already holds images; remove {args.out} first or write to another folder")
    out_images.mkdir(parents=True, exist_ok=True)
    moved = joints.copy()
    copied = cut = 0
    indices = np.arange(joints.shape[2])
    if args.only_split is not None:
        train, val = lspet_split(joints.shape[2], VAL_FRACTION, seed=0)
        indices = train if args.only_split == "train" else val
    for i in tqdm(indices, desc="compacting LSPET", unit="image"):
        name = f"im{i + 1:05d}.jpg"
        src = args.source / "images" / name
        try:
            image = Image.open(src)
            image.load()
        except OSError as e:
            print(f"error: {src} is missing or unreadable ({e})", file=sys.stderr)
            return 1
        width, height = image.size
        x0, y0, x1, y1 = window(joints[:, :, i], width, height, args.margin)
        whole = (x0, y0, x1, y1) == (0, 0, width, height)
        if whole and (args.quality is None or image.format != "JPEG"):
            shutil.copyfile(src, out_images / name)
            copied += 1
            continue
        window_image = image.crop((x0, y0, x1, y1)).convert("RGB")
        if args.quality is not None:
            window_image.save(out_images / name, format="JPEG", quality=args.quality)
        elif image.format == "JPEG":
            sampling = max(JpegImagePlugin.get_sampling(image), 0)
            window_image.save(out_images / name, format="JPEG", qtables=image.quantization, subsampling=sampling)
        else:
            window_image.save(out_images / name, format="JPEG", quality=95)
        flag = joints[:, 2, i] == 1
        moved[flag, 0, i] -= x0
        moved[flag, 1, i] -= y0
        cut += 1
    scipy.io.savemat(args.out / "joints.mat", {"joints": moved}, do_compression=True)
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    print(f"{args.out}: {copied} images copied, {cut} cut to their person's window; {size / 1e6:.1f} MB in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())

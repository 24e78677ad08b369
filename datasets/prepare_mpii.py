#!/usr/bin/env python
"""Convert the official MPII release (.mat) to the community JSON layout (see datasets/mpii.md).

    python datasets/prepare_mpii.py --mat mpii_human_pose_v1_u12_1.mat --out data/mpii/annot \\
        --valid-h5 data/mpii/annot/valid.h5

Writes ``OUT/train.json`` (and, with ``--valid-h5``, ``OUT/valid.json`` holding the people of
that file in its order, left out of ``train.json``), ``OUT/test.json`` for ``--split test`` or
``OUT/all.json`` for ``--split all``. The JSON is the layout HRNet and MMPose read (1-based,
raw centre and scale) plus ``is_visible``, ``headbox``, ``image_index`` and ``person_index``;
read it back with ``hourglass.data.mpii.load_mpii_json``. Needs the package installed
(``bash tools/setup.sh``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hourglass.data.mpii import split_by_reference, write_mpii_json
from hourglass.data.mpii_h5 import load_mpii_h5
from hourglass.data.mpii_mat import load_mpii_mat
from hourglass.data.records import DataError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mat", required=True, help="mpii_human_pose_v1_u12_1.mat")
    parser.add_argument("--out", required=True, help="output folder for the JSON files")
    parser.add_argument("--split", default="train", choices=["train", "test", "all"], help="default: %(default)s")
    parser.add_argument("--valid-h5", help="hourglass valid.h5: write its people to valid.json, not train.json")
    parser.add_argument("--allow-missing", action="store_true", help="accept --valid-h5 people absent from --mat")
    args = parser.parse_args(argv)
    if args.valid_h5 and args.split != "train":
        parser.error("--valid-h5 only applies to --split train")
    try:
        people = load_mpii_mat(args.mat, "images", split=args.split)
        outputs = {args.split: list(people)}
        if args.valid_h5:
            reference = load_mpii_h5(args.valid_h5, "images")
            try:
                valid, train = split_by_reference(people, reference, allow_missing=args.allow_missing)
            except ValueError as e:
                raise ValueError(f"{e} (--allow-missing)") from None
            outputs = {"train": train, "valid": valid}
    except (DataError, FileNotFoundError, ValueError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, records in outputs.items():
        path = write_mpii_json(records, out / f"{name}.json")
        print(f"{path}: {len(records)} people")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Keypoints on your own images and videos: draw them, print a summary, write JSON.

Examples:
    python tools/infer.py photo.jpg                           # -> photo.keypoints.png
    python tools/infer.py --sample                            # matplotlib's sample portrait -> outputs/
    python tools/infer.py photos/ 'more/*.jpg' --out results/ --json
    python tools/infer.py crop.png --model runs/face-hg --whole-image --heatmaps
    python tools/infer.py photo.jpg --model 300w-hg2 --box 120,80,200,220 --box 400,90,180,200
    python tools/infer.py --video clip.mp4 --out clip.keypoints.mp4 --json

Inputs are image files, folders (their images, sorted; sub-folders with --recursive) and
glob patterns (expanded here, so quoting them works). Earlier results in a folder
(*.keypoints.png, *.heatmaps.png) are not taken as inputs.

Models. --model names one model for every subject: a shipped name (weights/NAME.pt or
$HOURGLASS_WEIGHTS), a weights file, a training checkpoint or a run folder; subjects come
from --box / --boxes / --whole-image, else from the detector of its keypoints (OpenCV's Haar
faces for face models, HOG people otherwise). Without --model the shipped face model
(300w-hg2) and the shipped body model (lspet-hg4) each look at their candidates: the Haar
faces, frontal and profile (HOG people), and the whole image, each crop refined from its own
keypoints (--refine); a subject is kept when its presence score passes the model's calibrated
threshold, once (the weaker of two overlapping ones is dropped). When neither keeps anyone the
line says "nobody found" and nothing is drawn (exit status 3 if no input had anyone). A model without a
calibrated threshold (a run folder, a regressor) keeps its detector's subjects; with none,
the whole image is taken as a person (as a face when only the face model is shipped). A
shipped model whose file is absent is left out with a note. Given boxes go to the shipped
model of --kind (default face).

Boxes are x,y,w,h in the upright image (EXIF orientation applied): top-left corner, width,
height, with pixel i covering [i - 0.5, i + 0.5] (a box tight around pixels 10..109 is x = 9.5,
w = 100; numbers read off an image viewer are at most half a pixel off, harmless for a crop).
--boxes reads a JSON file, {"photo.jpg": [[x, y, w, h], ...]} or [{"image": "photo.jpg",
"bbox": [x, y, w, h]}, ...]; an image it does not list is detected.

Outputs, for photo.jpg: outputs/photo.keypoints.png (the drawing, in ./outputs, never beside
the input; --out FILE for one input, --out FOLDER for several; files an earlier run left there
for the same drawing that this run does not write are removed and named),
photo.keypoints.json with --json (beside the drawing; --json PATH.json for one file: the
image's entry, or a list of entries with several inputs; --json FOLDER for one file per
image), photo.heatmaps.png with --heatmaps. JSON per image: {"image", "width",
"height", "model", "subjects": [{"keypoints": [x, y, score] * K, "score", "bbox", "box_score",
"keypoint_names", "model", "source", ...}]}: (x, y) pixel centres, 0-based, in the upright
image; "bbox" in the convention of --box (COCO boxes have their corner half a pixel further,
at x + 0.5); the score is the heatmap peak (null for regression models, which give none);
"presence" the subject's presence score; "in_view" per keypoint whether the model places it in
view (null for a model without a calibrated keypoint threshold; keypoints out of view are not
drawn). A video
gives one JSON file {"video", "width", "height", "fps", "model", "frames": [{"frame", "time",
"subjects"}]}; its subjects are looked for afresh every --detect-every frames and follow their
own keypoints in between, smoothed by a One-Euro filter (--no-smooth for the raw ones).

Exit status: 0 done; 1 some of several inputs failed (each reported, the others written);
2 a user error (bad option, missing or unreadable model, missing or unreadable input, no
subject found in the only input by a model without a presence threshold), each as one line
"error: ..." on stderr; 3 done, but nobody found in any input.
"""

from __future__ import annotations

import sys

from hourglass.annotate import cli


def main(argv: list[str] | None = None) -> int:
    """Run on ``argv`` (default ``sys.argv[1:]``): :func:`hourglass.annotate.cli.main` with this usage text."""
    return cli.main(argv, description=__doc__)


if __name__ == "__main__":
    sys.exit(main())

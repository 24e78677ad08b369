"""Regenerate the worked example of the custom dataset format (datasets/README.md).

Draws two small images of cartoon faces with five landmarks each and writes
``annotations.json`` beside them. Each landmark is drawn centred on the pixel whose index
is its coordinate, which is this library's convention (hourglass/geometry.py), so the
JSON uses the default ``"coordinate_origin": "zero_based_pixel_centers"``.

    python datasets/custom_example/generate.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
NAMES = ["l_eye", "r_eye", "nose", "l_mouth", "r_mouth"]  # l_ = the subject's left (image right)
SKIN, EYE, NOSE, MOUTH, HAND = (255, 214, 170), (40, 40, 120), (220, 60, 60), (150, 30, 60), (90, 160, 90)

# Faces: centre (x, y) and half-size (a, b) of the head ellipse (landmarks follow from them),
# landmarks hidden by a hand (v = 1) or not labelled (v = 0), and how the crop is given.
SCENES = {
    "face_01.png": {"size": (160, 120), "hand": None, "faces": [
        {"center": (80, 60), "half": (36, 46), "hidden": [], "unlabelled": [], "crop": "bbox"},
    ]},
    "face_02.png": {"size": (200, 120), "hand": (148, 36), "faces": [
        {"center": (52, 64), "half": (26, 34), "hidden": [], "unlabelled": ["nose"], "crop": "bbox"},
        {"center": (140, 58), "half": (34, 44), "hidden": ["l_eye"], "unlabelled": [], "crop": "center_scale"},
    ]},
}  # fmt: skip


def landmarks(center: tuple[int, int], half: tuple[int, int]) -> np.ndarray:
    """(5, 2) integer landmark positions of a face, in NAMES order."""
    (cx, cy), (a, b) = center, half
    dx, ey, my, mx = round(0.38 * a), round(0.25 * b), round(0.42 * b), round(0.33 * a)
    return np.array(
        [[cx + dx, cy - ey], [cx - dx, cy - ey], [cx, cy + round(0.08 * b)], [cx + mx, cy + my], [cx - mx, cy + my]]
    )


def draw(size: tuple[int, int], faces: list[dict], hand: tuple[int, int] | None) -> tuple[np.ndarray, list]:
    w, h = size
    img = np.full((h, w, 3), (235, 240, 250), np.uint8)  # RGB
    points = []
    for face in faces:
        p = landmarks(face["center"], face["half"])
        cv2.ellipse(img, face["center"], face["half"], 0, 0, 360, SKIN, -1, cv2.LINE_8)
        cv2.line(img, tuple(map(int, p[3])), tuple(map(int, p[4])), MOUTH, 2, cv2.LINE_8)
        for k, color, r in ((0, EYE, 4), (1, EYE, 4), (2, NOSE, 3), (3, MOUTH, 2), (4, MOUTH, 2)):
            cv2.circle(img, tuple(map(int, p[k])), r, color, -1, cv2.LINE_8)
        points.append(p)
    if hand is not None:  # a hand in front of the second face's left eye
        cv2.rectangle(img, (hand[0] - 9, hand[1] - 9), (hand[0] + 12, hand[1] + 14), HAND, -1, cv2.LINE_8)
    return img, points


def main() -> None:
    images, annotations = [], []
    for image_id, (name, scene) in enumerate(SCENES.items(), start=1):
        img, points = draw(scene["size"], scene["faces"], scene["hand"])
        cv2.imwrite(str(HERE / name), img[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9])
        w, h = scene["size"]
        images.append({"id": image_id, "file_name": name, "width": w, "height": h})
        for face, p in zip(scene["faces"], points, strict=True):
            flat: list = []
            for name, (x, y) in zip(NAMES, p.tolist(), strict=True):
                if name in face["unlabelled"]:
                    flat += [None, None, 0]
                else:
                    flat += [x, y, 1 if name in face["hidden"] else 2]
            ann = {"id": len(annotations) + 1, "image_id": image_id, "keypoints": flat}
            (cx, cy), (a, b) = face["center"], face["half"]
            if face["crop"] == "bbox":  # tight around the head's pixels cx - a .. cx + a: edges are half a pixel out
                ann["bbox"] = [cx - a - 0.5, cy - b - 0.5, 2 * a + 1, 2 * b + 1]
            else:  # centre and scale given directly: 0.5 * 200 = 100 px crop
                ann["center"], ann["scale"] = [cx, cy], 0.5
            annotations.append(ann)
    data = {
        "coordinate_origin": "zero_based_pixel_centers",
        "keypoint_spec": {
            "name": "cartoon_face",
            "keypoints": NAMES,
            "flip_pairs": [["l_eye", "r_eye"], ["l_mouth", "r_mouth"]],
            "skeleton": [["l_eye", "r_eye"], ["l_eye", "nose"], ["r_eye", "nose"], ["l_mouth", "r_mouth"]],
            "interocular": ["l_eye", "r_eye"],
        },
        "images": images,
        "annotations": annotations,
    }
    text = json.dumps(data, indent=2)
    text = re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + re.sub(r"\s*\n\s*", " ", m.group(1)) + "]", text)
    (HERE / "annotations.json").write_text(text + "\n")


if __name__ == "__main__":
    main()

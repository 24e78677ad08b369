"""Background crops with empty targets: what a model learns "nobody here" from.

A heatmap model trained only on crops that hold a subject puts peaks somewhere whatever it is
shown: it has never been told what no subject looks like. :class:`WithNegatives` adds, to a
training :class:`~hourglass.data.dataset.KeypointDataset`, crops cut from the same images away
from every annotated subject, whose target heatmaps are all zero with every keypoint weighted
(so the loss pulls each map's maximum down). After such training a map's maximum also says
whether a subject is there, which the presence score reads
(:func:`hourglass.codec.presence_score`).

A negative crop takes a random training image, a scale drawn around that image's subject
(0.6-1.6 times its crop), a centre drawn uniformly over the image, and is kept when the crop
square overlaps every annotated subject's crop square by at most :data:`MAX_OVERLAP` of the
smaller square's area (:func:`clear_of`; up to 20 draws; then a crop of another image is tried). Augmentation (rotation,
flip, colour, blur, noise, occlusion) is drawn as for a positive. Where no image leaves room (a
subject filling every frame), the negative is a smooth random texture.

Unannotated subjects in the background (a crowd behind an athlete) can land in a negative: the
loss then calls a real subject background. Keep the fraction modest (0.1-0.2).
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
import torch

from hourglass.data.dataset import KeypointDataset
from hourglass.data.io import read_image
from hourglass.data.pipeline import Sample
from hourglass.geometry import PIXEL_STD

__all__ = ["MAX_OVERLAP", "WithNegatives", "clear_of", "negative_count", "subject_squares"]

MAX_OVERLAP = 0.1
"""Largest share of an annotated subject's crop square a negative crop may cover."""
_SCALE = (0.6, 1.6)
_TRIES = 20


def negative_count(positives: int, fraction: float) -> int:
    """Negatives to add so that they make ``fraction`` of the samples (0 <= fraction < 1)."""
    if not 0 <= fraction < 1:
        raise ValueError(f"the negative fraction must be in [0, 1), got {fraction!r}")
    return int(round(positives * fraction / (1 - fraction)))


class WithNegatives(torch.utils.data.Dataset):
    """``positives`` followed by background crops (module docstring).

    Index ``i < len(positives)`` is the positive; the rest are negatives. Indexing follows
    :class:`~hourglass.data.dataset.KeypointDataset` (``i`` or ``(epoch, i)``; :meth:`set_epoch`).
    A negative's ``target_weight`` is 1 for every keypoint with all-zero heatmaps;
    ``coord_weight`` and ``labelled`` are 0 (a regressor learns nothing from it).
    """

    def __init__(self, positives: KeypointDataset, fraction: float, *, seed: int = 0) -> None:
        if not isinstance(positives, KeypointDataset):
            raise TypeError(f"positives must be a KeypointDataset, got {type(positives).__name__}")
        self.positives = positives
        self.fraction = float(fraction)
        self.negatives = negative_count(len(positives), self.fraction)
        self.seed = int(seed)
        self._squares = subject_squares(positives.annotations)

    def __len__(self) -> int:
        return len(self.positives) + self.negatives

    def __repr__(self) -> str:
        return f"WithNegatives({self.positives!r}, {self.negatives} negatives)"

    @property
    def annotations(self) -> Any:
        return self.positives.annotations

    @property
    def pipeline(self) -> Any:
        return self.positives.pipeline

    @property
    def epoch(self) -> int:
        return self.positives.epoch

    def set_epoch(self, epoch: int) -> None:
        self.positives.set_epoch(epoch)

    def __getitem__(self, index: int | tuple[int, int]) -> Sample:
        epoch = self.positives.epoch
        if isinstance(index, tuple):
            epoch, index = operator.index(index[0]), index[1]
        i = operator.index(index)
        n = len(self.positives)
        if not 0 <= i < len(self):
            raise IndexError(
                f"index {i} is out of range for {len(self)} samples ({n} subjects, {self.negatives} negatives)"
            )
        if i < n:
            return self.positives[(epoch, i)]
        return self.negative(np.random.default_rng([self.seed, epoch, i, 1]))

    def negative(self, rng: np.random.Generator) -> Sample:
        """One background crop with empty targets, drawn from ``rng``."""
        records = self.positives.annotations
        pipeline = self.positives.pipeline
        aug = pipeline.draw(rng)
        k = records.spec.num_keypoints
        for _ in range(3):  # up to three images
            record = records[int(rng.integers(len(records)))]
            image = read_image(record.image)
            h, w = image.shape[:2]
            for _ in range(_TRIES):
                scale = record.scale * rng.uniform(*_SCALE)
                centre = rng.uniform([0, 0], [w, h]) - 0.5
                if self._clear(str(record.image), centre, scale):
                    return self._empty(image, centre, scale, aug, k)
        texture = _texture(rng, 256)
        return self._empty(texture, np.array([127.5, 127.5]), 256 / PIXEL_STD, aug, k)

    def _clear(self, image: str, centre: np.ndarray, scale: float) -> bool:
        half = PIXEL_STD * scale / 2
        return clear_of(np.r_[centre - half, centre + half], self._squares.get(image, []))

    def _empty(self, image: np.ndarray, centre: np.ndarray, scale: float, aug: Any, k: int) -> Sample:
        no_points = np.full((k, 2), np.nan)
        s = self.positives.pipeline.apply(image, no_points, np.zeros(k, bool), centre, scale, aug)
        return s._replace(target_weight=torch.ones_like(s.target_weight))


def subject_squares(records: Any, grow: float = 1.0) -> dict[str, list[np.ndarray]]:
    """Every annotated subject's crop square (x0, y0, x1, y1), grown ``grow`` times about its
    centre, listed per image path."""
    out: dict[str, list[np.ndarray]] = {}
    for r in records:
        half = PIXEL_STD * r.scale / 2 * grow
        out.setdefault(str(r.image), []).append(np.r_[r.center - half, r.center + half])
    return out


def clear_of(square: np.ndarray, subjects: list[np.ndarray]) -> bool:
    """Whether the square (x0, y0, x1, y1) overlaps each subject square by at most
    :data:`MAX_OVERLAP` of the smaller of the two (a small crop inside a subject is not clear)."""
    area = (square[2] - square[0]) * (square[3] - square[1])
    for sq in subjects:
        ix = max(0.0, min(square[2], sq[2]) - max(square[0], sq[0]))
        iy = max(0.0, min(square[3], sq[3]) - max(square[1], sq[1]))
        if ix * iy > MAX_OVERLAP * min(area, (sq[2] - sq[0]) * (sq[3] - sq[1])):
            return False
    return True


def _texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth random colour texture (uint8 RGB, size x size): low-frequency noise upsampled."""
    import cv2

    small = rng.integers(0, 256, (8, 8, 3)).astype(np.uint8)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)

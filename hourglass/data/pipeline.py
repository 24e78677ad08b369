"""Top-down training samples: one affine warp per sample, photometric augmentation, targets.

:class:`TopDownPipeline` turns one annotated subject (image, keypoints, centre, scale) into a
network input and its targets::

    (image uint8 RGB, keypoints (K, 2), labelled (K,), center (2,), scale, rng)
        -> Sample(image (3, H, W) float32, heatmaps (K, h, w), target_weight (K,),
                  coords (K, 2), coords_normalized (K, 2), coord_weight (K,), metadata)

Geometry. Random scale, rotation and flip are composed into ONE matrix,
``geometry.crop_matrix(center, scale * s, input_size, rotation, flip)``, and the crop is
sampled by ONE ``geometry.warp_image`` (bilinear, black border), straight from the full image
(or from a reduced decode or a cached crop, whose affine is composed into the same matrix, see
:mod:`hourglass.data.dataset`). The heatmap targets use ``crop_matrix`` with the same
parameters at the heatmap size, so input and targets are two samplings of one crop. After a
flip, keypoints and masks are permuted with ``spec.flip_index``: the mirrored left wrist is
the new right wrist.

Photometric augmentation runs through albumentations on the uint8 crop AFTER the warp (a
256-pixel crop is much cheaper to process than the full image): per-channel colour scaling,
Gaussian blur, Gaussian luminance noise and coarse dropout (occlusion: black rectangles;
the keypoints under them keep their targets), each with its own probability.
The image stays uint8 until the final normalisation, which maps it to float32 through a
per-channel lookup table.

Determinism. Every random number comes from the ``np.random.Generator`` passed in, in a
fixed order (geometry first, then one seed for the photometric stage), so a sample is a pure
function of its inputs and the generator's state; the geometry does not depend on which
photometric options are enabled. The albumentations transforms share one generator seeded
from the sample's generator (``Compose.set_random_state``; ``Compose.set_random_seed`` would
give every child transform the same stream, so that their apply/skip decisions would be
correlated). The pipeline object holds that mutable albumentations state: use one pipeline
per thread (DataLoader worker processes each get their own copy). ``train=False`` draws
nothing and applies no random augmentation.

Defaults and where they come from (see also REFERENCE.md):

- scale factor in (0.75, 1.25), drawn as ``clip(1 + 0.25 N(0, 1), 0.75, 1.25)``: the
  PyTorch re-implementation of the stacked hourglass (the original Torch code draws
  ``2 ** clip(0.25 N, -0.5, 0.5)``);
- rotation within +-30 degrees, applied with probability 0.4: the original Torch code
  draws ``clip(30 N, -60, 60)`` and then sets it to 0 with probability 0.6; here the same
  normal draw is clipped at the configured bound (+-30, the range the papers quote).
  The PyTorch re-implementation and HRNet rotate with probability 0.6 instead;
- no centre shift (``shift``, off by default as in every published recipe; on, it frames
  crops the way a detector's box does at inference);
- no partial views and no absent targets (``partial_prob``, ``absent_targets``; on, the
  model learns that a joint out of view is absent instead of guessing one, so a
  head-and-shoulders photo does not get legs);
- flip with probability 0.5 (all implementations);
- colour: each RGB channel multiplied by U(0.6, 1.4), always (original Torch code);
- blur 0.1 (RTMPose's MMPose configs use blur 0.1), noise 0.1 and one occluding hole of
  20-40 % of the crop side with probability 0.2 (RTMPose: 1.0, then 0.5 in its second
  stage): this toolkit's choices, not the original hourglass recipe's. They are on in every
  training run: ``hourglass.engine.build`` passes only the sizes and sigma, so every preset
  and the shipped weights (300w-hg2, 300w-vgg, lspet-hg2, lspet-hg4) trained with them;
- normalisation with the ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225)
  of RGB values in [0, 1] (torchvision's pretrained models; the original code used none, the
  PyTorch re-implementation a dataset mean).
"""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch

from hourglass.codec import encode_heatmaps
from hourglass.data.pipeline_config import IMAGENET_MEAN, IMAGENET_STD, PipelineConfig
from hourglass.geometry import (
    PIXEL_STD,
    compose_affine,
    crop_matrix,
    invert_affine,
    to_normalized,
    transform_points,
    warp_image,
)
from hourglass.keypoints import KeypointSpec

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "PipelineConfig",
    "Augmentation",
    "Sample",
    "TopDownPipeline",
]


@dataclass(frozen=True)
class Augmentation:
    """The random parameters of one sample (identity by default).

    Attributes:
        scale_factor: multiplier of the annotation's crop scale.
        rotation: degrees, positive turns the content counter-clockwise.
        flip: horizontal mirror.
        seed: seed of the photometric stage, or None for no photometric augmentation.
        shift: (dx, dy) move of the crop centre along the image axes, as fractions of the crop side.
    """

    scale_factor: float = 1.0
    rotation: float = 0.0
    flip: bool = False
    seed: int | None = None
    shift: tuple[float, float] = (0.0, 0.0)


class Sample(NamedTuple):
    """One training sample (a NamedTuple, so ``torch.utils.data.default_collate`` batches it).

    K keypoints, input size (W, H), heatmap size (w, h). Keypoint-indexed fields are in the
    order of the OUTPUT image: after a flip, index k holds the mirrored partner of the input's
    keypoint k (``spec.flip_index``).

    Attributes:
        image: (3, H, W) float32 tensor, RGB, normalised with the config's mean and std.
        heatmaps: (K, h, w) float32 target heatmaps (Gaussian at the exact sub-pixel point).
        target_weight: (K,) float32, 1 for keypoints that are labelled and inside the crop
            (with ``absent_targets``: 1 for every labelled keypoint, whose map outside the crop is all zero).
        coords: (K, 2) float32 keypoints (x, y) in input-crop pixels. Keypoints that are not
            labelled hold 0 (a placeholder that keeps losses finite; see ``labelled``).
        coords_normalized: (K, 2) float32 ``geometry.to_normalized(coords, input_size)``, the
            VGG regressor's targets (0 and 1 are the crop's outer edges).
        coord_weight: (K,) float32, 1 for keypoints that are labelled and inside the crop.
        labelled: (K,) bool, the keypoint is annotated (in or outside the crop).
        center: (2,) float64 crop centre (x, y) in original image coordinates.
        scale: effective crop scale (annotation scale x augmentation factor), 200-px units.
        rotation: crop rotation in degrees.
        flip: whether the crop is mirrored.
        matrix: (2, 3) float64 affine from original image to input-crop coordinates,
            ``crop_matrix(center, scale, input_size, rotation, flip)``; invert it (or use
            ``codec.heatmap_to_image`` with center/scale/rotation for unflipped crops) to map
            predictions back to the image.
    """

    image: torch.Tensor
    heatmaps: torch.Tensor
    target_weight: torch.Tensor
    coords: torch.Tensor
    coords_normalized: torch.Tensor
    coord_weight: torch.Tensor
    labelled: torch.Tensor
    center: np.ndarray
    scale: float
    rotation: float
    flip: bool
    matrix: np.ndarray


def _photometric(config: PipelineConfig) -> Any:
    """The albumentations Compose of the enabled photometric transforms, or None."""
    c = config
    if not c.train or not any((c.color_prob, c.blur_prob, c.noise_prob, c.dropout_prob)):
        return None
    # albumentations asks PyPI for a newer version on import unless told not to.
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    import albumentations as A

    transforms = []
    if c.color_prob > 0:  # the original code's per-channel colour scaling
        transforms.append(
            A.MultiplicativeNoise(multiplier=c.color_scale, per_channel=True, elementwise=False, p=c.color_prob)
        )
    if c.blur_prob > 0:
        transforms.append(A.GaussianBlur(blur_limit=0, sigma_limit=c.blur_sigma, p=c.blur_prob))
    if c.noise_prob > 0:
        # One noise value per pixel, shared by the channels (luminance noise): a third of the
        # cost of per-channel noise, which takes ~3 ms per 256 x 256 crop.
        transforms.append(A.GaussNoise(std_range=c.noise_std, per_channel=False, p=c.noise_prob))
    if c.dropout_prob > 0:
        transforms.append(
            A.CoarseDropout(
                num_holes_range=c.dropout_holes,
                hole_height_range=c.dropout_size,
                hole_width_range=c.dropout_size,
                fill=0,
                p=c.dropout_prob,
            )
        )
    return A.Compose(transforms)


class _Subject(NamedTuple):
    """One subject's checked inputs to :meth:`TopDownPipeline.apply`."""

    keypoints: np.ndarray  # (K, 2) float64 (x, y), image coordinates
    labelled: np.ndarray  # (K,) bool
    center: np.ndarray  # (2,) float64
    scale: float  # positive, 200-px units


class TopDownPipeline:
    """Builds training (or evaluation) samples for one keypoint spec; see the module docstring.

    Args:
        config: the pipeline configuration.
        spec: the keypoint spec (its ``flip_index`` permutes keypoints after a flip).
    """

    def __init__(self, config: PipelineConfig, spec: KeypointSpec) -> None:
        if not isinstance(config, PipelineConfig):
            raise TypeError(f"config must be a PipelineConfig, got {type(config).__name__}")
        if not isinstance(spec, KeypointSpec):
            raise TypeError(f"spec must be a KeypointSpec, got {type(spec).__name__}")
        self.config = config
        self.spec = spec
        self._flip_index = np.asarray(spec.flip_index, dtype=np.intp)
        self._photometric = _photometric(config)
        # Normalisation as one float32 lookup table per channel: ((v / 255) - mean) / std.
        levels = np.arange(256, dtype=np.float64) / 255.0
        self._luts = [((levels - m) / s).astype(np.float32) for m, s in zip(config.mean, config.std)]

    def __repr__(self) -> str:
        return f"TopDownPipeline(spec={self.spec.name!r}, {self.config!r})"

    # --- random parameters ----------------------------------------------------------------
    def draw(self, rng: np.random.Generator) -> Augmentation:
        """Draw one sample's augmentation from ``rng`` (identity, drawing nothing, in eval mode).

        Always consumes the same numbers in the same order, whatever the probabilities, so
        the geometry of a seed does not change when photometric options are switched.
        """
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
        c = self.config
        if not c.train:
            return Augmentation()
        z = rng.standard_normal(2)
        u = rng.random(4)
        seed = int(rng.integers(0, 2**32))
        lo, hi = c.scale_factor
        if c.sampling == "normal":
            s = min(max((lo + hi) / 2 + (hi - lo) / 2 * z[0], lo), hi)
            r = min(max(c.rotation * z[1], -c.rotation), c.rotation)
        else:
            s = lo + (hi - lo) * u[0]
            r = c.rotation * (2 * u[1] - 1)
        r = r if u[2] < c.rotation_prob else 0.0
        # drawn last and only when asked for: a recipe without shift draws what it always drew
        d = tuple(float(v) for v in rng.uniform(-c.shift, c.shift, 2)) if c.shift > 0 else (0.0, 0.0)
        if c.partial_prob > 0:  # likewise: a partial view replaces the scale and the shift
            v = rng.random(4)
            if v[0] < c.partial_prob:
                s = c.partial_scale[0] + (c.partial_scale[1] - c.partial_scale[0]) * v[1]
                d = (c.partial_shift * (2 * v[2] - 1), c.partial_shift * (2 * v[3] - 1))
        return Augmentation(scale_factor=float(s), rotation=float(r), flip=bool(u[3] < c.flip_prob), seed=seed, shift=d)

    # --- one sample -----------------------------------------------------------------------
    def __call__(
        self,
        image: np.ndarray,
        keypoints: np.ndarray,
        labelled: np.ndarray,
        center: np.ndarray,
        scale: float,
        rng: np.random.Generator,
    ) -> Sample:
        """One sample with augmentation drawn from ``rng``: ``apply(..., draw(rng))``.

        Args:
            image: (H, W, 3) uint8 RGB image.
            keypoints: (K, 2) keypoints (x, y) in image coordinates (NaN allowed where not
                labelled).
            labelled: (K,) bool mask of annotated keypoints.
            center: (2,) crop centre (x, y) in image coordinates.
            scale: crop scale in units of 200 image pixels.
            rng: the sample's random generator.

        Returns:
            a :class:`Sample`.
        """
        return self.apply(image, keypoints, labelled, center, scale, self.draw(rng))

    def _check_inputs(
        self,
        image: np.ndarray,
        keypoints: np.ndarray,
        labelled: np.ndarray,
        center: np.ndarray,
        scale: float,
        augmentation: Augmentation,
    ) -> _Subject:
        """Check :meth:`apply`'s inputs (TypeError/ValueError naming the bad one); the subject as arrays."""
        k = self.spec.num_keypoints
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
            what = image.dtype if isinstance(image, np.ndarray) else type(image).__name__
            raise TypeError(
                f"image must be a uint8 RGB array (H, W, 3), got {what}; read it with hourglass.data.read_image"
            )
        if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] == 0 or image.shape[1] == 0:
            raise ValueError(f"image must have shape (H, W, 3) (RGB), got {image.shape}")
        keypoints = np.asarray(keypoints, dtype=np.float64)
        if keypoints.shape != (k, 2):
            raise ValueError(f"keypoints must have shape ({k}, 2) for spec {self.spec.name!r}, got {keypoints.shape}")
        labelled = np.asarray(labelled)
        if labelled.dtype != np.bool_:
            raise TypeError(f"labelled must be a bool mask, got dtype {labelled.dtype}; pass e.g. visibility > 0")
        if labelled.shape != (k,):
            raise ValueError(f"labelled must have shape ({k},) for spec {self.spec.name!r}, got {labelled.shape}")
        if not np.all(np.isfinite(keypoints[labelled])):
            bad = np.flatnonzero(labelled & ~np.isfinite(keypoints).all(axis=1)).tolist()
            raise ValueError(f"labelled keypoints {bad} have NaN or infinite coordinates; unmark them in labelled")
        center = np.asarray(center, dtype=np.float64)
        if center.shape != (2,) or not np.all(np.isfinite(center)):
            raise ValueError(f"center must be two finite numbers (x, y), got {center!r}")
        try:
            scale = float(scale)
        except (TypeError, ValueError):
            scale = math.nan
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be a positive number (units of 200 px), got {scale!r}")
        if not isinstance(augmentation, Augmentation):
            raise TypeError(f"augmentation must be an Augmentation, got {type(augmentation).__name__}")
        return _Subject(keypoints, labelled, center, scale)

    def apply(
        self,
        image: np.ndarray,
        keypoints: np.ndarray,
        labelled: np.ndarray,
        center: np.ndarray,
        scale: float,
        augmentation: Augmentation,
        *,
        source_matrix: np.ndarray | None = None,
    ) -> Sample:
        """One sample with given augmentation parameters (see :meth:`__call__`).

        Args:
            source_matrix: (2, 3) affine from original image coordinates to the coordinates of
                ``image`` when ``image`` is not the original (a reduced-resolution decode or a
                cached crop); composed into the one warp. ``keypoints``, ``center`` and
                ``scale`` stay in original image coordinates, and so does the returned
                ``matrix``.
        """
        c = self.config
        keypoints, labelled, center, scale = self._check_inputs(image, keypoints, labelled, center, scale, augmentation)

        a = augmentation
        crop_scale = scale * a.scale_factor
        if a.shift != (0.0, 0.0):  # the crop, not the subject, moves: a detector's framing error
            center = center + np.asarray(a.shift, dtype=np.float64) * PIXEL_STD * crop_scale
        matrix = crop_matrix(center, crop_scale, c.input_size, a.rotation, a.flip)  # image -> input
        heat_matrix = crop_matrix(center, crop_scale, c.heatmap_size, a.rotation, a.flip)  # image -> heatmap
        warp = matrix if source_matrix is None else compose_affine(matrix, invert_affine(source_matrix))
        crop = warp_image(image, warp, c.input_size)  # (H, W, 3) uint8, the one warp
        if self._photometric is not None and a.seed is not None:
            self._photometric.set_random_state(np.random.default_rng(a.seed), random.Random(a.seed))
            crop = self._photometric(image=crop)["image"]

        points = transform_points(keypoints, matrix)  # (K, 2) input-crop pixels
        heat_points = transform_points(keypoints, heat_matrix)  # (K, 2) heatmap pixels
        if a.flip:
            perm = self._flip_index
            points, heat_points, labelled = points[perm], heat_points[perm], labelled[perm]
        heatmaps, inside = encode_heatmaps(heat_points, labelled, c.heatmap_size, c.sigma)
        weight = labelled.astype(np.float32) if c.absent_targets else inside  # absent: all-zero map, learnt
        coords = np.where(labelled[:, None], points, 0.0).astype(np.float32)
        return Sample(
            image=torch.from_numpy(self.normalize(crop)),
            heatmaps=torch.from_numpy(heatmaps),
            target_weight=torch.from_numpy(weight),
            coords=torch.from_numpy(coords),
            coords_normalized=torch.from_numpy(to_normalized(coords, c.input_size)),
            coord_weight=torch.from_numpy(inside.copy()),
            labelled=torch.from_numpy(labelled.copy()),
            center=center.copy(),
            scale=crop_scale,
            rotation=float(a.rotation),
            flip=bool(a.flip),
            matrix=matrix,
        )

    def normalize(self, crop: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 RGB crop -> (3, H, W) float32 network input, through per-channel lookup
        tables of the config's mean and std (what every sample's ``image`` is)."""
        import cv2  # lazy, as across the package: OpenCV is slow to import

        h, w = crop.shape[:2]
        out = np.empty((3, h, w), dtype=np.float32)
        for ch, (plane, lut) in enumerate(zip(cv2.split(crop), self._luts)):
            cv2.LUT(plane, lut, dst=out[ch])
        return out

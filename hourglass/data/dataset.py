"""A PyTorch dataset of top-down training samples, with fast image loading.

:class:`KeypointDataset` pairs an :class:`~hourglass.data.records.AnnotationSet` with a
:class:`~hourglass.data.pipeline.TopDownPipeline`. Sample ``i`` of epoch ``e`` draws its
augmentation from ``np.random.default_rng([seed, e, i])``: reproducible, independent of the
order in which DataLoader workers fetch samples and of how many workers there are, and
different each epoch: call :meth:`KeypointDataset.set_epoch` before each epoch, or, where
DataLoader workers persist across epochs (``persistent_workers=True``; each keeps its own copy
of the dataset, which ``set_epoch`` does not reach), index with ``(epoch, i)`` pairs from the
batch sampler, as the trainer does.

Two ways to avoid decoding full-size images every time, both composed into the pipeline's
one affine warp (``source_matrix``), so that keypoints, targets and the returned ``matrix``
stay in original image coordinates:

- **Reduced-resolution decode** (``reduced_decode=True``): the augmentation is drawn first,
  then the image is read at 1/r of its size with r the largest of 1, 2, 4, 8 that still
  leaves at least one pixel per output pixel for THIS sample's crop (so it only helps when
  subjects are large in their images). JPEGs decode at that size natively (fast); other
  formats are decoded whole and averaged over exact r x r blocks
  (:func:`hourglass.data.io.read_image`), so a shrinking crop is anti-aliased whatever the
  format, as the predictor's is. A reduced pixel j covers original pixels ``r j .. r j + r - 1``, so
  ``x_orig = r x_red + (r - 1) / 2`` (:func:`hourglass.geometry.reduction_matrix`). libjpeg's DCT scaling is
  close to a box filter over those pixels: on a quality-95 JPEG, dot centroids move by less
  than 0.15 original pixels (0.03 on average), tested.
- **Crop cache** (``cache_dir=...``): a one-time pass writes, per subject, a square crop
  around the centre that contains every crop the pipeline can draw (the largest scale
  factor, any rotation up to the configured bound), sampled at one crop pixel per output
  pixel at the smallest scale factor, or at the image's own resolution when that is coarser
  (then the crop copies image pixels exactly). For the default config that is at most
  ``1.25 / 0.75 * (cos 30 + sin 30) = 2.28`` times the input size (587 px with its margin for
  a 256 px input), less when the subject is small in its image. Each crop is stored as JPEG
  (quality 95; or PNG, lossless) next to a small JSON with the affine from the original image
  to the crop and the source file's size and modification time; a crop whose source changed
  is rebuilt, on construction or when the sample is read. The cache key includes the image
  path, centre, scale and crop geometry, so a different config gets its own crops (old ones
  are not deleted). Later epochs decode only the small crop.

Usage::

    pipeline = TopDownPipeline(PipelineConfig(), annotations.spec)
    dataset = KeypointDataset(annotations, pipeline, seed=0, cache_dir="cache/mpii-train")
    loader = torch.utils.data.DataLoader(dataset, batch_size=16, shuffle=True, num_workers=4)
    for epoch in range(epochs):
        dataset.set_epoch(epoch)
        for batch in loader:  # a Sample of batched tensors
            ...
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import operator
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch.utils.data

from hourglass.data.io import read_image
from hourglass.data.pipeline import Augmentation, Sample, TopDownPipeline
from hourglass.data.pipeline_config import PipelineConfig
from hourglass.data.records import Annotation, AnnotationSet, DataError
from hourglass.geometry import REDUCTIONS, compose_affine, invert_affine, warp_image
from hourglass.geometry import cache_geometry as _cache_geometry
from hourglass.geometry import reduce_factor as _reduce_factor
from hourglass.geometry import reduction_matrix as _reduction_matrix

__all__ = ["KeypointDataset"]

logger = logging.getLogger("hourglass.data")

_CACHE_VERSION = 1
_CACHE_FORMATS = ("jpg", "png")
_MOVED = ("reduction_matrix", "reduce_factor", "cache_geometry")


def __getattr__(name: str) -> Any:
    """The crop geometry that moved to :mod:`hourglass.geometry`, for one release."""
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import warnings

    import hourglass.geometry as geometry

    warnings.warn(
        f"hourglass.data.dataset.{name} moved to hourglass.geometry.{name}; import it from there"
        " (the old name goes in the next release)",
        DeprecationWarning,
        stacklevel=2,
    )
    if name != "cache_geometry":
        return getattr(geometry, name)

    def cache_geometry(center: Any, scale: float, config: PipelineConfig) -> tuple[np.ndarray, int]:
        c = config
        return geometry.cache_geometry(
            center, scale, c.input_size, c.min_scale_factor, c.max_scale_factor, c.max_rotation, c.max_shift
        )

    return cache_geometry


def _stat_source(record: Annotation) -> os.stat_result:
    """``os.stat`` of the record's image, with an error that names the record and what to check."""
    try:
        return os.stat(record.image)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{record.source}: image file {record.image} does not exist; check the dataset root and layout"
        ) from None


@dataclass(frozen=True)
class _CacheEntry:
    image: Path  # the cached crop
    matrix: np.ndarray  # (2, 3) original image -> crop
    size: int
    source_size: int
    source_mtime_ns: int


class KeypointDataset(torch.utils.data.Dataset):
    """Training (or evaluation) samples of an annotation set; see the module docstring.

    Args:
        annotations: the subjects; their spec must be the pipeline's.
        pipeline: turns an image and one subject into a :class:`Sample`.
        seed: non-negative base seed of the per-sample generators.
        reduced_decode: read sources at reduced resolution when the crop allows (JPEG natively).
        cache_dir: folder of the crop cache (created if missing), or None for no cache.
            Building it reads every source image once, with a progress bar.
        cache_format: ``"jpg"`` (quality 95, small) or ``"png"`` (lossless, larger, slower).
        progress: show a tqdm progress bar while building the cache.

    ``__getitem__(i)`` returns the :class:`~hourglass.data.pipeline.Sample` of subject ``i``
    with the augmentation of the epoch :meth:`set_epoch` selected; ``__getitem__((epoch, i))``
    with that of ``epoch``, whatever ``set_epoch`` said. The pairs serve DataLoaders whose
    worker processes outlive an epoch (``persistent_workers=True``): each worker holds its own
    copy of the dataset, which ``set_epoch`` in the main process does not reach, so the batch
    sampler names the epoch with every index (the trainer does this).
    """

    def __init__(
        self,
        annotations: AnnotationSet,
        pipeline: TopDownPipeline,
        *,
        seed: int = 0,
        reduced_decode: bool = True,
        cache_dir: str | Path | None = None,
        cache_format: str = "jpg",
        progress: bool = True,
    ) -> None:
        if not isinstance(annotations, AnnotationSet):
            raise TypeError(f"annotations must be an AnnotationSet, got {type(annotations).__name__}")
        if not isinstance(pipeline, TopDownPipeline):
            raise TypeError(f"pipeline must be a TopDownPipeline, got {type(pipeline).__name__}")
        if annotations.spec != pipeline.spec:
            raise ValueError(
                f"{annotations.name}: keypoint spec {annotations.spec.name!r} differs from the pipeline's "
                f"{pipeline.spec.name!r}; build the pipeline with the annotation set's spec"
            )
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        if cache_format not in _CACHE_FORMATS:
            raise ValueError(f"cache_format must be one of {list(_CACHE_FORMATS)}, got {cache_format!r}")
        self.annotations = annotations
        self.pipeline = pipeline
        self.seed = int(seed)
        self.reduced_decode = bool(reduced_decode)
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.cache_format = cache_format
        self.epoch = 0
        self._entries: list[_CacheEntry | None] = [None] * len(annotations)
        if self.cache_dir is not None:
            self.build_cache(progress=progress)

    def __len__(self) -> int:
        return len(self.annotations)

    def __repr__(self) -> str:
        cache = f", cache_dir={str(self.cache_dir)!r}" if self.cache_dir else ""
        return f"KeypointDataset({self.annotations!r}, seed={self.seed}, epoch={self.epoch}{cache})"

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose augmentations ``__getitem__`` draws (a non-negative integer)."""
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ValueError(f"epoch must be a non-negative integer, got {epoch!r}")
        self.epoch = int(epoch)

    def __getitem__(self, index: int | tuple[int, int]) -> Sample:
        epoch = self.epoch
        if isinstance(index, tuple):
            if len(index) != 2:
                raise IndexError(f"index {index!r} must be a subject number or an (epoch, subject) pair")
            epoch, index = operator.index(index[0]), index[1]
            if epoch < 0:
                raise IndexError(f"index {(epoch, index)!r}: the epoch must be non-negative")
        i = operator.index(index)
        n = len(self.annotations)
        if not -n <= i < n:
            raise IndexError(f"index {index} is out of range for {self.annotations.name} with {n} subjects")
        i %= n
        record = self.annotations[i]
        rng = np.random.default_rng([self.seed, epoch, i])
        aug = self.pipeline.draw(rng)
        image, source_matrix = self._load(i, record, aug)
        return self.pipeline.apply(
            image, record.keypoints, record.labelled, record.center, record.scale, aug, source_matrix=source_matrix
        )

    # --- image loading ----------------------------------------------------------------------
    def _load(self, i: int, record: Annotation, aug: Augmentation) -> tuple[np.ndarray, np.ndarray | None]:
        """The image to warp and its affine from original coordinates (None: the original)."""
        if self.cache_dir is not None:
            return self._load_cached(i, record)
        r = 1
        if self.reduced_decode:
            r = _reduce_factor(record.scale * aug.scale_factor, self.pipeline.config.input_size)
        image = read_image(record.image, reduce=r)
        return image, (None if r == 1 else _reduction_matrix(r))

    # --- crop cache -------------------------------------------------------------------------
    def _key(self, record: Annotation) -> tuple[str, np.ndarray, int]:
        c = self.pipeline.config
        matrix, size = _cache_geometry(
            record.center,
            record.scale,
            c.input_size,
            c.min_scale_factor,
            c.max_scale_factor,
            c.max_rotation,
            c.max_shift,
        )
        ident = json.dumps(
            [str(Path(record.image).resolve()), record.center.tolist(), float(record.scale), size, matrix.tolist()]
        )
        return hashlib.sha1(ident.encode()).hexdigest()[:20], matrix, size

    def _paths(self, key: str) -> tuple[Path, Path]:
        assert self.cache_dir is not None
        return self.cache_dir / f"{key}.{self.cache_format}", self.cache_dir / f"{key}.json"

    def _read_entry(self, record: Annotation) -> _CacheEntry | None:
        """The cache entry of ``record`` if it exists and matches the source file, else None."""
        key, matrix, size = self._key(record)
        image_path, meta_path = self._paths(key)
        try:
            meta = json.loads(meta_path.read_text())
            st = os.stat(record.image)
        except (OSError, ValueError):
            return None
        fresh = (
            isinstance(meta, dict)
            and meta.get("version") == _CACHE_VERSION
            and meta.get("source_size") == st.st_size
            and meta.get("source_mtime_ns") == st.st_mtime_ns
            and image_path.is_file()
        )
        if not fresh:
            return None
        return _CacheEntry(image_path, matrix, size, st.st_size, st.st_mtime_ns)

    def _build_entry(self, record: Annotation) -> _CacheEntry:
        """Write the cache crop of ``record`` (atomically: image first, then its JSON)."""
        import cv2

        assert self.cache_dir is not None
        key, matrix, size = self._key(record)
        image_path, meta_path = self._paths(key)
        st = _stat_source(record)
        density = math.hypot(matrix[0, 0], matrix[1, 0])  # crop pixels per image pixel
        r = next(f for f in REDUCTIONS if f * density <= 1.0 + 1e-9 or f == 1)
        image = read_image(record.image, reduce=r)
        warp = matrix if r == 1 else compose_affine(matrix, invert_affine(_reduction_matrix(r)))
        crop = warp_image(image, warp, (size, size))
        params = [cv2.IMWRITE_JPEG_QUALITY, 95] if self.cache_format == "jpg" else [cv2.IMWRITE_PNG_COMPRESSION, 1]
        ok, data = cv2.imencode(f".{self.cache_format}", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), params)
        if not ok:
            raise DataError(f"{record.source}: could not encode the cache crop of {record.image}")
        meta = {
            "version": _CACHE_VERSION,
            "source": str(record.image),
            "source_size": st.st_size,
            "source_mtime_ns": st.st_mtime_ns,
            "matrix": matrix.tolist(),
            "size": [size, size],
        }
        for path, payload in ((image_path, data.tobytes()), (meta_path, json.dumps(meta).encode())):
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(payload)
            os.replace(tmp, path)
        return _CacheEntry(image_path, matrix, size, st.st_size, st.st_mtime_ns)

    def build_cache(self, progress: bool = True) -> int:
        """Check every cache crop and (re)build the missing or stale ones; returns how many were built."""
        from tqdm.auto import tqdm

        if self.cache_dir is None:
            raise ValueError("this dataset has no cache_dir; pass cache_dir= to KeypointDataset to use a crop cache")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        todo = []
        for i, record in enumerate(self.annotations):
            self._entries[i] = self._read_entry(record)
            if self._entries[i] is None:
                todo.append(i)
        for i in tqdm(
            todo, desc=f"caching crops of {self.annotations.name}", unit="crop", disable=not progress or not todo
        ):
            self._entries[i] = self._build_entry(self.annotations[i])
        logger.info(
            "crop cache %s: built %d crops, %d up to date", self.cache_dir, len(todo), len(self.annotations) - len(todo)
        )
        return len(todo)

    def _load_cached(self, i: int, record: Annotation) -> tuple[np.ndarray, np.ndarray]:
        import cv2

        entry = self._entries[i]
        st = _stat_source(record)
        if entry is None or (st.st_size, st.st_mtime_ns) != (entry.source_size, entry.source_mtime_ns):
            # Changed source: another worker may have rebuilt the crop already.
            entry = self._read_entry(record)
            if entry is None:
                logger.info("crop cache: %s changed, rebuilding its crop", record.image)
                entry = self._build_entry(record)
            self._entries[i] = entry
        # The cache is ours: decode it directly (cvtColor is much faster than a reversed-axis copy).
        try:
            data = np.fromfile(entry.image, dtype=np.uint8)
        except OSError:
            data = np.zeros(0, dtype=np.uint8)
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if bgr is None or bgr.shape[:2] != (entry.size, entry.size):
            logger.warning("crop cache: %s is missing or unreadable, rebuilding it", entry.image)
            entry = self._entries[i] = self._build_entry(record)
            bgr = cv2.imdecode(np.fromfile(entry.image, dtype=np.uint8), cv2.IMREAD_COLOR)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), entry.matrix

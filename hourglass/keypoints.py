"""Keypoint specifications: one frozen object per dataset.

A :class:`KeypointSpec` holds everything the toolkit knows about a keypoint set: names, the
flip permutation used by flip augmentation and the flip test, the skeleton and colours used
for drawing, the evaluation groups of the standard tables and the points that define the
normalisers of the metrics. Flipping, metrics and drawing all read it from here.

Built-in specs: ``MPII`` (16), ``LSP`` (14), ``W300`` (300-W, 68), ``COCO`` (17); look one up
by name with :func:`get_spec`. A custom set is declared with :meth:`KeypointSpec.from_dict`
(the ``keypoint_spec`` block of the custom dataset format).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KeypointSpec", "MPII", "LSP", "W300", "COCO", "get_spec", "list_specs"]

Color = tuple[int, int, int]
_LEFT: Color = (0, 200, 255)  # subject's left (RGB)
_RIGHT: Color = (255, 120, 0)  # subject's right
_CENTRE: Color = (60, 220, 60)


@dataclass(frozen=True)
class KeypointSpec:
    """Immutable description of a keypoint set.

    Attributes:
        name: short identifier, e.g. ``"mpii"``.
        names: K keypoint names, in index order.
        flip_index: K indices; ``flip_index[k]`` is the keypoint that ``k`` becomes in a
            horizontally mirrored image (an involution: applying it twice is the identity).
        skeleton: edges (i, j) drawn between keypoints.
        colors: K RGB colours for drawing.
        groups: evaluation groups ``(label, indices)`` for the standard per-group tables.
        eval_exclude: keypoints left out of the table's "Mean" (MPII: pelvis and thorax).
        interocular: the two points whose distance is the inter-ocular normaliser (faces).
        pupils: two groups of points whose centroids are the pupils (faces).
        torso: the two points whose distance is the torso normaliser (bodies).
        oks_sigmas: per-keypoint OKS constants (COCO), or None.
    """

    name: str
    names: tuple[str, ...]
    flip_index: tuple[int, ...]
    skeleton: tuple[tuple[int, int], ...] = ()
    colors: tuple[Color, ...] = ()
    groups: tuple[tuple[str, tuple[int, ...]], ...] = ()
    eval_exclude: tuple[int, ...] = ()
    interocular: tuple[int, int] | None = None
    pupils: tuple[tuple[int, ...], tuple[int, ...]] | None = None
    torso: tuple[int, int] | None = None
    oks_sigmas: tuple[float, ...] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        k = len(self.names)
        where = f"keypoint spec {self.name!r}"
        if k == 0:
            raise ValueError(f"{where}: needs at least one keypoint name")
        if len(set(self.names)) != k:
            dup = sorted({n for n in self.names if self.names.count(n) > 1})
            raise ValueError(f"{where}: duplicate keypoint names {dup}")
        if len(self.flip_index) != k:
            raise ValueError(f"{where}: flip_index has {len(self.flip_index)} entries for {k} keypoints")
        for i, j in enumerate(self.flip_index):
            if not 0 <= j < k:
                raise ValueError(f"{where}: flip_index[{i}] = {j} is not a keypoint index in [0, {k})")
            if self.flip_index[j] != i:
                raise ValueError(
                    f"{where}: flip_index is not an involution: {i} -> {j} but {j} -> {self.flip_index[j]}; "
                    "every left keypoint must map to its right partner and back"
                )
        for a, b in self.skeleton:
            if not (0 <= a < k and 0 <= b < k) or a == b:
                raise ValueError(f"{where}: skeleton edge ({a}, {b}) must join two different keypoints in [0, {k})")
        if self.colors and len(self.colors) != k:
            raise ValueError(f"{where}: {len(self.colors)} colours for {k} keypoints")
        indices = [i for _, g in self.groups for i in g] + list(self.eval_exclude)
        indices += list(self.interocular or ()) + list(self.torso or ())
        indices += [i for g in (self.pupils or ()) for i in g]
        bad = [i for i in indices if not 0 <= i < k]
        if bad:
            raise ValueError(f"{where}: indices {bad} in groups/normalisers are outside [0, {k})")
        if self.oks_sigmas is not None and len(self.oks_sigmas) != k:
            raise ValueError(f"{where}: {len(self.oks_sigmas)} OKS sigmas for {k} keypoints")

    @property
    def subject(self) -> str:
        """What the keypoints describe: ``"face"`` (a spec with inter-ocular points) or ``"person"``.

        The subject kind that detectors (:mod:`hourglass.detect`), the shipped default models
        (``hourglass.weights.DEFAULT_MODELS``) and the face reports go by.
        """
        return "face" if self.interocular is not None else "person"

    @property
    def num_keypoints(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        """Index of a keypoint by name; ValueError listing the names if unknown."""
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(f"{self.name!r} has no keypoint {name!r}; names are {list(self.names)}") from None

    def color_of(self, k: int) -> Color:
        """RGB colour of keypoint ``k`` (a neutral colour when the spec declares none)."""
        return self.colors[k] if self.colors else _CENTRE

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable description (inverse of :meth:`from_dict`)."""
        d: dict[str, Any] = {
            "name": self.name,
            "keypoints": list(self.names),
            "flip_index": list(self.flip_index),
            "skeleton": [list(e) for e in self.skeleton],
        }
        if self.colors:
            d["colors"] = [list(c) for c in self.colors]
        if self.groups:
            d["groups"] = {label: list(idx) for label, idx in self.groups}
        for key in ("eval_exclude", "interocular", "torso", "oks_sigmas"):
            value = getattr(self, key)
            if value:
                d[key] = list(value)
        if self.pupils:
            d["pupils"] = [list(g) for g in self.pupils]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> KeypointSpec:
        """Declare a spec from plain data (the custom dataset format).

        Required: ``name`` and ``keypoints`` (list of names). Mirror symmetry is given either
        as ``flip_pairs`` (list of ``[a, b]`` pairs of names or indices; unpaired keypoints
        map to themselves) or as a full ``flip_index``. Optional: ``skeleton`` (pairs of names
        or indices), ``colors`` (RGB triples), ``groups`` ({label: [names or indices]}),
        ``eval_exclude``, ``interocular``, ``pupils``, ``torso``, ``oks_sigmas``.
        """
        if not isinstance(d, Mapping):
            raise TypeError(f"a keypoint spec must be a mapping, got {type(d).__name__}")
        for key in ("name", "keypoints"):
            if key not in d:
                raise ValueError(f"keypoint spec is missing the required key {key!r} (keys present: {sorted(d)})")
        names = tuple(str(n) for n in d["keypoints"])
        where = f"keypoint spec {d['name']!r}"
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"{where}: duplicate keypoint names {duplicates}")

        def idx(v: Any) -> int:
            if isinstance(v, str):
                if v not in names:
                    raise ValueError(f"{where}: unknown keypoint name {v!r}; names are {list(names)}")
                return names.index(v)
            if isinstance(v, bool) or not isinstance(v, int):
                raise ValueError(f"{where}: {v!r} is neither a keypoint name nor an integer index")
            return v

        if "flip_index" in d and "flip_pairs" in d:
            raise ValueError(f"{where}: give either flip_index or flip_pairs, not both")
        if "flip_index" in d:
            flip = tuple(idx(v) for v in d["flip_index"])
        else:
            perm = list(range(len(names)))
            for pair in d.get("flip_pairs", ()):
                if len(pair) != 2:
                    raise ValueError(f"{where}: flip pair {pair!r} must have two entries")
                a, b = idx(pair[0]), idx(pair[1])
                for i in (a, b):
                    if not 0 <= i < len(names):
                        raise ValueError(f"{where}: flip pair index {i} is outside [0, {len(names)})")
                if perm[a] != a or perm[b] != b:
                    raise ValueError(f"{where}: keypoint in flip pair {pair!r} already belongs to another pair")
                perm[a], perm[b] = b, a
            flip = tuple(perm)

        def pair(v: Any) -> tuple[int, int] | None:
            return None if v is None else (idx(v[0]), idx(v[1]))

        groups = d.get("groups", {})
        return cls(
            name=str(d["name"]),
            names=names,
            flip_index=flip,
            skeleton=tuple((idx(a), idx(b)) for a, b in d.get("skeleton", ())),
            colors=tuple(tuple(int(c) for c in rgb) for rgb in d.get("colors", ())),  # type: ignore[misc]
            groups=tuple((str(k), tuple(idx(i) for i in v)) for k, v in groups.items()),
            eval_exclude=tuple(idx(i) for i in d.get("eval_exclude", ())),
            interocular=pair(d.get("interocular")),
            pupils=None if d.get("pupils") is None else tuple(tuple(idx(i) for i in g) for g in d["pupils"]),  # type: ignore[arg-type]
            torso=pair(d.get("torso")),
            oks_sigmas=None if d.get("oks_sigmas") is None else tuple(float(s) for s in d["oks_sigmas"]),
        )


def _side_colors(names: Sequence[str]) -> tuple[Color, ...]:
    def side(n: str) -> Color:
        if n.startswith(("l_", "left")):
            return _LEFT
        if n.startswith(("r_", "right")):
            return _RIGHT
        return _CENTRE

    return tuple(side(n) for n in names)


def _flip_from_names(names: Sequence[str]) -> tuple[int, ...]:
    """Flip permutation pairing ``l_x`` with ``r_x``; other names map to themselves."""
    swap = {"l_": "r_", "r_": "l_"}
    out = []
    for n in names:
        partner = swap[n[:2]] + n[2:] if n[:2] in swap else n
        out.append(names.index(partner))
    return tuple(out)


# --- MPII (16) --------------------------------------------------------------------------------
_MPII_NAMES = (
    "r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "pelvis", "thorax",
    "upper_neck", "head_top", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder", "l_elbow", "l_wrist",
)  # fmt: skip
_LIMB_GROUPS = (
    ("Shoulder", ("r_shoulder", "l_shoulder")),
    ("Elbow", ("r_elbow", "l_elbow")),
    ("Wrist", ("r_wrist", "l_wrist")),
    ("Hip", ("r_hip", "l_hip")),
    ("Knee", ("r_knee", "l_knee")),
    ("Ankle", ("r_ankle", "l_ankle")),
)


def _groups(names: Sequence[str], head: Sequence[str]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    rows = (("Head", tuple(head)),) + _LIMB_GROUPS
    return tuple((label, tuple(names.index(n) for n in members)) for label, members in rows)


MPII = KeypointSpec(
    name="mpii",
    names=_MPII_NAMES,
    flip_index=_flip_from_names(_MPII_NAMES),
    skeleton=((0, 1), (1, 2), (2, 6), (6, 3), (3, 4), (4, 5), (6, 7), (7, 8), (8, 9),
              (10, 11), (11, 12), (12, 7), (7, 13), (13, 14), (14, 15)),  # fmt: skip
    colors=_side_colors(_MPII_NAMES),
    # "Head" is the head-top joint alone, as in the Python evaluation used by HRNet and MMPose;
    # the MATLAB script averages upper neck and head top (pckh_table(groups=...) reproduces it).
    groups=_groups(_MPII_NAMES, ("head_top",)),
    eval_exclude=(6, 7),
    torso=(13, 2),  # l_shoulder - r_hip
)

# --- LSP / LSPET (14) ------------------------------------------------------------------------
_LSP_NAMES = (
    "r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "r_wrist", "r_elbow",
    "r_shoulder", "l_shoulder", "l_elbow", "l_wrist", "neck", "head_top",
)  # fmt: skip
LSP = KeypointSpec(
    name="lsp",
    names=_LSP_NAMES,
    flip_index=_flip_from_names(_LSP_NAMES),
    skeleton=((0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (6, 7), (7, 8), (8, 12), (12, 9),
              (9, 10), (10, 11), (12, 13), (2, 8), (3, 9)),  # fmt: skip
    colors=_side_colors(_LSP_NAMES),
    groups=_groups(_LSP_NAMES, ("head_top", "neck")),
    torso=(9, 2),  # l_shoulder - r_hip
)

# --- 300-W (68) ------------------------------------------------------------------------------
_W300_PARTS = (  # (group, first, last, closed contour); "right" is the subject's right
    ("jaw", 0, 16, False),
    ("right_brow", 17, 21, False),
    ("left_brow", 22, 26, False),
    ("nose_bridge", 27, 30, False),
    ("nostril", 31, 35, False),
    ("right_eye", 36, 41, True),
    ("left_eye", 42, 47, True),
    ("outer_lip", 48, 59, True),
    ("inner_lip", 60, 67, True),
)
_W300_NAMES = tuple(f"{g}_{i - a}" for g, a, b, _ in _W300_PARTS for i in range(a, b + 1))
_W300_FLIP = (
    list(range(16, -1, -1)) + list(range(26, 16, -1)) + [27, 28, 29, 30] + list(range(35, 30, -1))
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
    + list(range(54, 47, -1)) + list(range(59, 54, -1)) + list(range(64, 59, -1)) + [67, 66, 65]
)  # fmt: skip
_W300_GROUP_COLORS = {
    "jaw": (200, 200, 200), "right_brow": _RIGHT, "left_brow": _LEFT, "nose_bridge": _CENTRE,
    "nostril": _CENTRE, "right_eye": _RIGHT, "left_eye": _LEFT, "outer_lip": (255, 60, 120),
    "inner_lip": (255, 60, 120),
}  # fmt: skip
W300 = KeypointSpec(
    name="300w",
    names=_W300_NAMES,
    flip_index=tuple(_W300_FLIP),
    skeleton=tuple(
        e
        for _, a, b, closed in _W300_PARTS
        for e in [(i, i + 1) for i in range(a, b)] + ([(b, a)] if closed else [])
    ),
    colors=tuple(_W300_GROUP_COLORS[g] for g, a, b, _ in _W300_PARTS for _ in range(a, b + 1)),
    groups=(
        ("Jaw", tuple(range(0, 17))),
        ("Brows", tuple(range(17, 27))),
        ("Nose", tuple(range(27, 36))),
        ("Eyes", tuple(range(36, 48))),
        ("Mouth", tuple(range(48, 68))),
    ),
    interocular=(36, 45),  # outer eye corners
    pupils=(tuple(range(36, 42)), tuple(range(42, 48))),
)

# --- COCO (17) -------------------------------------------------------------------------------
_COCO_NAMES = (
    "nose", "l_eye", "r_eye", "l_ear", "r_ear", "l_shoulder", "r_shoulder", "l_elbow", "r_elbow",
    "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle",
)  # fmt: skip
COCO = KeypointSpec(
    name="coco",
    names=_COCO_NAMES,
    flip_index=_flip_from_names(_COCO_NAMES),
    # COCO's 1-based skeleton, converted to 0-based.
    skeleton=((15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7),
              (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6)),  # fmt: skip
    colors=_side_colors(_COCO_NAMES),
    groups=(
        ("Head", (0, 1, 2, 3, 4)),
        ("Shoulder", (5, 6)),
        ("Elbow", (7, 8)),
        ("Wrist", (9, 10)),
        ("Hip", (11, 12)),
        ("Knee", (13, 14)),
        ("Ankle", (15, 16)),
    ),
    torso=(5, 12),  # l_shoulder - r_hip
    oks_sigmas=(0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
                0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089),  # fmt: skip
)

_SPECS = {s.name: s for s in (MPII, LSP, W300, COCO)}
_ALIASES = {"lspet": "lsp", "300-w": "300w", "w300": "300w", "ibug": "300w"}


def get_spec(name: str) -> KeypointSpec:
    """Built-in spec by name (``mpii``, ``lsp``/``lspet``, ``300w``, ``coco``; case-insensitive)."""
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in _SPECS:
        raise ValueError(f"unknown keypoint spec {name!r}; built-in specs are {list_specs()}")
    return _SPECS[key]


def list_specs() -> list[str]:
    """Names of the built-in specs."""
    return sorted(_SPECS)

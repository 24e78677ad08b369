"""Which models run, on which subjects, and how their results read.

Routing (:func:`predict`): with one model (``--model``) every subject goes to it, from the
given boxes, the whole image, or else the bundled detector of its keypoints (Haar faces for a
face model, HOG people otherwise); a still image in which that detector finds nobody is an
error that says how to give the subject. Without ``--model`` (:func:`load_models`) the
shipped face model (300w-hg2) and the shipped body model (lspet-hg4) each look at their
candidates (:meth:`hourglass.Predictor.candidates`: the bundled detectors' crops and the whole
image's) and keep the subjects whose presence score passes the model's calibrated threshold
(a person no bigger than a face it lies in is dropped: :func:`people_larger_than_faces`);
when neither keeps anyone, nobody is there. A shipped model whose file is absent is left out with a
note. Given boxes or the whole image go to the shipped model of ``--kind`` (default face).

- :class:`Subjects` / :func:`parse_subjects`: ``--box``, ``--boxes``, ``--whole-image`` and
  ``--kind`` checked together; an image the boxes file does not list is detected.
- :func:`subjects_json` and :func:`describe`: the JSON subjects and the summary line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hourglass.annotate.options import AnnotateOptions
from hourglass.boxes import keypoint_boxes, load_boxes_json, lookup_boxes, parse_box
from hourglass.predictor import Predictor
from hourglass.weights import DEFAULT_MODELS, resolve_weights, weights_dir

__all__ = [
    "NOUNS",
    "Model",
    "Models",
    "load_models",
    "Result",
    "people_larger_than_faces",
    "predict",
    "Subjects",
    "parse_subjects",
    "subjects_json",
    "describe",
]

NOUNS = {"face": ("face", "faces"), "person": ("person", "people")}

BODY_FACE_RATIO = 2.0
"""Without --model, a person is dropped when the centre of its keypoint box (of the joints in view)
lies in the keypoint box of a face found in the same image and its longer side is under this
many times the face's: a body no bigger than a face is the face, taken for a person (the body
model drew whole skeletons inside the faces of 13-21 of the 87 held-out 300-W portraits, each
about the face's size; a head and shoulders span at least 2.5 faces, a whole body 6 or more)."""


def people_larger_than_faces(people: Any, faces: Any) -> np.ndarray:
    """Indices of the subjects of ``people`` (a body model's Prediction) that are not faces taken for a
    person (:data:`BODY_FACE_RATIO`), given the face model's Prediction ``faces`` of the same image."""
    shown = np.isfinite(people.keypoints).all(axis=2)
    if people.in_view is not None:
        shown &= people.in_view
    body = keypoint_boxes(np.where(shown[..., None], people.keypoints, np.nan))
    face = keypoint_boxes(faces.keypoints)
    centre = body[:, :2] + body[:, 2:] / 2
    corner, size = face[None, :, :2], face[None, :, 2:]
    inside = ((centre[:, None] >= corner) & (centre[:, None] <= corner + size)).all(axis=2)
    small = body[:, 2:].max(axis=1)[:, None] < BODY_FACE_RATIO * size.max(axis=2)
    return np.flatnonzero(~(inside & small).any(axis=1) | ~np.isfinite(body).all(axis=1))


# --- models ----------------------------------------------------------------------------------
@dataclass
class Model:
    """A predictor and what the summary calls it."""

    predictor: Any
    name: str
    kind: str  # "face" or "person"


@dataclass
class Models:
    """The models of a run: ``fixed`` (--model) or the shipped ``face`` / ``person`` ones."""

    fixed: Model | None = None
    face: Model | None = None
    person: Model | None = None
    notes: list[str] = field(default_factory=list)

    def all(self) -> list[Model]:
        return [m for m in (self.fixed, self.face, self.person) if m is not None]

    @property
    def label(self) -> str:
        return "+".join(m.name for m in self.all())


def _model(path: Any, options: AnnotateOptions) -> Model:
    predictor = Predictor.from_checkpoint(
        path, device=options.device, flip=options.flip, decoder=options.decoder, batch_size=options.batch_size,
        precision=options.precision, refine=options.refine,
    )  # fmt: skip
    return Model(predictor, predictor.loaded.name, predictor.kind)


def load_models(options: AnnotateOptions) -> Models:
    """The model given with --model, or the shipped face and body models that exist.

    Raises:
        FileNotFoundError: --model names nothing, or no shipped model exists and none was given.
        ValueError: a model file is unreadable or does not fit its stored architecture.
    """
    models = Models(fixed=_model(options.model, options)) if options.model else _shipped(options)
    if options.min_score > 0:
        for m in models.all():
            if m.predictor.loaded.output_kind == "regression":
                models.notes.append(f"{m.name} regresses coordinates and gives no keypoint confidence: "
                                    "--min-score does not apply to it, all its keypoints are drawn")  # fmt: skip
    return models


def _shipped(options: AnnotateOptions) -> Models:
    """The shipped face and body models that exist (notes for the absent ones)."""
    models = Models()
    for kind in ("face", "person"):
        name = DEFAULT_MODELS[kind]
        try:
            path = resolve_weights(name)
        except FileNotFoundError:
            what = "faces" if kind == "face" else "people"
            models.notes.append(f"shipped {kind} model {name} is not in {weights_dir()}; {what} are skipped")
            continue
        setattr(models, kind, _model(path, options))
    if models.face is None and models.person is None:
        raise FileNotFoundError(
            f"no shipped model in {weights_dir()} ({', '.join(DEFAULT_MODELS.values())} are absent); "
            "pass --model with a weights file, checkpoint or run folder (e.g. --model runs/face-hg)"
        )
    if options.box or options.boxes or options.whole_image:
        kind = options.kind or "face"
        if getattr(models, kind) is None:
            raise FileNotFoundError(
                f"given subjects go to the shipped {kind} model {DEFAULT_MODELS[kind]}, which is not in "
                f"{weights_dir()}; pass --model, or --kind {'person' if kind == 'face' else 'face'}"
            )
    return models


# --- subjects and predictions ----------------------------------------------------------------
@dataclass
class Result:
    """One model's prediction on one image; ``note`` says how its subjects were found."""

    model: Model
    prediction: Any
    note: str = ""


def predict(
    models: Models,
    rgb: np.ndarray,
    *,
    boxes: np.ndarray | None = None,
    whole_image: bool = False,
    kind: str | None = None,
    heatmaps: bool = False,
    require: bool = True,
    note: str = "",
) -> list[Result]:
    """Keypoints of every subject of an (H, W, 3) RGB image, by the rules of the module docstring.

    Args:
        boxes: (N, 4) subject boxes (x, y, w, h), or None to detect (or ``whole_image``).
        kind: without --model, the shipped model given boxes go to (default face).
        require: with one model, raise when its detector finds nobody (still images).

    Returns:
        the results with subjects; an empty list when the models' calibrated presence scores
        say nobody is there ("nobody here", a normal outcome).

    Raises:
        ValueError: ``require`` and no subject was found by a model without a calibrated
            presence threshold.
    """
    given = boxes is not None or whole_image
    if models.fixed is not None or given:
        model = models.fixed or getattr(models, kind or "face")
        pred = model.predictor(rgb, boxes, whole_image=whole_image, return_heatmaps=heatmaps)
        if not given and len(pred) == 0 and model.predictor.presence_threshold is not None:
            return []  # its calibrated presence score says nobody is there
        if require and not given and len(pred) == 0:
            what = NOUNS[model.kind][0]
            detector = "Haar face" if model.kind == "face" else "HOG people"
            raise ValueError(
                f"no {what} found by the {detector} detector; give the subject with --box x,y,w,h "
                "(or --boxes FILE.json), or use --whole-image if the image is cropped to it"
            )
        return [Result(model, pred, note or ("whole image" if whole_image else ""))]
    results = []
    faces = None
    for model in (models.face, models.person):
        if model is not None:
            pred = model.predictor(rgb, return_heatmaps=heatmaps)
            if model is models.face:
                faces = pred
            elif faces is not None and len(pred) and len(faces):
                pred = pred.take(people_larger_than_faces(pred, faces))
            if len(pred):
                results.append(Result(model, pred, note))
    if results:
        return results
    shipped = [m for m in (models.face, models.person) if m is not None]
    if all(m.predictor.presence_threshold is not None for m in shipped):
        return []  # every model looked at its candidates, whole image included: nobody is there
    model = models.person or models.face
    found = " or ".join(NOUNS[m.kind][0] for m in (models.face, models.person) if m is not None)
    pred = model.predictor(rgb, whole_image=True, return_heatmaps=heatmaps)
    return [Result(model, pred, f"whole image: no {found} detected")]


@dataclass
class Subjects:
    """How subjects are given: fixed boxes, a table of boxes per image, the whole image, or detection."""

    boxes: np.ndarray | None = None
    table: dict[str, np.ndarray] | None = None
    table_name: str = ""
    whole_image: bool = False
    kind: str | None = None

    def for_image(self, path: Path) -> tuple[np.ndarray | None, str]:
        """(boxes or None to detect, note for the summary)."""
        if self.table is None:
            return self.boxes, ""
        found = lookup_boxes(self.table, path)
        return (found, "") if found is not None else (None, f"not in {self.table_name}: detected")


def parse_subjects(options: AnnotateOptions) -> Subjects:
    """Check --box / --boxes / --whole-image / --kind together and read them."""
    flags = (("--box", options.box), ("--boxes", options.boxes), ("--whole-image", options.whole_image))
    given = [name for name, on in flags if on]
    if len(given) > 1:
        raise ValueError(f"give only one of --box, --boxes and --whole-image, got {' and '.join(given)}")
    if options.kind and options.model:
        raise ValueError("--kind picks a shipped model for given boxes; with --model the model decides")
    if options.kind and not given:
        raise ValueError("--kind only says which shipped model given boxes go to; add --box, --boxes or --whole-image")
    subjects = Subjects(whole_image=bool(options.whole_image), kind=options.kind)
    if options.box:
        subjects.boxes = np.stack([parse_box(text) for text in options.box])
    if options.boxes:
        subjects.table = load_boxes_json(options.boxes)
        subjects.table_name = Path(options.boxes).name
    return subjects


# --- results as text and JSON ----------------------------------------------------------------
def subjects_json(results: list[Result], image_id: Any) -> list[dict[str, Any]]:
    """COCO-style subject dicts (:meth:`Prediction.to_coco`) with names, model and source."""
    out = []
    for res in results:
        names = list(res.prediction.spec.names)
        for entry in res.prediction.to_coco(image_id):
            entry.update(keypoint_names=names, model=res.model.name, kind=res.model.kind,
                         source=res.prediction.source)  # fmt: skip
            if res.note:
                entry["note"] = res.note
            out.append(entry)
    return out


def describe(results: list[Result]) -> str:
    """'1 face (300w-hg2, 68 points, mean score 0.83)' for each model's subjects."""
    parts = []
    for res in results:
        pred, model = res.prediction, res.model
        n = len(pred)
        noun = NOUNS[model.kind][0 if n == 1 else 1]
        if model.predictor.loaded.output_kind == "regression":
            score = "regression, no scores"
        else:
            score = f"mean score {pred.scores.mean():.2f}" if n else "no scores"
        note = f"; {res.note}" if res.note else ""
        parts.append(f"{n} {noun} ({model.name}, {pred.spec.num_keypoints} points, {score}{note})")
    return ", ".join(parts) if parts else "no subjects"

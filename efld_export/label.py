"""68-point labels for faces that carry only AFLW's 21 human points.

The base labeller is a rigid fit of the 3D mean face to the visible human points
(cv2.solvePnP), projecting all 68 points. Faces whose fit disagrees with their own
human points by more than `max_fit_error` (fraction of the face size) are dropped
and counted. Invisible human points (NaN) are never used as evidence.

With a teacher (MediaPipe's face mesh), each face is instead fitted with a 3D shape model
(face3d.py) learnt from the teacher's meshes of the pool's near-frontal faces: shape and
expression modes, and a depth that places the jawline of turned faces. The fit follows the
human points and, with a weight falling with |yaw| (TEACHER_WEIGHT), the teacher's own 68
points, which know the inner shape where the teacher is reliable. Our own checkpoints (label_models,
issue 3's "our own model, iterated") can join the fit as a second teacher at every yaw, profiles
included, where MediaPipe has no weight: MODELS_WEIGHT.

Pose labels ("3dmm_calibrated", the default): yaw from the AFLW file, pitch and roll by PnP of the
3DMM's mean shape on the face's 68 labelled points (pose.py's pose_label), in the frame of AFLW2000-3D's
pose, the pitch corrected by the labeller's own offset (LABELLER_PITCH_OFFSET); "3dmm" (v0.5.0): the
same without the correction; "mean_face" (up to v0.4.0): the rotation of the fit itself, in the generic
mean face's frame.
Measured on aflw2000-3d-val's own 21 points: benchmarks/results/label_quality.json.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from tqdm import tqdm

from .crop import box_from_points
from .data.record import Record, far_outside
from .errors import EFLDError
from .landmarks import AFLW21_TO_68, GROUPS, aflw21_from_68
from .pose import fit_rigid, pose_label, project, rotation_to_angles

if TYPE_CHECKING:
    from .face3d import FaceFit, FaceModel3D
    from .runtime import LandmarkModel

#: AFLW points used for fitting: every one with a 68-point counterpart (ear lobes have none).
FIT_POINTS = tuple(i for i, idx in enumerate(AFLW21_TO_68) if idx is not None)
#: The labeller's camera: focal length in image widths, principal point at the centre. The pool's
#: faces are 120-px crops cut out of larger photos, so the camera that took them was much longer
#: than the crop's width: at 1 (the library's default camera, used up to v0.3.0) the fits carry a
#: strong false perspective. Measured on aflw2000-3d-val's 21 points cut to crops like the pool's
#: (benchmarks/label_quality.py): labels' mean of bins 5.73 at 1, 5.22 at 2, 5.08 at 3, 5.13 at 5, 5.12 at 10.
LABEL_FOCAL = 3.0
#: Where pose labels come from (module docstring): the 3DMM's frame (pitch calibrated, or not), or the
#: generic mean face's fit.
POSE_LABELS = ("3dmm_calibrated", "3dmm", "mean_face")
#: Degrees the labeller's labels read a face's pitch too low: PnP of the 3DMM face on its 68 labels
#: against the same PnP on the face's true 68 points, median over youtube-faces-68 train (3,462 faces
#: with true 68 points, labelled from the 21 points these imply; training data only):
#: benchmarks/labeller_pitch.py, results/labeller_pitch.json. Measured with MediaPipe's jaw depth; the
#: 3DMM's (JAW_DEPTHS) reads 3.25 (results/labeller_pitch_jaw_3dmm.json), not adopted yet: v0.9.0 was
#: trained with 2.83.
LABELLER_PITCH_OFFSET = 2.83
#: Depth of the shape model's jaw (face3d.py): "3dmm", the 3DMM mean shape's (pose.py's load_pose_face),
#: whose projected vertices define AFLW2000-3D's jawline; or "teacher", MediaPipe's (up to v0.8.1), 20-25
#: mm shallower at the jaw's ends, which put the jawline of turned faces too near the nose: the labels'
#: jaw read 9-11 % of the face too far forward at 30-90 degrees of yaw on aflw2000-3d-val
#: (benchmarks/README.md, "The jaw's depth").
JAW_DEPTHS = ("3dmm", "teacher")
#: The labeller's jaw against a dense 68-point markup, measured on training data alone: youtube-faces-68
#: train's faces within 15 degrees of yaw, labelled from the 21 points their own 68 imply, sit with the
#: labels' jaw higher and narrower than their true one (benchmarks/labeller_jaw.py writes the offset that
#: undoes it, symmetric, in the shape model's mm: JAW_OFFSET_FILE). "y" moves the shape model's mean jaw down
#: by it, "xy" also outwards, "none" leaves it (up to v0.9.5). On aflw2000-3d-val's 21 points the labels'
#: mean of bins reads 4.556 with none, 4.434 with xy and 4.397 with y: the widening helps frontal faces only
#: and costs turned ones (benchmarks/README.md, "The labeller's jaw, calibrated on youtube"). "xy_frontal" applies
#: each part where it was measured: down at every yaw, outwards in full within the calibration faces' 15 degrees
#: of yaw and not at all beyond the teacher's jaw (30), linearly between (JAW_OFFSET_X_RAMP_DEG; youtube's turned
#: faces draw their far jaw on the silhouette, so the outward part measured on frontal faces does not carry over).
JAW_OFFSETS = ("none", "y", "xy", "xy_frontal")
#: |yaw| in degrees where "xy_frontal"'s outward part starts to fade and where it is gone.
JAW_OFFSET_X_RAMP_DEG = (15.0, 30.0)
JAW_OFFSET_FILE = Path(__file__).with_name("assets") / "labeller_jaw_offset_mm.csv"


def check_pose_labels(name: str) -> None:
    if name not in POSE_LABELS:
        raise EFLDError(f"pose_labels must be one of {POSE_LABELS}, got {name!r}")


def teacher_jaw_max_yaw(jaw_depth: str) -> float:
    """Up to which |yaw| the teacher's jaw joins the fit: with the 3DMM's jaw depth, only on the near-frontal
    faces the shape model is learnt from, where depth hardly moves the jaw's projection; beyond, the
    teacher's jaw is its own shallow one (on aflw2000-3d-val it cost the labels 0.18 of the mean of bins,
    0.55 in the 30-60 bin: results/label_quality_jaw_3dmm.json)."""
    return SHAPE_MODEL_MAX_YAW if jaw_depth == "3dmm" else np.inf


def check_jaw_depth(name: str) -> None:
    if name not in JAW_DEPTHS:
        raise EFLDError(f"label_jaw_depth must be one of {JAW_DEPTHS}, got {name!r}")


def check_jaw_offset(name: str) -> None:
    if name not in JAW_OFFSETS:
        raise EFLDError(f"label_jaw_offset must be one of {JAW_OFFSETS}, got {name!r}")


def jaw_offset_mm(name: str) -> np.ndarray | None:
    """(17, 2) mm by which JAW_OFFSETS' name moves the shape model's mean jaw at every yaw; None for "none"
    ("xy_frontal": its downward part, jaw_offset_frontal_mm the rest)."""
    check_jaw_offset(name)
    if name == "none":
        return None
    return _jaw_offset_file() * ([1.0, 1.0] if name == "xy" else [0.0, 1.0])


def jaw_offset_frontal_mm(name: str, yaw_deg: float) -> np.ndarray | None:
    """(17, 2) mm by which JAW_OFFSETS' name moves one face's mean jaw beyond jaw_offset_mm, by its |yaw|: the
    outward part of "xy_frontal" (JAW_OFFSET_X_RAMP_DEG); None where there is nothing to add."""
    check_jaw_offset(name)
    if name != "xy_frontal":
        return None
    start, gone = JAW_OFFSET_X_RAMP_DEG
    share = float(np.clip((gone - abs(yaw_deg)) / (gone - start), 0.0, 1.0))
    return share * _jaw_offset_file() * [1.0, 0.0] if share > 0.0 else None


@functools.cache
def _jaw_offset_file() -> np.ndarray:
    """JAW_OFFSET_FILE's (17, 2) mm, read once (the labeller asks for it face by face)."""
    offset = np.loadtxt(JAW_OFFSET_FILE, delimiter=",", skiprows=1, usecols=(1, 2))
    offset.flags.writeable = False
    return offset


@dataclass
class Label:
    """A labelled face: 68 points in pixels, (yaw, pitch, roll) degrees, fit error (fraction of face size)."""

    points: np.ndarray
    pose: np.ndarray
    fit_error: float


def label_from_21(points21: np.ndarray, mean_face: np.ndarray, width: float, height: float,
                  yaw_deg: float | None = None, focal: float = LABEL_FOCAL) -> Label | None:
    """Rigidly fit the mean face to the visible 21 points; None if fewer than 4 are visible.

    focal: the camera's focal length in image widths (see LABEL_FOCAL)."""
    p2 = points21.copy()
    p3 = aflw21_from_68(mean_face)
    use = np.zeros(21, bool)
    use[list(FIT_POINTS)] = True
    p2[~use] = np.nan
    f = focal * width
    try:
        rvec, tvec = fit_rigid(p2, p3, width, height, f)
    except ValueError:
        return None
    pts68 = project(mean_face, rvec, tvec, width, height, f)
    fitted21 = project(np.nan_to_num(p3), rvec, tvec, width, height, f)
    known = ~np.isnan(p2).any(1)
    size = np.sqrt(np.prod(pts68.max(0) - pts68.min(0)))
    err = float(np.linalg.norm(fitted21[known] - p2[known], axis=1).mean() / max(size, 1e-6))
    pose = rotation_to_angles(rvec)
    if yaw_deg is not None and np.isfinite(yaw_deg):
        pose[0] = yaw_deg
    return Label(pts68, pose, err)


class Teacher(Protocol):
    """MediaPipePeer's interface: (image, landmark box) pairs -> (N, 68, 3) points in pixels, depth alike."""

    def mesh68(self, faces: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray: ...


#: Weight of the teacher's 68 points against the human points in the 3D fit, by |yaw| from the AFLW
#: file: (upper |yaw| bound in degrees, weight). The teacher is good to 45 degrees and poor on
#: profiles (benchmarks/results/label_quality.json); chosen among few settings on aflw2000-3d-val's 21 points.
TEACHER_WEIGHT: tuple[tuple[float, float], ...] = ((45.0, 0.1), (60.0, 0.033), (float("inf"), 0.0))
#: The shape model is learnt from the teacher's meshes of faces within this |yaw|, where it is reliable.
SHAPE_MODEL_MAX_YAW = 30.0
SHAPE_MODEL_FACES = 2000
#: Weight of our own checkpoints' 68 points in the fit, at every |yaw|, added to the teacher's. On
#: aflw2000-3d-val's 21 points (benchmarks/self_teacher.py, results/self_teacher_v0.7.0.json), with
#: v0.7.0's distillation teacher as the models: labels' mean of bins 5.08 -> 4.87 at 0.03 (60-90:
#: 6.51 -> 6.14), 4.95 at 0.1, 5.17 at 0.3; chosen among these few settings. On the pool they were
#: trained on, the models partly repeat its labels, and stage 4 on labels made this way was no better
#: (benchmarks/README.md, "Our own models in the labeller"); models that never saw the faces may be.
MODELS_WEIGHT = 0.03
#: The models see each face through its rigid label's box, then through the box of their own answer.
MODEL_PASSES = 2


def make_teacher(name: str | None) -> Teacher | None:
    """The labelling teacher a config or command names: None (rigid fit only) or "mediapipe"."""
    if name is None:
        return None
    if name == "mediapipe":
        from .peers import MediaPipePeer

        return MediaPipePeer()
    raise EFLDError(f"label_teacher: {name!r} is not a known teacher (None or 'mediapipe')")


def teacher_weight(yaw_deg: float) -> float:
    return next(w for bound, w in TEACHER_WEIGHT if abs(yaw_deg) <= bound)


def model_points(model: "LandmarkModel", faces: list[tuple[np.ndarray, np.ndarray]],
                 passes: int = MODEL_PASSES) -> np.ndarray:
    """(N, 68, 2) points of (image, box) faces; each pass after the first crops by the last answer's box."""
    boxes = [np.asarray(b, dtype=np.float64) for _, b in faces]
    for _ in range(passes):
        pts = np.stack([p.points for p in model.predict_batch([(img, b) for (img, _), b in zip(faces, boxes)])])
        boxes = [box_from_points(p) for p in pts]
    return pts


def label_records(records: list[Record], mean_face: np.ndarray, max_fit_error: float = 0.08,
                  progress: bool = True, teacher: Teacher | None = None, seed: int = 0,
                  shape_model: "FaceModel3D | None" = None, focal: float = LABEL_FOCAL,
                  pose_labels: str = "3dmm_calibrated", models: "LandmarkModel | None" = None,
                  models_weight: float = MODELS_WEIGHT,
                  jaw_depth: str = "3dmm", jaw_offset: str = "none",
                  pitch_offset: float = LABELLER_PITCH_OFFSET) -> tuple[list[tuple[Record, Label]], dict]:
    """Label every record holding extra['points21']; returns kept (record, label) pairs and a report.

    With a teacher, the 3D shape model is learnt from these records (learn_shape_model, its jaw as deep as
    jaw_depth says, its mean jaw moved as jaw_offset says) unless given (a given model still takes jaw_offset's
    per-face part, jaw_offset_frontal_mm); models (distill.teacher_model) add
    their points to the fit at models_weight. pitch_offset: the labeller's pitch offset that "3dmm_calibrated"
    adds (LABELLER_PITCH_OFFSET, measured for the labeller without a jaw offset)."""
    check_pose_labels(pose_labels)
    check_jaw_depth(jaw_depth)
    check_jaw_offset(jaw_offset)
    if models is not None and teacher is None:
        raise EFLDError("labelling with our own models needs the 3D teacher too (label_teacher: mediapipe)")
    kept: list[tuple[Record, Label]] = []
    dropped = {"too_few_points": 0, "fit_error": 0}
    for rec in tqdm(records, desc="labelling", unit="face", disable=not progress):
        h, w = rec.extra["image"].shape[:2]
        lab = label_from_21(rec.extra["points21"], mean_face, w, h, rec.extra.get("yaw_deg"), focal)
        if lab is None:
            dropped["too_few_points"] += 1
        elif lab.fit_error > max_fit_error:
            dropped["fit_error"] += 1
        else:
            kept.append((rec, lab))
    report = {"n_input": len(records), "dropped": dropped, "max_fit_error": max_fit_error,
              "method": "rigid mean-face PnP fit to visible AFLW-21 points", "focal_x_width": focal}
    if teacher is not None and kept:
        meshes = teacher_meshes(kept, teacher, progress)
        model = shape_model or learn_shape_model(kept, meshes, mean_face, seed, jaw_depth, jaw_offset)
        own = None if models is None else model_points(models, rigid_faces(kept))
        fit_shape_model(kept, meshes, model, progress, focal, own, models_weight, teacher_jaw_max_yaw(jaw_depth),
                        jaw_offset)
        depth = ("given" if shape_model is not None
                 else f"teacher depth, jaw depth: {jaw_depth}, jaw offset: {jaw_offset}")
        report["method"] = (f"3D shape model ({len(model.std)} teacher modes, {depth}, ear lobes behind "
                            f"jaw points 2 and 14; face3d.py) fitted to the visible AFLW-21 points and the "
                            f"teacher's 68 points weighted by |yaw| {list(TEACHER_WEIGHT)}")
        if own is not None:
            report["method"] += f", and our own models' 68 points at weight {models_weight:g}"
    inside = [(rec, lab) for rec, lab in kept if not far_outside(lab.points, rec.extra["image"].shape).any()]
    dropped["outside_image"] = len(kept) - len(inside)  # a fit gone wild (4 of 18,629 in the pool)
    kept = inside
    report["n_kept"] = len(kept)
    if pose_labels != "mean_face":
        pose_labels_3dmm(kept, pitch_offset if pose_labels == "3dmm_calibrated" else 0.0)
    report["pose_labels"] = pose_labels
    return kept, report


def pose_labels_3dmm(kept: list[tuple[Record, Label]], pitch_offset: float = LABELLER_PITCH_OFFSET) -> None:
    """Replace each label's pose by pose_label's, in the 3DMM's frame (yaw kept from the file), the
    pitch raised by pitch_offset."""
    for rec, lab in kept:
        lab.pose = pose_label(lab.points, *_size(rec), rec.extra.get("yaw_deg")) + [0.0, pitch_offset, 0.0]


#: AFLW points with a single 68-point counterpart (not the eye and mouth centres, not the ear lobes).
SINGLE_COUNTERPARTS = tuple((i, idx) for i, idx in enumerate(AFLW21_TO_68) if isinstance(idx, int))


def with_human_points(points68: np.ndarray, points21: np.ndarray) -> np.ndarray:
    """A label whose points with a single AFLW counterpart are the visible human points themselves.

    Direct supervision by the human points: they carry their markup's bias against the 68-point
    definition (README: 2-5 % of the face), the label keeps the rest and the invisible ones."""
    out = points68.copy()
    for i, idx in SINGLE_COUNTERPARTS:
        if np.isfinite(points21[i]).all():
            out[idx] = points21[i]
    return out


def _yaw(rec: Record, lab: Label) -> float:
    return float(rec.extra.get("yaw_deg", lab.pose[0]))


def _size(rec: Record) -> tuple[int, int]:
    h, w = rec.extra["image"].shape[:2]
    return w, h


def teacher_meshes(kept: list[tuple[Record, Label]], teacher: Teacher, progress: bool = False,
                   chunk: int = 256) -> np.ndarray:
    """(N, 68, 3) teacher points of each face, cropped around its rigid label."""
    faces = rigid_faces(kept)
    return np.concatenate([teacher.mesh68(faces[i:i + chunk])
                           for i in tqdm(range(0, len(kept), chunk), desc="teacher", unit="batch",
                                         disable=not progress)])


def rigid_faces(kept: list[tuple[Record, Label]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(image, box of the rigid label) of each face: what a teacher sees."""
    return [(rec.extra["image"], box_from_points(lab.points)) for rec, lab in kept]


def fit_with_teachers(model: "FaceModel3D", rec: Record, mesh: np.ndarray, mesh_weight: float, focal: float,
                      own: np.ndarray | None = None, own_weight: float = 0.0, mesh_jaw: bool = True) -> "FaceFit":
    """The shape model's fit to rec's human points, the teacher's 68 points (mesh; without its jaw unless
    mesh_jaw) at mesh_weight and our own models' (own) at own_weight. For least squares, two teachers at
    weights a and b on the same point are one teacher at a + b placed at their weighted mean."""
    w, h = _size(rec)
    target, wt = mesh[:, :2], np.full(len(mesh), mesh_weight)
    if not mesh_jaw:
        wt[list(GROUPS["jaw"])] = 0.0
    if own is not None and own_weight > 0:
        target = (wt[:, None] * target + own_weight * own) / (wt + own_weight)[:, None]
        wt = wt + own_weight
    return model.fit(rec.extra["points21"], w, h, target, wt, focal=focal * w)


def learn_shape_model(kept: list[tuple[Record, Label]], meshes: np.ndarray, mean_face: np.ndarray,
                      seed: int = 0, jaw_depth: str = "3dmm", jaw_offset: str = "none") -> "FaceModel3D":
    """The 3D shape model from the teacher's meshes of (a seeded sample of) the near-frontal faces."""
    from .face3d import FaceModel3D
    from .pose import load_pose_face

    check_jaw_depth(jaw_depth)
    rng = np.random.default_rng(seed)
    frontal = np.flatnonzero([abs(_yaw(rec, lab)) < SHAPE_MODEL_MAX_YAW for rec, lab in kept])
    if len(frontal) < 20:
        raise EFLDError(f"need at least 20 faces within {SHAPE_MODEL_MAX_YAW:g} degrees of yaw to learn "
                         f"the shape model, got {len(frontal)}")
    model = FaceModel3D.from_teacher(meshes[rng.choice(frontal, min(SHAPE_MODEL_FACES, len(frontal)),
                                                       replace=False)], mean_face,
                                     jaw_face=load_pose_face() if jaw_depth == "3dmm" else None)
    offset = jaw_offset_mm(jaw_offset)
    return model if offset is None else model.with_jaw_offset(offset)


def pool_shape_model(records: list[Record], mean_face: np.ndarray, teacher: Teacher, max_fit_error: float = 0.08,
                     focal: float = LABEL_FOCAL, seed: int = 0, jaw_depth: str = "3dmm",
                     jaw_offset: str = "none") -> tuple["FaceModel3D", list[tuple[Record, Label]]]:
    """The shape model label_records learns from a 21-point pool (its rigid labels' kept faces, the
    teacher's meshes of them), for labelling other faces with it; returns it and those rigid labels."""
    kept, _ = label_records(records, mean_face, max_fit_error, progress=False, focal=focal)
    return learn_shape_model(kept, teacher_meshes(kept, teacher), mean_face, seed, jaw_depth, jaw_offset), kept


def fit_shape_model(kept: list[tuple[Record, Label]], meshes: np.ndarray, model: "FaceModel3D",
                    progress: bool = False, focal: float = LABEL_FOCAL, own: np.ndarray | None = None,
                    own_weight: float = MODELS_WEIGHT, jaw_max_yaw: float = np.inf,
                    jaw_offset: str = "none") -> None:
    """Replace each rigid label by the shape model's fit; pitch and roll from the fit, yaw from the file.
    own: (N, 68, 2) points of our own models (model_points), joining the fit at own_weight; the teacher's
    jaw joins it up to jaw_max_yaw degrees (teacher_jaw_max_yaw). jaw_offset: the per-face part of that offset
    (jaw_offset_frontal_mm), on top of whatever the model carries."""
    for i in tqdm(range(len(kept)), desc="3D fit", unit="face", disable=not progress):
        rec, lab = kept[i]
        yaw = _yaw(rec, lab)
        extra = jaw_offset_frontal_mm(jaw_offset, yaw)
        f = fit_with_teachers(model if extra is None else model.with_jaw_offset(extra), rec, meshes[i],
                              teacher_weight(yaw), focal, None if own is None else own[i], own_weight,
                              mesh_jaw=abs(yaw) <= jaw_max_yaw)
        visible = ~np.isnan(rec.extra["points21"]).any(1)
        size = np.sqrt(np.prod(np.ptp(f.points68, 0)))
        lab.points = f.points68
        lab.fit_error = float(np.linalg.norm(f.points21[visible] - rec.extra["points21"][visible], axis=1).mean()
                              / max(size, 1e-6))
        pose = rotation_to_angles(f.rvec)
        pose[0] = lab.pose[0]
        lab.pose = pose

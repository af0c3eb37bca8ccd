"""Pictures of predictions for `efld predict --draw`: face box, the 68 points and the head-pose axes."""
from __future__ import annotations

import cv2
import numpy as np

from .landmarks import NOSE_TIP
from .pose import angles_to_rotation
from .predict import Face

BOX_COLOUR = (0, 255, 0)
POINT_COLOUR = (255, 40, 40)
#: Pose axes (RGB): the face's x (towards its left), y (up) and out of the face (the nose's direction).
AXES = ((np.array([1.0, 0, 0]), (255, 0, 0)), (np.array([0, -1.0, 0]), (0, 200, 0)), (np.array([0, 0, -1.0]), (0, 80, 255)))


def draw_faces(image: np.ndarray, faces: list[Face]) -> np.ndarray:
    """A copy of the RGB image with every face drawn (sizes follow the face, so small faces stay readable)."""
    out = np.ascontiguousarray(image).copy()
    for face in faces:
        x, y, w, h = face.box
        size = float(np.sqrt(w * h))
        thick = max(1, round(size / 120))
        cv2.rectangle(out, (round(x), round(y)), (round(x + w), round(y + h)), BOX_COLOUR, thick, cv2.LINE_AA)
        for px, py in face.points:
            cv2.circle(out, (round(px), round(py)), max(1, round(size / 90)), POINT_COLOUR, -1, cv2.LINE_AA)
        if face.pose is not None:
            origin = face.points[NOSE_TIP]
            rot = angles_to_rotation(face.pose)
            for axis, colour in AXES:
                tip = origin + (rot @ axis)[:2] * size * 0.5
                cv2.arrowedLine(out, tuple(np.round(origin).astype(int)), tuple(np.round(tip).astype(int)), colour,
                                thick + 1, cv2.LINE_AA, tipLength=0.15)
        label = f"{face.confidence:.2f}"
        cv2.putText(out, label, (round(x), max(12, round(y) - 4)), cv2.FONT_HERSHEY_SIMPLEX, max(0.4, size / 400),
                    BOX_COLOUR, thick, cv2.LINE_AA)
    return out

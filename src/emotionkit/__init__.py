"""emotionkit: facial emotion recognition for photos, video and webcams.

Importing this package does not import Keras or a backend: choose the backend
with ``KERAS_BACKEND`` any time before the first model is loaded.

Examples:
    >>> from emotionkit import EmotionRecognizer
    >>> rec = EmotionRecognizer.from_pretrained()          # bundled model, offline
    >>> rec.predict("tests/data/astronaut.png")[0].label  # doctest: +SKIP
    'happy'
"""

from emotionkit.__about__ import __version__
from emotionkit.drawing import annotate
from emotionkit.errors import EmotionkitError, InvalidModelError, ModelNotFoundError
from emotionkit.faces import BlazeFaceDetector, DetectedFace, FaceDetector, HaarDetector
from emotionkit.images import load_image
from emotionkit.labels import EMOTIONS, FIVE_CLASSES
from emotionkit.recognizer import EmotionRecognizer, FacePrediction
from emotionkit.streaming import FrameResult, stream

__all__ = [
    "__version__",
    "EMOTIONS",
    "FIVE_CLASSES",
    "EmotionRecognizer",
    "FacePrediction",
    "FrameResult",
    "DetectedFace",
    "FaceDetector",
    "BlazeFaceDetector",
    "HaarDetector",
    "EmotionkitError",
    "InvalidModelError",
    "ModelNotFoundError",
    "annotate",
    "load_image",
    "stream",
]

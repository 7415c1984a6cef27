"""Video models: `build_model(cfg)` builds MODEL.MODEL_NAME from the registry; `optimize_for_inference`
prepares an eval-only copy for fast testing."""
from slowfast.models.build import MODEL_REGISTRY, build_model
from slowfast.models.features import extract_features, feature_dim
from slowfast.models.optimize import optimize_for_inference
from slowfast.models.video_net import DetectionSpec, VideoNet, VideoNetSpec

__all__ = ["MODEL_REGISTRY", "build_model", "optimize_for_inference", "VideoNet", "VideoNetSpec", "DetectionSpec",
           "extract_features", "feature_dim"]

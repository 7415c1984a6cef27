"""Video models: `build_model(cfg)` builds MODEL.MODEL_NAME from the registry."""
from slowfast.models.build import MODEL_REGISTRY, build_model
from slowfast.models.video_net import DetectionSpec, VideoNet, VideoNetSpec
from slowfast.models.features import extract_features, feature_dim

__all__ = ["MODEL_REGISTRY", "build_model", "VideoNet", "VideoNetSpec", "DetectionSpec", "extract_features", "feature_dim"]

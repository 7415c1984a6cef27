"""Weight initialisation as in the report: He ("MSRA") fill for convs, BN scale 1 (0 for the last BN
of each residual / non-local block when asked), classifier N(0, std)."""
import torch.nn as nn

from slowfast.models.norm import is_batch_norm


def init_weights(model: nn.Module, fc_init_std: float = 0.01, zero_init_final_bn: bool = True) -> None:
    for m in model.modules():
        if isinstance(m, (nn.Conv3d, nn.Conv2d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif is_batch_norm(m):
            if getattr(m, "weight", None) is not None:
                zero = zero_init_final_bn and getattr(m, "transform_final_bn", False)
                nn.init.constant_(m.weight, 0.0 if zero else 1.0)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=fc_init_std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)

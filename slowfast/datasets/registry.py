"""The dataset registry (TRAIN.DATASET / TEST.DATASET -> dataset class). A leaf: it imports nothing from
slowfast, so a dataset module registers itself with ``@DATASET_REGISTRY.register()`` and
:mod:`slowfast.datasets.build` imports the dataset modules, without either importing the other."""
from fvcore.common.registry import Registry


class CaseInsensitiveRegistry(Registry):
    """An fvcore ``Registry`` whose names are case-insensitive: class ``Ava`` registers as ``"ava"`` and is
    found as ``"ava"`` or ``"Ava"`` (config values are lower case: ``TRAIN.DATASET "kinetics"``)."""

    def _do_register(self, name: str, obj) -> None:
        super()._do_register(name.lower(), obj)

    def get(self, name: str):
        return super().get(name.lower())

    def __contains__(self, name: str) -> bool:
        return super().__contains__(name.lower())


DATASET_REGISTRY = CaseInsensitiveRegistry("DATASET")
DATASET_REGISTRY.__doc__ = "Datasets by name (TRAIN.DATASET / TEST.DATASET), each built as Dataset(cfg, split)."

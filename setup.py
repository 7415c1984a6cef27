"""Install the ``slowfast`` package: ``pip install -e .``."""
from setuptools import find_packages, setup


def _requirements(name="requirements.txt"):
    with open(name) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


setup(
    name="slowfast",
    version="0.1.0",
    description="SlowFast networks for Kinetics classification and AVA action detection",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=find_packages(exclude=("tests", "tools", "configs")),
    package_data={"slowfast.datasets.class_names": ["*.txt", "*.pbtxt", "*.md"]},
    install_requires=_requirements(),
    # Exported models and their runtimes (tools/export.py, TEST.RUNTIME): pip install -e .[deploy]
    # Sharded datasets (webdataset) and the TorchCodec decoding backend: pip install -e .[shards,torchcodec]
    extras_require={"deploy": _requirements("requirements-deploy.txt"), "openvino": ["openvino"],
                    "shards": [r for r in _requirements("requirements-shards.txt") if r.startswith("webdataset")],
                    "torchcodec": [r for r in _requirements("requirements-shards.txt") if r.startswith("torchcodec")]},
)

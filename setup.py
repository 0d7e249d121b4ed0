import re

from setuptools import find_packages, setup

# One version string: soundnet_keras.__version__ (CHANGELOG.md says what
# changed in each).
VERSION = re.search(r'^__version__ = "([^"]+)"',
                    open("soundnet_keras/__init__.py").read(), re.M).group(1)

setup(
    name="soundnet-keras",
    version=VERSION,
    description=("Keras 3 reproduction of Wang & Metze (Interspeech 2017): "
                 "a faithful pretrained SoundNet port, its SN-F / SN-R "
                 "variants and a CTC-RNN sound event detector"),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    license_files=["LICENSE", "NOTICE"],
    classifiers=["Programming Language :: Python :: 3",
                 "Topic :: Multimedia :: Sound/Audio :: Analysis"],
    python_requires=">=3.10",
    # The built-in presets: the checkout's top-level weights/ folder (one
    # preset folder each, the released SoundNet-8's with its card, sha256
    # and category names, and histories/) goes into the wheel as
    # soundnet_keras/presets/, where soundnet_keras.weights.find_weights_dir
    # looks first. (The released SoundNet-8 weights are fetched into the
    # user cache.) Also shipped: the detector's configs.
    packages=find_packages(include=["soundnet_keras", "soundnet_keras.*",
                                    "sed", "sed.*"])
    + ["soundnet_keras.presets"],
    package_dir={"soundnet_keras.presets": "weights"},
    package_data={
        "soundnet_keras.presets": ["README.md", "*/*"],
        "sed": ["configs/*.yaml"],
    },
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3.0",
        "numpy",
        "h5py",
        "soundfile>=0.12",
        "soxr",
        "pandas",
        "matplotlib",
        "tqdm",
        "torchfile",
        "editdistance",
        "sed_eval",
        "scipy",
        "pyyaml",
    ],
    extras_require={
        # the "opensmile" feature kind (openSMILE emobase functionals)
        "opensmile": ["opensmile>=2.5"],
        "dev": ["pytest", "hypothesis", "psutil", "nbmake", "opensmile>=2.5",
                "build", "twine", "tf2onnx>=1.16", "onnx", "onnxruntime",
                "ai-edge-litert>=2.0"],
        # Other Keras backends (KERAS_BACKEND=jax|torch): the models and
        # feature extraction; training stays on TensorFlow (README).
        # Install a CPU build of torch first where a CUDA one is unwanted.
        "jax": ["jax>=0.4.20"],
        "torch": ["torch>=2.1"],
        # soundnet-keras beam: extraction as an Apache Beam pipeline.
        "beam": ["apache-beam>=2.60"],
        # soundnet-keras export --format onnx, and its runtime
        "onnx": ["tf2onnx>=1.16", "onnx", "onnxruntime"],
        # soundnet-keras export --format litert: its interpreter
        "litert": ["ai-edge-litert>=2.0"],
        # make docs: the documentation site (MkDocs, offline, strict)
        "docs": ["mkdocs>=1.6", "mkdocs-material>=9.5", "mkdocs-jupyter>=0.25"],
    },
    entry_points={
        "console_scripts": ["soundnet-keras=soundnet_keras.cli:main",
                            "sed-ctc=sed.cli:main"],
    },
)

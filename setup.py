from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="keras_bertfam",
    version="0.1.0",
    description="BERT, ALBERT, RoBERTa and their hybrids for Keras 3: layers, builders, "
    "pretraining data, training and export.",
    long_description=Path("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    # keras_bertfam only: the repository's benchmarks/ (and tests/, examples/) stay out
    packages=find_packages(include=["keras_bertfam", "keras_bertfam.*"]),
    package_data={"keras_bertfam": ["resources/*.gz", "resources/*.md", "recipes/*.json"]},
    install_requires=[
        "tensorflow~=2.20.0",
        "tensorflow-text~=2.20.0",
        "keras>=3.12",
        "keras-hub>=0.22",
        "numpy>=1.26",
        "sentencepiece>=0.2",
        "safetensors>=0.4",
        "ai-edge-litert>=1.2",
        "tokenizers>=0.19",
        "tqdm>=4.60",
        "wrapt>=1.15",
        "matplotlib>=3.7",
    ],
    extras_require={
        # tensorflow-hub + tf-keras: the TF-Hub client the tfhub export is tested with;
        # jax (CPU): training on the JAX backend beside TensorFlow (tests/test_jax_training.py;
        # its numpy and ml_dtypes requirements agree with tensorflow 2.20's)
        "dev": [
            "pytest>=8",
            "pytest-xdist>=3.5",
            "ruff==0.17.6",
            "scikit-learn>=1.3",
            "tensorflow-hub==0.16.1",
            "tf-keras~=2.20.0",
            "jax[cpu]==0.10.2",
        ],
        # a peer of benchmarks/ (python -m benchmarks), when installed
        "bench": ["tf-models-official~=2.20.0"],
        # the PyTorch comparisons of benchmarks/ (peers_finetune_fortunes.py also fits a
        # TF-IDF baseline with scikit-learn) and tests/parity/
        "parity": [
            "torch==2.13.0",
            "transformers>=4.40",
            "sentence-transformers>=3",
            "scikit-learn>=1.3",
        ],
    },
    entry_points={"console_scripts": ["bertfam=keras_bertfam.cli:main"]},
)

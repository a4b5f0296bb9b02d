"""The wheel works on its own: built, installed into a new virtual environment, run from
outside the source tree (so nothing is imported from the checkout)."""

from __future__ import annotations

import site
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHECK = """
import keras_bertfam as bf
from pathlib import Path
assert Path(bf.__file__).is_relative_to(Path(__import__("sys").prefix)), bf.__file__
print("params", bf.build_encoder("bert_tiny").count_params())
from keras_bertfam.resources import FORTUNES_TRAIN, PYDOCS_CORPUS
import gzip
print("corpus", len(gzip.open(PYDOCS_CORPUS, "rt").read()) > 1_000_000)
print("fortunes", gzip.open(FORTUNES_TRAIN, "rt").readline().strip())
from keras_bertfam.recipes import list_recipes
print("recipes", list_recipes())
"""


def test_the_wheel_installs_and_runs_in_a_new_environment(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(ROOT)],
        check=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    wheel = next((tmp_path / "dist").glob("keras_bertfam-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "keras_bertfam/resources/pydocs-corpus.txt.gz" in names
    assert "keras_bertfam/recipes/bert.json" in names
    assert not [n for n in names if n.startswith(("benchmarks/", "tests/"))]

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True, timeout=300)  # fmt: skip
    # the dependencies come from this environment's site-packages (a path entry, so its
    # own .pth files, the checkout's editable install among them, are not run)
    venv_site = next((venv / "lib").glob("python*/site-packages"))
    (venv_site / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")

    help_text = subprocess.run([str(venv / "bin" / "bertfam"), "--help"], capture_output=True,
                               text=True, check=True, cwd=tmp_path, timeout=300)  # fmt: skip
    assert "create-data" in help_text.stdout and "finetune" in help_text.stdout
    out = subprocess.run([str(python), "-c", CHECK], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert "params 4385920" in out.stdout and "corpus True" in out.stdout
    assert "fortunes label\ttext" in out.stdout and "'bert'" in out.stdout

"""An ordinary install works: a wheel built from the project carries resources/ (the default OCR
model and the sample pages), and the installed ``backprop-studio`` command reads a page.

The fresh virtualenv reuses this interpreter's already-installed dependencies through a .pth file
(offline and fast) but not the project itself: site-packages' .pth files (the editable install's
finder) are not processed for a directory named in a .pth, so only the wheel provides ``engine``.
"""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from helpers import ROOT

SOURCES = ("engine", "gui", "resources", "main.py", "pyproject.toml", "README.md")


def _run(*cmd, **kw):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kw)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built from a copy of the sources, so the build leaves nothing in the checkout."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy2)(
            ROOT / name, src / name, **({"ignore": shutil.ignore_patterns("__pycache__")}
                                         if (ROOT / name).is_dir() else {}))
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", out, src)
    (whl,) = out.glob("backprop_studio-*.whl")
    return whl


def test_wheel_carries_the_model_and_sample_pages(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "resources/ocr_model.npz" in names and "resources/pages/truth.json" in names
    assert {f"resources/pages/page{i}.png" for i in range(1, 5)} <= names
    assert "engine/ocr/pipeline.py" in names and "main.py" in names


def test_installed_command_reads_a_page_outside_the_checkout(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    py = venv / "bin" / "python"
    site = Path(_run(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    deps = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site / "_reuse_deps.pth").write_text("\n".join(deps) + "\n")
    _run(sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index", "-q", wheel)

    work = tmp_path / "elsewhere"  # not the repo: nothing can be found relative to the checkout
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    where = _run(py, "-c", "import engine, resources; print(engine.__file__); print(resources.MODEL)",
                 cwd=work, env=env).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where  # the wheel's code and model, not the checkout's
    truth = json.loads((ROOT / "resources" / "pages" / "truth.json").read_text())
    shutil.copy2(ROOT / "resources" / "pages" / "page1.png", work / "photo.png")
    proc = _run(venv / "bin" / "backprop-studio", "ocr", "photo.png", "--json", cwd=work, env=env)
    lines = json.loads(proc.stdout)["lines"]
    from engine.ocr.evaluate import char_accuracy
    assert char_accuracy(lines, truth["page1.png"]) > 0.8, lines

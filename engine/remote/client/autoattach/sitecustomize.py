"""Started by Python itself in a script run under `python main.py debug` (this folder is put first on
its PYTHONPATH; Python imports ``sitecustomize`` at start-up): a PyTorch script attaches with no
change at all. Only the standard library here; nothing happens until the script imports torch, and
then ``backprop_studio.torch_auto`` hooks every module and optimizer until the first step shows
which model is trained. The ``sitecustomize`` this one hides (Debian ships one) is still run.
"""
import importlib.machinery
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


class _TorchWatcher:
    """A meta-path finder that only waits for ``import torch`` to finish, then steps aside."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torch":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        real_exec = spec.loader.exec_module

        def exec_module(module):
            real_exec(module)
            try:
                from backprop_studio.torch_auto import install

                install()
            except Exception as exc:  # noqa: BLE001 - the script must run whatever becomes of the debugger
                print(f"backprop-studio: not attached ({type(exc).__name__}: {exc}); running without the "
                      "debugger", file=sys.stderr)

        spec.loader.exec_module = exec_module
        return spec


def _run_hidden_sitecustomize():
    path = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        sys.modules["sitecustomize"] = module
        spec.loader.exec_module(module)


if os.environ.get("BACKPROP_STUDIO_ATTACH") and os.environ.get("BACKPROP_STUDIO_DETACH") != "1":
    sys.meta_path.insert(0, _TorchWatcher())
try:
    _run_hidden_sitecustomize()
except Exception:  # noqa: BLE001, S110 - someone else's start-up file: its failure is not ours to report
    pass

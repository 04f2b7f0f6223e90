"""Attached to a PyTorch ``nn.Module`` and its optimizer, with no change inside the loop body.

The optimizer's step is the batch boundary (a post-step hook: pause and step block there, after the
update, as the NumPy client blocks before the next batch). Every ``Linear`` and ``Conv2d`` is a layer:
its weight and gradient are read as NumPy views of the tensors (no copies beyond the 1024-weight
sample of figures.py), and its activation's output is caught as the module that follows it (a
``Sigmoid``, ``ReLU`` ...) returns it, or as the next layer's input when the activation is a function
call: the module's own ``forward`` is wrapped (a forward hook would send every call of the module
through PyTorch's slower hook path). The loss is what the script logs, or else the tensor ``backward()`` was called on. An
epoch ends when a DataLoader the steps came from is used up (or at ``run.end_epoch()``).

Only reading: no hook returns a value, nothing touches an RNG, so outputs and gradients are
bit-identical with and without the debugger. ``detach`` (the window closing, the script ending)
removes every hook and patch.
"""
from __future__ import annotations

import functools
import os

import numpy as np
import torch
from torch import nn

from backprop_studio.figures import symmetry
from backprop_studio.run import Run

ACTIVATIONS = {nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.ReLU: "relu", nn.LeakyReLU: "leaky_relu",
               nn.ELU: "relu", nn.GELU: "relu", nn.Softmax: "softmax", nn.LogSoftmax: "softmax"}
PASS_THROUGH = (nn.Flatten, nn.Dropout, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Identity,
                nn.BatchNorm1d, nn.BatchNorm2d, nn.Unflatten)


def rank() -> int:
    """This process's rank under torchrun (0 when not distributed): only rank 0 attaches."""
    for key in ("RANK", "LOCAL_RANK"):
        value = os.environ.get(key, "")
        if value.isdigit():
            return int(value)
    return 0


def unwrap(model: nn.Module) -> nn.Module:
    """The user's model inside a DistributedDataParallel (or DataParallel) wrapper."""
    inner = getattr(model, "module", None)
    return inner if isinstance(inner, nn.Module) and type(model).__name__ in ("DistributedDataParallel",
                                                                              "DataParallel") else model


def layer_name(path: str, module: nn.Module) -> str:
    """A name watch expressions can use: 'fc1', 'net_0'; a bare Sequential index gets the module's kind
    ('linear0')."""
    name = path.replace(".", "_")
    return f"{type(module).__name__.lower()}{name}" if not name or name[0].isdigit() else name


def _guess(x: np.ndarray) -> str:
    """The activation a function call applied, from its output (only used when no module shows it)."""
    lo, hi = float(x.min()), float(x.max())
    if lo >= 0 and np.count_nonzero(x == 0) > 0.05 * x.size:
        return "relu"
    if lo >= 0 and hi <= 1:
        return "sigmoid"
    if lo >= -1 and hi <= 1:
        return "tanh"
    return "linear"


def _np(t) -> np.ndarray | None:
    return t.detach().numpy() if isinstance(t, torch.Tensor) and t.device.type == "cpu" else None


class _Catch:
    """A module's output (or first input) kept in ``posts[layer]`` at each call, by wrapping the module's
    own ``forward``; ``remove`` puts it back, like a hook's handle."""

    def __init__(self, module: nn.Module, posts: dict, layer: str, output: bool):
        self.module, self.own = module, module.__dict__.get("forward")  # (an instance's forward of its own)
        real = module.forward

        def forward(*args, **kwargs):
            if not output and args:
                posts[layer] = args[0]
            out = real(*args, **kwargs)
            if output:
                posts[layer] = out
            return out

        self.forward = forward
        module.forward = forward

    def remove(self) -> None:
        if self.module.__dict__.get("forward") is self.forward:
            if self.own is None:
                del self.module.forward
            else:
                self.module.forward = self.own


class TorchRun(Run):
    kind = "torch"

    def __init__(self, conn, script: str, model: nn.Module, optimizer):
        super().__init__(conn, script)
        self.model = unwrap(model)
        self.optimizer = optimizer
        self.layers = {layer_name(path, m): m for path, m in self.model.named_modules()
                       if isinstance(m, (nn.Linear, nn.Conv2d))}
        self._paths = {m: n for n, m in self.layers.items()}
        self.order = list(self.layers)  # registration order until the first forward shows the call order
        self.activations = {n: "linear" for n in self.order}
        self.posts: dict[str, torch.Tensor] = {}
        self.loss_tensor: torch.Tensor | None = None
        self._stepped = False
        self._explicit_epochs = False
        self._steps_in_iter = 0
        self._handles: list = []  # hooks kept while attached
        self._probes: list = []  # hooks on every leaf module, for the first forward only
        self._calls: list[tuple] | None = []  # that forward's leaf calls (name, module, inputs, output)
        self._new_layers = False
        self._views: dict = {}
        self._in_batch = True  # the first batch began before attach
        self._install()

    # ---- hooks ---------------------------------------------------------------------------------------

    def _install(self) -> None:
        for path, m in self.model.named_modules():
            if not list(m.children()):
                self._probes.append(m.register_forward_hook(self._first_forward(self._paths.get(m, path))))
        if self.optimizer is not None:
            self._handles.append(self.optimizer.register_step_post_hook(self._after_step))
        run = self
        real_backward = torch.Tensor.backward

        def backward(tensor, *args, **kwargs):
            if tensor.numel() == 1:
                run.loss_tensor = tensor
            return real_backward(tensor, *args, **kwargs)

        backward.__backprop_studio_original__ = real_backward
        torch.Tensor.backward = backward
        iter_cls = torch.utils.data.dataloader._BaseDataLoaderIter
        real_next = iter_cls.__next__

        def next_batch(it):
            try:
                return real_next(it)
            except StopIteration:
                run._loader_done()
                raise

        next_batch.__backprop_studio_original__ = real_next
        iter_cls.__next__ = next_batch

    def _first_forward(self, name: str):
        def hook(module, inputs, output):
            if self._calls is not None:
                self._calls.append((name, module, inputs, output))
        return hook

    def _read_first_forward(self) -> None:
        """Layer order and activations from the first batch's leaf calls; then keep only the hooks needed."""
        calls, self._calls = self._calls, None
        for h in self._probes:
            h.remove()
        self._probes = []
        seen = [(n, m, i, o) for n, m, i, o in calls if n in self.layers]
        if seen:
            self.order = list(dict.fromkeys(n for n, *_ in seen))
        for n in self.order:
            at = next((k for k, c in enumerate(calls) if c[0] == n), None)
            if at is None:
                continue
            for name, module, inputs, output in calls[at + 1:]:
                if type(module) in ACTIVATIONS:
                    self.activations[n] = ACTIVATIONS[type(module)]
                    self._handles.append(_Catch(module, self.posts, n, output=True))
                    break
                if name in self.layers:  # the activation was a function: the next layer's input shows it
                    x = _np(inputs[0]) if inputs else None
                    self.activations[n] = _guess(x) if x is not None and x.size else "linear"
                    self._handles.append(_Catch(module, self.posts, n, output=False))
                    break
                if not isinstance(module, PASS_THROUGH):
                    break
        self._new_layers = True  # told with the next batch's figures

    def _after_step(self, optimizer, args, kwargs) -> None:
        if not self.attached:
            return
        if self._calls:  # (empty when attached after this batch's forward: the next one is read)
            self._read_first_forward()
        self._stepped = True
        self._steps_in_iter += 1
        self._boundary(None)

    def _loader_done(self) -> None:
        """A DataLoader ran out: an epoch, if optimizer steps came from it (a validation loader takes none)."""
        if self._steps_in_iter and not self._explicit_epochs and self.attached:
            self._end_epoch()
        self._steps_in_iter = 0

    def end_epoch(self) -> None:
        self._explicit_epochs = True
        super().end_epoch()

    def _finish_batch(self) -> None:
        if self._stepped:  # the time after the last step (evaluation, the script's end) is no batch
            self._stepped = False
            super()._finish_batch()

    def on_detach(self) -> None:
        for h in reversed(self._handles + self._probes):  # (last first: wrapped forwards unwrap in order)
            h.remove()
        self._handles, self._probes = [], []
        for owner, attr in ((torch.Tensor, "backward"), (torch.utils.data.dataloader._BaseDataLoaderIter, "__next__")):
            original = getattr(getattr(owner, attr), "__backprop_studio_original__", None)
            if original is not None:
                setattr(owner, attr, original)

    # ---- what the window sees ------------------------------------------------------------------------

    def layer_list(self) -> list[dict]:
        out = []
        for n in self.order:
            m = self.layers[n]
            d = {"name": n, "activation": self.activations.get(n, "linear"), "shape": list(self._matrix(m).shape),
                 "module": type(m).__name__}
            if isinstance(m, nn.Conv2d):
                d["kernel"] = [int(k) for k in m.kernel_size]
                d["in_channels"] = int(m.in_channels)
            out.append(d)
        return out

    def hello(self) -> dict:
        return {"kind": self.kind, "rank": rank(), "world_size": int(os.environ.get("WORLD_SIZE", "1") or 1),
                "torch": torch.__version__, "model": type(self.model).__name__,
                "optimizer": type(self.optimizer).__name__ if self.optimizer is not None else "",
                "layers": [{**d, "init": symmetry(self._matrix(self.layers[d["name"]]))} for d in self.layer_list()]}

    @staticmethod
    def _matrix(m: nn.Module) -> np.ndarray:
        """The layer's weight as the exercise lays it out: (inputs, units); a conv's as (in x kh x kw, filters)."""
        w = m.weight.detach()
        return (w.reshape(w.shape[0], -1).T if w.ndim > 2 else w.T).numpy()

    def measure(self, item) -> dict | None:
        extra = None
        if self._new_layers:
            self._new_layers = False
            extra = {"layers": self.layer_list()}
        self.acc = None
        logged = "loss" in self._batch_logs  # (its own figure wins: no need to read the tensor)
        self.loss = self.loss_tensor.item() if self.loss_tensor is not None and not logged else None
        self.loss_tensor = None
        readings = []
        for n in self.order:
            W = self._weight_view(n)
            if W is not None:  # (a GPU model's tensors are not read on the hot path)
                g = self.layers[n].weight.grad
                G = (g.detach() if g.requires_grad else g).numpy() if g is not None and g.device.type == "cpu" else None
                post = self.posts.get(n)  # this batch's own tensor, read only when it is sampled
                readings.append((n, W, G, None if post is None else functools.partial(_np, post),
                                 self.activations.get(n, "linear")))
        self.watch.measure(readings)
        self.posts.clear()
        return extra

    def _weight_view(self, n: str) -> np.ndarray | None:
        """The layer's weight as a NumPy view (the optimizer updates it in place: the view stays true)."""
        p = self.layers[n].weight
        cached = self._views.get(n)
        if cached is None or cached[0] is not p:
            cached = self._views[n] = (p, _np(p))
        return cached[1]

    def weights(self) -> dict[str, np.ndarray]:
        out = {}
        for n in self.order:
            m = self.layers[n]
            out["W" + n] = self._matrix(m).astype(np.float32)
            if m.bias is not None:
                out["b" + n] = m.bias.detach().numpy().astype(np.float32)
        return out

    def snapshot_arrays(self) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy() for k, v in self.model.state_dict().items() if v.is_floating_point()}

    def restore_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """The snapshot's tensors copied into the model's own (in place: the optimizer keeps them)."""
        with torch.no_grad():
            for k, v in self.model.state_dict().items():
                if k in arrays and tuple(v.shape) == arrays[k].shape:
                    v.copy_(torch.from_numpy(np.asarray(arrays[k])))
        self.watch.forget()  # the jump is no update

    def gradcheck(self, request: dict) -> tuple[dict, dict]:
        return {"problem": "PyTorch's autograd computes these gradients; the gradient check is for a backward "
                           "pass you wrote (the NumPy client)"}, {}

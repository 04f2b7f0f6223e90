"""A PyTorch script under `python main.py debug`, unchanged: global hooks find the model and attach.

Until the first optimizer step, every module call is watched (PyTorch's global forward hooks) to
know the outermost module called; that step's optimizer, and the outermost module whose parameters
it updates, are attached as if the script had called ``attach(model, optimizer)``. The global hooks
are then removed: from there on only the attached layers' own hooks run. Ranks other than 0 of a
torchrun job never attach.
"""
from __future__ import annotations

import torch
from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
from torch.optim.optimizer import register_optimizer_step_post_hook

import backprop_studio
from backprop_studio.torch_run import rank, unwrap

_state: dict = {}


def install() -> None:
    if rank() != 0 or _state:
        return
    depth = [0]
    outer: dict = {}  # the outermost modules called since the last step (the model, a loss module, ...)

    def pre(module, inputs):
        if depth[0] == 0 and len(outer) < 16:
            outer[id(module)] = module
        depth[0] += 1

    def post(module, inputs, output):
        depth[0] = max(0, depth[0] - 1)

    real_backward = torch.Tensor.backward
    loss: list = [None]

    def backward(tensor, *args, **kwargs):  # the first batch's loss, before the run patches this itself
        if tensor.numel() == 1:
            loss[0] = tensor
        return real_backward(tensor, *args, **kwargs)

    def after_step(optimizer, args, kwargs):
        params = {id(p) for g in optimizer.param_groups for p in g["params"]}
        model = next((m for m in outer.values() if any(id(p) in params for p in m.parameters())), None)
        outer.clear()
        if model is None:
            return  # a step whose model was never called as a module: wait for one that is
        remove()
        if backprop_studio.current() is None:  # the script's own attach() comes first when it has one
            run = backprop_studio.attach(unwrap(model), optimizer)
            if run.attached:
                run.loss_tensor = loss[0]
                run._after_step(optimizer, args, kwargs)  # this first step is the run's first batch

    handles = [register_module_forward_pre_hook(pre), register_module_forward_hook(post),
               register_optimizer_step_post_hook(after_step)]

    def remove():
        for h in handles:
            h.remove()
        if torch.Tensor.backward is backward:
            torch.Tensor.backward = real_backward

    torch.Tensor.backward = backward

    _state["remove"] = remove

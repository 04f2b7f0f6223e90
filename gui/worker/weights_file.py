"""File -> Open weights: the exercise's saved params dict (``q3_weights.pickle``) as the window's network.

The pickle is read by ``engine.remote.weights`` (arrays and numbers only, nothing in it is run). When the
network fits the current data (its inputs and classes), it becomes a new session on them: the Weights
view shows its first layer, the Confusion panel its validation confusion, Explain and the Inspect tools
its answers. When it takes 32x32 images and gives NIST36's 36 classes, it is also offered to the OCR
as its model (``Worker.model_opened``). Called in the worker thread.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from engine.data.dataset import SIDE
from engine.ocr.model import Classifier
from engine.remote.weights import WeightsError, load_network
from engine.training.session import TrainConfig, TrainingSession


def open_weights(worker, path: str) -> None:
    net, classes, names = load_network(path)
    name = Path(path).name
    shape = " \u2192 ".join(str(n) for n in net.sizes)
    done = []
    data = worker.session.data if worker.session is not None else None
    fits = data is not None and data.n_inputs == net.sizes[0] and data.n_classes == net.sizes[-1]
    if fits:
        config = replace(worker.session.config if worker.session is not None else TrainConfig(),
                         hidden=tuple(net.sizes[1:-1]), activation="sigmoid", loss="cross_entropy", output="")
        session = TrainingSession(data, config, network=net)
        session.valid_pred = session.evaluate(data.valid)[2]
        worker._new_session(data, config, session)  # (no source: Save never writes over the pickle)
        done.append(f"weights, confusion and explain on {data.name}")
    ocr = net.sizes[0] == SIDE * SIDE and net.sizes[-1] == len(classes) == 36
    if ocr:
        worker.model_opened.emit(Classifier(net, tuple(classes), str(path)))
        done.append("the OCR's model")
    if not done:
        have = f"{data.name} has {data.n_inputs} inputs and {data.n_classes} classes" if data is not None else "no data"
        raise WeightsError(f"{name}: a {shape} network ({', '.join(names)}) fits neither the data ({have}) "
                           "nor the OCR (1024 inputs, 36 classes)")
    worker.exported.emit(f"opened {name}: {shape} ({', '.join(names)}) \u2014 " + "; ".join(done))

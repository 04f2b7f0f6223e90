"""The panels, one folder per family (training, debugger, inspect, experiments, autoencoder, ocr).

A panel never imports another panel's module: what two panels share lives in ``gui.widgets``.
"""

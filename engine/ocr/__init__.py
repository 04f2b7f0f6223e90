"""Steppable OCR for photographed handwritten block capitals and digits (no Qt here).

pipeline.OcrPipeline   ordered stages with typed params, cached re-runs
page / geometry        find the sheet in a photo and the text's tilt; homographies, turns, warps
segment / layout       the image stages and the box logic, as plain functions
normalize              crop -> 32x32 network input (also builds the training set)
model                  the "ocr-train" dataset and the default model
result / edit          boxes and text; relabel, delete, merge, add, export
finetune               the correction loop: fine-tune the model on the user's corrections, re-read
inputs                 what `explain` reads: a character image normalized like a crop, or .npy inputs
evaluate               character accuracy on a folder (timings: engine.bench.ocr)
"""
from engine.ocr.pipeline import OcrPipeline, Param, Stage, StageOutput
from engine.ocr.result import Box, OcrResult

__all__ = ["Box", "OcrPipeline", "OcrResult", "Param", "Stage", "StageOutput"]

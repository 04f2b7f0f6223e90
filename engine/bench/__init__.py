"""Benchmarks measured side by side in one run (only ratios travel between machines).

training  the engine's epoch against a bare GEMM floor     ocr     the OCR against the reference pipeline
torch     the engine's epoch against PyTorch's on the CPU  attach  a worked example attached vs on its own
"""

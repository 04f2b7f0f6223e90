"""The debugger's tools over a network or a session (they read; they never train).

stats     per-layer gradient/saturation figures and the words that explain them; the confusion matrix
watch     watchpoints: conditions that pause training     timeline  time travel and branches
explain   saliency, occlusion, layer outputs, the hidden-space map, top losses
"""

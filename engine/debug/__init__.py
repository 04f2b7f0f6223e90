"""The debugger's tools over a network or a session (they read; they never train).

stats      per-layer gradient/saturation figures and the words that explain them; the confusion matrix
confusion  what a confusion matrix says: the most confused pairs (one tie order), the weakest classes
gradients  the per-batch gradient magnitudes of a run (the gradient panel's curve)
tiles      first-layer weights as a grid of 32x32 tiles, and back from a point to its unit and pixel
watch      watchpoints: conditions that pause training     timeline  time travel and branches
explain    saliency, occlusion, layer outputs, the hidden-space map, top losses

The window's panels and the HTML report both draw from these, so they always show the same figures.
"""

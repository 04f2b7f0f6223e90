"""What panels share, so that no panel imports another.

panel    the Panel base and the queue that redraws panels one per event-loop pass
theme    every colour and style sheet of the window (over engine/report/palette.py: the report's colours)
plots    one plot style, cached axes, a stable range, a readable log axis, growable series
build    one-call builders: a label, a button, a spin box, a row
inputs   the learning-rate box, the hidden-sizes parser, the hidden activations
pixmaps  NumPy images as pixmaps             export  PNG/CSV export on every plot
"""

"""backprop-studio engine: pure NumPy/SciPy/scikit-image. Never imports Qt."""

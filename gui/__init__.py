"""backprop-studio desktop app (PyQt6 + pyqtgraph): views over engine.training.session.TrainingSession.

Data flows one way: engine events -> gui.worker.Worker (coalesced, <= 30 Hz) -> Qt signals -> panels.
Commands flow back only as method calls on the worker.
"""

import os

# One BLAS thread: the GEMMs here are tiny, and threads spinning on a busy (shared) machine make them
# hundreds of times slower; the second core is better left to the event loop. Effective only if this
# runs before NumPy is first imported (main.py sets it too).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

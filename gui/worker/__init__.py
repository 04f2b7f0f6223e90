"""The threads behind the window, and everything that runs in them.

Threads (besides one BLAS thread per process: OPENBLAS_NUM_THREADS=1, gui/__init__.py):

- The GUI thread: the window and its panels. It draws what the worker sends and sends commands back; it
  never touches a session, a pipeline or a job.
- The worker thread (``worker.Worker``, one per window): the only thread that touches the sessions. Its
  scheduler (engine.training.jobs.Scheduler) time-slices every job, one unit at a time: the main session,
  and the runners' jobs -- ``runners/experiments.py`` (side-by-side runs), ``runners/autoencoder.py``,
  ``runners/gradcheck.py``, ``runners/ocr.py`` (the OCR page, stage by stage), ``runners/finetune.py``
  (the correction loop). A runner takes commands from the GUI thread (each a message to the worker) and
  answers with signals. ``events.py`` turns the main session's events into the panels' messages
  (``messages.py``); ``timeline.py`` and ``watch.py`` keep time travel and watchpoints.
- The background pool (``background.py``, up to one thread per user, six at most): engine calls that must
  answer while training runs and must not stall it -- the Inspect tools (Explain, Draw, Hidden space, Top
  losses, the OCR box's explanation) on private copies of the network, and the correction loop's base set
  (built once per machine, in minutes). Not the worker's scheduler: its units run one at a time, so Draw
  would wait behind a hidden-space map (0.1-2 s while training) and training would stop while it ran. Not
  one thread either: measured while training, Draw's answer took p90 0.3-6 s behind the other tools with
  one shared thread, 20-230 ms with a thread each (gui/worker/background.py).

A panel standing alone (the OCR tab or the correction loop in a test) gets a worker of its own
(``standalone.own_worker``).
"""

"""The jobs the worker runs beside the main session, one runner each (see gui/worker/__init__.py)."""

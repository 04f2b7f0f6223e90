import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests in every folder import helpers.py by name

pytest_plugins = ["torch_plugin"]  # the `torch` fixture and marker: skipped without PyTorch, never in CI

# Property-based tests (tests/props/): few examples by default so the whole hypothesis suite
# stays well under a minute; HYPOTHESIS_PROFILE=thorough explores more. No example database in the
# checkout, no per-example deadline (a shared CI machine is slow at times).
try:
    from hypothesis import HealthCheck, settings

    settings.register_profile("default", max_examples=25, deadline=None, database=None,
                              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    settings.register_profile("thorough", max_examples=500, deadline=None, database=None,
                              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
except ImportError:  # only the property tests need it; they skip without it
    pass

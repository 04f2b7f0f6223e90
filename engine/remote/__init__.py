"""Your own training loop under the debugger: the window's side of an attached script.

The script imports ``backprop_studio`` (engine/remote/client/backprop_studio: standard library and
NumPy only, installed under that one distinctive name) and attaches its params dict or PyTorch model.
Here:

host      listening for scripts: a private Unix socket and a key; one script at a time
session   RemoteSession: the attached script as a session (state, history, events, commands)
diagnose  the classic homework bugs named from their symptoms
child     `debug SCRIPT`: the script in its own interpreter, its output in a log the window tails
headless  `debug SCRIPT --headless`: the same, printed per epoch, with watchpoints
check     `check NN_PY`: the exercise's functions checked against what the exercise specifies
weights   the exercise's saved params (a pickle, read without running it) as a network
"""
import importlib.util
import sys
from pathlib import Path

CLIENT_DIR = Path(__file__).resolve().parent / "client"  # the backprop_studio package
AUTOATTACH_DIR = CLIENT_DIR / "autoattach"  # a sitecustomize for debugged children: PyTorch attaches unchanged

if importlib.util.find_spec("backprop_studio") is None:  # a checkout that was never pip-installed
    sys.path.append(str(CLIENT_DIR))

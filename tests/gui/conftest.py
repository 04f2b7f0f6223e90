"""GUI test fixtures: a small learnable dataset, throwaway settings, and a window on them.

Settings never touch the user's: every QSettings path points into a temporary folder and the
organization name is a test one; each window also gets its own .ini file.
"""
from __future__ import annotations

import os
import signal
import tempfile

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# every window listens for scripts (gui/worker/runners/remote.py): here, never in the user's rendezvous folder
os.environ["BACKPROP_STUDIO_RENDEZVOUS"] = tempfile.mkdtemp(prefix="bps-tests-")

from helpers import prototype_dataset  # noqa: E402
from PyQt6 import sip  # noqa: E402
from PyQt6.QtCore import QCoreApplication, QSettings  # noqa: E402
from PyQt6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from engine.training.session import TrainConfig  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def isolated_settings(tmp_path_factory, qapp):
    folder = tmp_path_factory.mktemp("qsettings")
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
            QSettings.setPath(fmt, scope, str(folder))
    QCoreApplication.setOrganizationName("backprop-studio-tests")
    QCoreApplication.setApplicationName("backprop-studio-tests")
    yield folder


@pytest.fixture(autouse=True)
def no_blocking_dialogs(monkeypatch):
    """Closing a window with unsaved training asks a question; tests answer 'Discard' unless they
    patch it themselves. Records the questions asked."""
    asked = []

    def question(*args, **kwargs):
        asked.append(args)
        return QMessageBox.StandardButton.Discard

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    return asked


@pytest.fixture(autouse=True)
def windows_closed_and_deleted(no_blocking_dialogs):
    """Every window a test opened is closed when it ends, and deleted by Qt there and then, as the app
    does (gui.app._CLOSED): never left for the garbage collector to find in a later test. (Not
    qtbot.addWidget: its teardown calls close() on a window that already deleted itself.)"""
    yield
    from gui.app import MainWindow, delete_closed_windows

    for w in QApplication.topLevelWidgets():
        if isinstance(w, MainWindow) and not sip.isdeleted(w):
            w.saved_step = w.step  # nothing to ask about: a test that answered Cancel is over
            w.close()
    delete_closed_windows()


@pytest.fixture
def settings(tmp_path):
    s = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    yield s
    s.sync()


@pytest.fixture(scope="session")
def data():
    return prototype_dataset(n_train=384, n_valid=144, noise=0.6)


@pytest.fixture
def make_window(qtbot, settings, data):
    from gui.app import MainWindow

    def make(config: TrainConfig | None = None, dataset=None, settings_=None):
        w = MainWindow(settings_ or settings, data=dataset or data, config=config or TrainConfig(epochs=2000))
        w.resize(1200, 800)
        w.show()
        qtbot.waitUntil(lambda: w.info is not None, timeout=20_000)
        return w

    return make


@pytest.fixture
def window(make_window):
    return make_window()



@pytest.fixture
def children(monkeypatch):
    """The scripts the window starts under the debugger (engine.remote.child.Child), recorded; any still
    running when the test ends is killed (closing a window lets its script go on, by design)."""
    from gui.worker.runners import remote  # (Qt: imported once the platform is set)

    started = []

    def start(*args, **kwargs):
        child = real(*args, **kwargs)
        started.append(child)
        return child

    real = remote.start
    monkeypatch.setattr(remote, "start", start)
    yield started
    for child in started:
        child.signal(signal.SIGKILL)
        child.proc.wait(10)

"""The base of every panel, and the queue that redraws panels one per event-loop pass.

A panel is a QWidget that observes the worker's signals and sends commands only as method calls on
the worker; it never reaches into another panel or the session. To add one: subclass ``Panel``, then
add one line to ``gui.views.PANELS``.
"""
from __future__ import annotations

from PyQt6.QtCore import QSize, QTimer
from PyQt6.QtWidgets import QWidget

from gui.widgets.plots import StableRange


class RefreshQueue:
    """Redraws one panel per event-loop pass, so the loop never blocks for all panels at once (a 10 ms
    timer, a click or a key press gets in between). ``when_idle`` runs a callback once all queued
    redraws (and the repaints they cause) are done: the worker paces its updates by that."""

    def __init__(self):
        self.pending: list[Panel] = []
        self.idle: list = []
        self.scheduled = False

    def add(self, panel: "Panel") -> None:
        if panel not in self.pending:
            self.pending.append(panel)
        self._schedule()

    def when_idle(self, callback) -> None:
        self.idle.append(callback)
        self._schedule()

    def _schedule(self) -> None:
        if not self.scheduled:
            self.scheduled = True
            QTimer.singleShot(0, self._next)

    def _next(self) -> None:
        self.scheduled = False
        if self.pending:
            panel = self.pending.pop(0)
            try:
                panel.refresh()
            except RuntimeError as exc:  # the panel's window was closed and deleted meanwhile
                if "deleted" not in str(exc):
                    raise
            finally:
                self._schedule()
        elif self.idle:
            callbacks, self.idle = self.idle, []
            for callback in callbacks:
                # after the repaints the last redraw queued; wrapped so that it runs in this (GUI) thread
                # even when it is a method of a QObject living in another thread (the worker's ack)
                QTimer.singleShot(0, lambda cb=callback: cb())


REFRESHES = RefreshQueue()


class Panel(QWidget):
    """Base for dockable views: ``attach`` connects to the worker; redraws are skipped while the
    panel is hidden in a visible window (a background tab) and done when it is shown again."""

    title = "Panel"
    modest = False  # tabs set this: a modest size hint so a tab never makes its tile grow

    def __init__(self, parent=None):
        super().__init__(parent)
        self.worker = None
        self._stale = False

    def sizeHint(self) -> QSize:
        return QSize(560, 340) if self.modest else super().sizeHint()

    def attach(self, worker) -> None:
        self.worker = worker
        worker.session_changed.connect(self._reset_ranges)  # before on_session: a new session's ranges start over
        worker.session_changed.connect(self.on_session)
        worker.updated.connect(self.on_update)

    def on_session(self, info) -> None:  # SessionInfo: redraw from scratch
        pass

    def _reset_ranges(self, info) -> None:
        """A new session (Reset, new data, a checkpoint) or a return from the past: axis ranges follow
        the data again from scratch instead of keeping the old run's. The panel is redrawn, so a panel
        whose data is not the main session's (the autoencoder, experiments) fits its ranges to it again."""
        ranges = [value for value in vars(self).values() if isinstance(value, StableRange)]
        for value in ranges:
            value.reset()
        if ranges:
            self.request_refresh()

    def on_update(self, update) -> None:  # Update: what changed
        pass

    def refresh(self) -> None:  # draw what has been stored
        pass

    def request_refresh(self) -> None:
        window = self.window()
        if window is not self and window.isVisible() and not self.isVisible():
            self._stale = True
        else:
            self._stale = False
            REFRESHES.add(self)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self.refresh()

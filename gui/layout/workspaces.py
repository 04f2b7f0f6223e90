"""Workspaces: a few task views the user switches between (Train, Inspect, Experiments, Autoencoder, OCR),
each a layout of panel frames made of splitters, so every panel gets room for its task instead of eleven
sharing one screen.

A layout is a tree: ``Split("h" | "v", children, sizes)`` whose leaves are panel keys (one panel) or tuples
of keys (tabs in one frame). A panel may appear in several workspaces: the panel widget moves into the
frame of whichever workspace is shown. Every frame has a title bar with a maximise/restore button
(Ctrl+M maximises the panel used last: the one that has, or last had, the focus). Splitter sizes, the tab
shown in each frame and the current workspace are remembered per workspace (QSettings); ``reset_layout``
brings the defaults back.

Adding a panel to a workspace (see /work/notes/window-api.md): one ``PanelSpec`` line in gui/views.py's
PANELS naming the workspace and the panel it sits beside as a tab (``tab_with``), or a new leaf in the
workspace's layout below.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from PyQt6.QtCore import QByteArray, Qt, pyqtSignal
from PyQt6.QtWidgets import QApplication, QSplitter, QStackedWidget, QTabBar, QVBoxLayout, QWidget

from gui.layout.frames import Frame
from gui.widgets import theme


@dataclass(frozen=True)
class Split:
    orientation: str  # "h": side by side, "v": one above the other
    children: tuple  # Split, a panel key, or a tuple of panel keys (tabs)
    sizes: tuple[int, ...] = ()  # default proportions


@dataclass
class WorkspaceSpec:
    key: str
    title: str
    shortcut: str
    layout: object  # Split, a key or a tuple of keys
    controls: bool = True  # show the Controls column (with its live loss curve) beside it
    tip: str = ""
    extra_tabs: dict[str, list[str]] = field(default_factory=dict)  # key in layout -> more tabs beside it


WORKSPACES: list[WorkspaceSpec] = [
    WorkspaceSpec("train", "Train", "Ctrl+1",
                  Split("h", (Split("v", ("curves", "gradients"), (5, 4)), ("weights", "confusion")), (1, 1)),
                  tip="Train and watch: curves, weights, gradients, confusion"),
    WorkspaceSpec("inspect", "Inspect", "Ctrl+2",
                  Split("h", (Split("v", ("timeline", "watchpoints"), (1, 1)), Split("v", ("confusion", "gradcheck"), (1, 1))),
                        (11, 9)),
                  tip="Debug one run: time travel, watchpoints, the confusion drill-down, gradient checks"),
    WorkspaceSpec("experiments", "Experiments", "Ctrl+3", "experiments",
                  tip="Side-by-side runs and opened run logs"),
    WorkspaceSpec("autoencoder", "Autoencoder", "Ctrl+4", "autoencoder",
                  tip="Train an autoencoder on the current data and look at its reconstructions"),
    WorkspaceSpec("ocr", "OCR", "Ctrl+5", "ocr", controls=False,
                  tip="Read a photographed page stage by stage"),
    WorkspaceSpec("script", "Your script", "Ctrl+6",
                  Split("h", (Split("v", ("curves", "console"), (3, 2)),
                              Split("v", (("gradients", "gradcheck"), ("weights", "timeline", "watchpoints")), (1, 1))),
                        (1, 1)),
                  tip="Your own training loop under the debugger: its output, curves, gradients and their "
                      "diagnosis, its backward pass checked, weights, time travel, watchpoints; it keeps the last "
                      "script's run (after a Reset too)"),
]


def leaves(node) -> list[tuple[str, ...]]:
    """The frames of a layout, each as its tuple of panel keys."""
    if isinstance(node, Split):
        return [leaf for child in node.children for leaf in leaves(child)]
    return [node if isinstance(node, tuple) else (node,)]


class Page(QStackedWidget):
    """One workspace: its splitter tree (index 0) or one maximised frame (index 1)."""

    def __init__(self, spec: WorkspaceSpec, on_maximise):
        super().__init__()
        self.spec = spec
        self.frames: list[Frame] = []
        self.splitters: list[QSplitter] = []
        self.tree = self._build(spec.layout, on_maximise)
        for key, extra in spec.extra_tabs.items():
            frame = self.frame_of(key)
            for k in extra:
                frame.add_key(k)
        self.addWidget(self.tree)
        self.apply_default_sizes()  # (a splitter would otherwise split by its panels' size hints)
        self.max_holder = QWidget()
        QVBoxLayout(self.max_holder).setContentsMargins(0, 0, 0, 0)
        self.addWidget(self.max_holder)
        self.maximised: Frame | None = None
        self.last_used: Frame | None = None  # the frame that last had the focus (Ctrl+M maximises it)

    def _build(self, node, on_maximise) -> QWidget:
        if not isinstance(node, Split):
            frame = Frame(node if isinstance(node, tuple) else (node,))
            frame.maximise_clicked.connect(on_maximise)
            self.frames.append(frame)
            return frame
        sp = QSplitter(Qt.Orientation.Horizontal if node.orientation == "h" else Qt.Orientation.Vertical)
        sp.setChildrenCollapsible(False)
        sp.setHandleWidth(5)
        self.splitters.append(sp)
        for child in node.children:
            sp.addWidget(self._build(child, on_maximise))
        for i, w in enumerate(node.sizes):
            sp.setStretchFactor(i, w)
        sp.default_sizes = node.sizes
        return sp

    def keys(self) -> list[str]:
        return [k for f in self.frames for k in f.keys]

    def frame_of(self, key: str) -> Frame | None:
        return next((f for f in self.frames if key in f.keys), None)

    def front_tabs(self) -> None:
        """Each frame's first panel in front (the tabs added beside it come later): the OCR page, not the
        correction loop."""
        for frame in self.frames:
            frame.select(frame.keys[0])

    def apply_default_sizes(self) -> None:
        for sp in self.splitters:
            if sp.default_sizes:
                total = sum(sp.default_sizes)  # (setSizes keeps the proportions when the splitter is resized)
                extent = max(sp.width() if sp.orientation() == Qt.Orientation.Horizontal else sp.height(), 1000)
                sp.setSizes([int(extent * w / total) for w in sp.default_sizes])

    def toggle_maximise(self, frame: Frame) -> None:
        if self.maximised is not None:
            self.restore()
            return
        self.maximised = frame
        frame.set_maximised(True)
        if isinstance(self.tree, Frame):
            return  # the only frame: maximising it only hides the Controls column (the window does that)
        self._placeholder = QWidget()
        splitter = frame.parentWidget()
        self._slot = (splitter, splitter.indexOf(frame))
        splitter.replaceWidget(self._slot[1], self._placeholder)
        self.max_holder.layout().addWidget(frame)
        frame.show()
        self.setCurrentIndex(1)

    def restore(self) -> None:
        frame = self.maximised
        if frame is None:
            return
        self.maximised = None
        frame.set_maximised(False)
        if isinstance(self.tree, Frame):
            return
        splitter, index = self._slot
        splitter.replaceWidget(index, frame)
        self._placeholder.deleteLater()
        frame.show()
        self.setCurrentIndex(0)


class Workspaces(QWidget):
    """The central widget: a bar of workspaces and the pages; the window's panels move between them."""

    changed = pyqtSignal(str)  # workspace key
    maximised = pyqtSignal(bool)  # a panel is maximised (the window hides the Controls column) or restored

    def __init__(self, panels: dict, specs: list[WorkspaceSpec] | None = None, parent=None):
        super().__init__(parent)
        self.panels = panels
        self.specs = specs or WORKSPACES
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.bar = QTabBar()
        self.bar.setDocumentMode(True)
        self.bar.setExpanding(False)
        self.bar.setStyleSheet(theme.WORKSPACE_TABS)
        lay.addWidget(self.bar)
        self.stack = QStackedWidget()
        lay.addWidget(self.stack, 1)
        self.pages: dict[str, Page] = {}
        for spec in self.specs:
            page = Page(spec, self._maximise_clicked)
            self.pages[spec.key] = page
            self.stack.addWidget(page)
            i = self.bar.addTab(spec.title)
            self.bar.setTabToolTip(i, f"{spec.tip} ({spec.shortcut})")
        self.current = ""
        self.bar.currentChanged.connect(lambda i: self.activate(self.specs[i].key))
        self.activate(self.specs[0].key)
        app = QApplication.instance()
        if app is not None:
            app.focusChanged.connect(self._focus_changed)

    def _focus_changed(self, _old, new) -> None:
        """Remember the frame of the current workspace that the focus went to (a click, a key, a tab)."""
        if new is None or not self.current:
            return
        page = self.page
        frame = next((f for f in page.frames if f is new or f.isAncestorOf(new)), None)
        if frame is not None:
            page.last_used = frame

    @property
    def page(self) -> Page:
        return self.pages[self.current]

    @property
    def spec(self) -> WorkspaceSpec:
        return self.page.spec

    def add_panel(self, key: str, workspace: str | None, beside: str) -> None:
        """Panel ``key`` as a tab beside panel ``beside`` in ``workspace`` (None: where ``beside`` is)."""
        ws = workspace or self.workspace_of(beside)
        page = self.pages.get(ws)
        frame = page.frame_of(beside) if page is not None else None
        if frame is None:
            raise KeyError(f"no panel {beside!r} in workspace {ws!r}")
        frame.add_key(key)
        if ws == self.current:
            frame.install(self.panels)

    def activate(self, key: str) -> None:
        if key not in self.pages:
            raise KeyError(key)
        page = self.pages[key]
        if key != self.current:
            for frame in page.frames:
                frame.install(self.panels)
            self.current = key
            self.stack.setCurrentWidget(page)
            self.bar.setCurrentIndex([s.key for s in self.specs].index(key))
            self.changed.emit(key)
            self.maximised.emit(page.maximised is not None)

    def workspace_of(self, key: str) -> str | None:
        """The workspace that shows panel ``key``: the current one if it does, else the first that does."""
        if key in self.page.keys():
            return self.current
        return next((s.key for s in self.specs if key in self.pages[s.key].keys()), None)

    def show_panel(self, key: str):
        ws = self.workspace_of(key)
        if ws is None:
            return None
        self.activate(ws)
        page = self.page
        frame = page.frame_of(key)
        if page.maximised is not None and page.maximised is not frame:
            page.restore()
            self.maximised.emit(False)
        frame.select(key)
        return self.panels.get(key)

    def visible_panel(self, key: str) -> bool:
        """Whether panel ``key`` is the one shown in its frame of the current workspace."""
        frame = self.page.frame_of(key)
        return frame is not None and frame.current_key() == key and self.panels[key].isVisible()

    def _maximise_clicked(self, frame: Frame) -> None:
        self.page.toggle_maximise(frame)
        self.maximised.emit(self.page.maximised is not None)

    def toggle_maximise(self, key: str | None = None) -> None:
        """Maximise the frame of panel ``key`` (or the one used last: it has, or last had, the focus; else
        the first), or restore."""
        page = self.page
        if page.maximised is not None:
            page.restore()
        else:
            frame = page.frame_of(key) if key else None
            if frame is None:
                focus = QApplication.focusWidget()
                frame = next((f for f in page.frames if focus is not None and f.isAncestorOf(focus)), page.last_used)
            page.toggle_maximise(frame or page.frames[0])
        self.maximised.emit(page.maximised is not None)

    # ---- remembered layouts --------------------------------------------------------------------------

    def save(self, settings) -> None:
        for key, page in self.pages.items():
            if page.maximised is not None:
                page.restore()
            settings.setValue(f"workspaces/{key}/splitters", [sp.saveState() for sp in page.splitters])
            settings.setValue(f"workspaces/{key}/tabs", [f.current_key() for f in page.frames])
        settings.setValue("workspaces/current", self.current)

    def restore(self, settings) -> None:
        for key, page in self.pages.items():
            states = settings.value(f"workspaces/{key}/splitters") or []
            if not isinstance(states, list):
                states = [states]
            if len(states) == len(page.splitters):
                for sp, st in zip(page.splitters, states):
                    if isinstance(st, QByteArray):
                        sp.restoreState(st)
            tabs = settings.value(f"workspaces/{key}/tabs") or []
            if isinstance(tabs, list) and len(tabs) == len(page.frames):
                for frame, tab in zip(page.frames, tabs):
                    frame.select(str(tab))
        current = settings.value("workspaces/current", "", str)
        if current in self.pages:
            self.activate(current)

    def reset_layout(self) -> None:
        """The current workspace's default layout (nothing maximised, default sizes, first tabs in front)."""
        page = self.page
        page.restore()
        page.apply_default_sizes()
        page.front_tabs()
        self.maximised.emit(False)

"""Controls: data, network and training hyperparameters, the run buttons, progress with ETA and the
run state (with a divergence diagnosis or a watchpoint reason when there is one).

The buttons show the main window's QActions (so buttons, menus and shortcuts are one thing);
this panel only holds the form and shows what the worker reports.
"""
from __future__ import annotations

from dataclasses import asdict

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QAction
from PyQt6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QProgressBar,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
)

from engine.eta import duration
from engine.training.session import State, TrainConfig
from gui.widgets import theme
from gui.widgets.build import dspin, label, row, spin
from gui.widgets.inputs import HIDDEN_ACTIVATIONS, LogSpinBox, parse_hidden
from gui.widgets.panel import Panel
from gui.widgets.theme import span


def _action_button(action: QAction, style: Qt.ToolButtonStyle) -> QToolButton:
    b = QToolButton()
    b.setDefaultAction(action)
    b.setToolButtonStyle(style)
    b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    return b


# The form's number fields (after hidden sizes, activation and learning rate): attribute, label, editor.
FORM = [
    ("batch_size", "Batch size", lambda: spin(1, 4096, 32, "Examples per SGD step")),
    ("epochs", "Epochs", lambda: spin(1, 100_000, 50, "Passes over the training set")),
    ("momentum", "Momentum", lambda: dspin(0.0, 0.99, 0.1, 2, tip="SGD momentum (0: plain SGD)")),
    ("weight_decay", "Weight decay", lambda: dspin(0.0, 1.0, 1e-4, 5, tip="L2 weight decay per example (0: none): "
                                                   "pulls every weight toward 0")),
    ("dropout", "Dropout", lambda: dspin(0.0, 0.9, 0.1, 2, tip="Dropout: the chance each hidden unit is dropped in a "
                                         "training batch (0: none)")),
    ("seed", "Seed", lambda: spin(0, 2**31 - 1, tip="Seeds the weight initialisation and the batch order: same seed, "
                                  "same run")),
]

PACES = [("full speed", 0.0), ("100 batches/s", 100.0), ("30 batches/s", 30.0), ("10 batches/s", 10.0),
         ("3 batches/s", 3.0), ("1 batch/s", 1.0)]


class ControlsPanel(Panel):
    title = "Controls"
    config_edited = pyqtSignal()
    pace_changed = pyqtSignal(float)  # batches per second (0: full speed)

    def __init__(self, actions: dict[str, QAction], parent=None):
        super().__init__(parent)
        self._session_config: TrainConfig | None = None
        self._eta: float | None = None
        self._building = False
        root = QVBoxLayout(self)
        root.setContentsMargins(8, 8, 8, 8)
        root.setSpacing(8)
        self._build_run(root, actions)
        root.addWidget(self._data_box(actions))
        self.form = self._form_box()
        root.addWidget(self.form)
        self.model_label = label("", theme.MUTED, "The network of the current session", wrap=True)
        root.addWidget(self.model_label)
        root.addStretch(1)

    def _build_run(self, root: QVBoxLayout, actions: dict[str, QAction]) -> None:
        """The state, a diagnosis when there is one, the run buttons, the pace and the progress."""
        self.state_label = label("no data yet", tip="What the training is doing now",
                                 align=Qt.AlignmentFlag.AlignCenter)
        self.state_label.setMinimumHeight(30)
        root.addWidget(self.state_label)
        self.message = label("", theme.TROUBLE_BANNER, "Why the run stopped: the engine's diagnosis", wrap=True,
                             selectable=True)
        self.message.hide()
        root.addWidget(self.message)
        buttons = QGridLayout()
        buttons.setSpacing(4)
        for i, key in enumerate(("start", "step_batch", "step_epoch", "reset")):
            b = _action_button(actions[key], Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            b.setMinimumHeight(30)
            buttons.addWidget(b, i // 2, i % 2)
        self.start_button = buttons.itemAtPosition(0, 0).widget()
        root.addLayout(buttons)
        pace_label = QLabel("Pace")
        self.pace = QComboBox()
        for text, value in PACES:
            self.pace.addItem(text, value)
        self.pace.setToolTip("How fast training runs: full speed, or slow enough to watch each batch land.\n"
                             "Stepping (\u2192, Shift+\u2192) works at any pace.")
        pace_label.setBuddy(self.pace)
        self.pace.currentIndexChanged.connect(lambda i: self.pace_changed.emit(float(self.pace.itemData(i))))
        root.addLayout(row(pace_label, (self.pace, 1)))
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.progress.setToolTip("Progress through all epochs, with the estimated time left while running")
        root.addWidget(self.progress)
        self.eta_label = label("", theme.MUTED)
        root.addWidget(self.eta_label)

    def _data_box(self, actions: dict[str, QAction]) -> QGroupBox:
        box = QGroupBox("Data")
        lay = QVBoxLayout(box)
        self.data_label = label("\u2014", tip="The dataset being trained on (drop a data file or checkpoint on the "
                                "window to change)", wrap=True)
        lay.addWidget(self.data_label)
        lay.addLayout(row(*(_action_button(actions[key], Qt.ToolButtonStyle.ToolButtonTextOnly)
                            for key in ("open_data", "embedded"))))
        return box

    def _form_box(self) -> QGroupBox:
        """The hyperparameters: one row per field of ``FORM``."""
        box = QGroupBox("Network and training")
        form = QFormLayout(box)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.hidden = QLineEdit("64")
        self.hidden.setToolTip("Hidden layer sizes, input to output: '64' is one layer, '64, 64, 64, 64' four")
        self.hidden.textEdited.connect(self._edited)
        self.activation = QComboBox()
        self.activation.addItems(HIDDEN_ACTIVATIONS)
        self.activation.setToolTip("Activation of every hidden layer (the output layer is softmax)")
        self.activation.currentIndexChanged.connect(self._edited)
        self.lr = LogSpinBox(1e-6, 1e3)
        self.lr.setValue(3e-3)
        self.lr.setToolTip("Learning rate (gradients are summed over the batch). Arrows step 1-2-5")
        form.addRow("Hidden sizes", self.hidden)
        form.addRow("Activation", self.activation)
        form.addRow("Learning rate", self.lr)
        for name, text, make in FORM:
            w = make()
            setattr(self, name, w)
            form.addRow(text, w)
        for w in (self.lr, self.batch_size, self.epochs, self.momentum, self.weight_decay, self.dropout, self.seed):
            w.valueChanged.connect(self._edited)
        self.pending = label("", theme.PENDING, wrap=True)
        form.addRow(self.pending)
        return box

    # ---- the form ------------------------------------------------------------------------------

    def config(self) -> TrainConfig:
        """The hyperparameters in the form (raises ValueError with a readable message)."""
        base = asdict(self._session_config) if self._session_config else {}
        base.update(hidden=parse_hidden(self.hidden.text()), activation=self.activation.currentText(),
                    lr=self.lr.value(), batch_size=self.batch_size.value(), epochs=self.epochs.value(),
                    momentum=self.momentum.value(), weight_decay=self.weight_decay.value(),
                    dropout=self.dropout.value(), seed=self.seed.value())
        return TrainConfig(**base)

    def set_config(self, config: TrainConfig) -> None:
        self._building = True
        try:
            self.hidden.setText(", ".join(str(h) for h in config.hidden))
            i = self.activation.findText(config.activation)
            if i >= 0:
                self.activation.setCurrentIndex(i)
            self.lr.setValue(config.lr)
            self.batch_size.setValue(config.batch_size)
            self.epochs.setValue(config.epochs)
            self.momentum.setValue(config.momentum)
            self.weight_decay.setValue(config.weight_decay)
            self.dropout.setValue(config.dropout)
            self.seed.setValue(config.seed)
        finally:
            self._building = False
        self._edited()

    def _edited(self, *_) -> None:
        if self._building:
            return
        self.config_edited.emit()
        try:
            cfg = self.config()
        except ValueError as exc:
            self.pending.setText(str(exc))
            self.hidden.setStyleSheet(theme.INVALID_FIELD)
            return
        self.hidden.setStyleSheet("")
        changed = self._session_config is not None and cfg != self._session_config
        self.pending.setText("Changed: applies on Start if untrained, else on Reset (Ctrl+R)" if changed else "")

    # ---- observing -----------------------------------------------------------------------------

    def on_session(self, info) -> None:
        self._session_config = info.config
        self.set_config(info.config)
        shape = " \u2192 ".join(str(n) for n in [info.weights.shape[0]] + [u for _, _, u in info.layers])
        acts = ", ".join(a for _, a, _ in info.layers)
        self.model_label.setText(f"Network {shape} ({acts})")
        source = "<br>" + span(f"checkpoint {info.source}", theme.FAINT) if info.source else ""
        self.data_label.setText(f"<b>{info.dataset}</b> \u00b7 {info.n_train:,} train / {info.n_valid:,} valid"
                                f" \u00b7 {len(info.classes)} classes{source}")
        # an attached script trains with its own data and settings: the form is the built-in engine's
        self.form.setEnabled(not info.script)
        self.form.setTitle("Network and training" + (" (the built-in engine's)" if info.script else ""))
        if info.script:
            self.data_label.setText(f"<b>{info.script}</b> \u00b7 your script's own data \u00b7 {info.n_train:,} "
                                    "rows an epoch")
        self._eta = None

    def on_update(self, u) -> None:
        self._eta = u.eta_s

    def show_position(self, pos) -> None:
        """gui.worker.messages.Position: the same words as the status bar."""
        self.progress.setValue(int(round(1000 * pos.fraction)))
        self.progress.setFormat(f"{pos.label()} \u00b7 {100 * pos.fraction:.0f} %" if pos.total else pos.label())
        eta_text = duration(self._eta) if pos.view_step is None else ""
        # (an attached script's run is open-ended: no total)
        done = f"{pos.step:,} / {pos.total:,} batches" if pos.total else f"{pos.step:,} batches"
        self.eta_label.setText(done + (f" \u00b7 ETA {eta_text}" if eta_text else ""))

    def show_state(self, state: State, message: str) -> None:
        self.state_label.setText(state.value.upper() if state != State.DIVERGED else "DIVERGED \u2014 paused")
        self.state_label.setStyleSheet(theme.state_badge(state))
        if message:
            self.message.setText(message)
            self.message.show()
        elif state in (State.RUNNING, State.IDLE):
            self.message.hide()

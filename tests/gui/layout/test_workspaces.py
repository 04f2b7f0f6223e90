"""Workspaces: switching, maximise/restore (button and shortcut), layouts remembered per workspace,
Reset layout, sizes that fit small screens, the shortcut list, and log axes with readable ticks."""
from __future__ import annotations

import pytest
from PyQt6.QtCore import Qt

from gui.layout.workspaces import WORKSPACES


def test_every_workspace_shows_its_panels(qtbot, window):
    for spec in WORKSPACES:
        window.actions[f"ws_{spec.key}"].trigger()
        assert window.workspaces.current == spec.key
        page = window.workspaces.page
        for frame in page.frames:
            qtbot.waitUntil(lambda f=frame: window.panels[f.current_key()].isVisible(), timeout=5_000)
        assert window.docks["controls"].isVisible() == spec.controls
        if spec.controls:  # the live loss curve where the Curves panel is not
            assert window.live.isVisible() == ("curves" not in page.keys())
    window.show_panel("confusion")  # in Train and Inspect: the first one when the current has none
    assert window.workspaces.current == "train" and window.workspaces.visible_panel("confusion")
    window.show_workspace("inspect")
    window.show_panel("confusion")  # the current one when it has it
    assert window.workspaces.current == "inspect" and window.workspaces.visible_panel("confusion")
    window.show_panel("curves")
    assert window.workspaces.current == "train" and window.workspaces.visible_panel("curves")


def test_maximise_and_restore_with_button_and_shortcut(qtbot, window):
    window.show_workspace("train")
    page = window.workspaces.page
    frame = page.frame_of("gradients")
    assert page.frame_of("weights") is page.frame_of("confusion")  # tabs in one frame
    others = [f for f in page.frames if f is not frame]
    frame.max_button.click()
    qtbot.waitUntil(lambda: page.maximised is frame and not any(f.isVisible() for f in others), timeout=5_000)
    assert not window.docks["controls"].isVisible()  # the panel gets the whole window
    assert frame.width() > 0.9 * window.workspaces.width()
    frame.max_button.click()
    qtbot.waitUntil(lambda: page.maximised is None and all(f.isVisible() for f in page.frames), timeout=5_000)
    assert window.docks["controls"].isVisible()
    assert page.frames == [page.frame_of(k) for k in ("curves", "gradients", "weights")]
    window.panels["weights"].setFocus()
    window.toggle_maximise()  # Ctrl+M: the frame with the focus
    qtbot.waitUntil(lambda: page.maximised is page.frame_of("weights"), timeout=5_000)
    window.actions["maximise"].trigger()
    qtbot.waitUntil(lambda: page.maximised is None, timeout=5_000)


def test_layout_is_remembered_per_workspace_and_reset(qtbot, make_window, settings):
    from gui.app import MainWindow

    window = make_window()
    window.show_workspace("inspect")
    split = window.workspaces.page.splitters[0]
    total = sum(split.sizes())
    split.setSizes([int(total * 0.8), total - int(total * 0.8)])
    moved = split.sizes()
    window.close()
    again = MainWindow(settings, data=window.worker.session.data if window.worker.session else None)
    again.resize(1200, 800)
    again.show()
    qtbot.waitUntil(lambda: again.info is not None, timeout=20_000)
    assert again.workspaces.current == "inspect"
    qtbot.waitUntil(lambda: abs(again.workspaces.page.splitters[0].sizes()[0] - moved[0]) <= 0.05 * total,
                    timeout=5_000)
    again.reset_layout()
    sizes = again.workspaces.page.splitters[0].sizes()
    assert abs(sizes[0] / sum(sizes) - 11 / 20) <= 0.05  # the default: 11:9
    again.saved_step = again.step
    again.close()


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_every_workspace_fits_the_screen(qtbot, window, size):
    """No workspace asks for more room than the screen has (a panel scrolls instead)."""
    window.resize(*size)
    for spec in WORKSPACES:
        window.show_workspace(spec.key)
        qtbot.wait(50)  # (a layout pass, not a wait for a result)
        hint = window.minimumSizeHint()
        assert hint.width() <= size[0] and hint.height() <= size[1], (spec.key, hint)
        assert window.width() <= size[0] and window.height() <= size[1]
        for split in window.workspaces.page.splitters:  # (a panel's own splitters are its business)
            if split.isVisible():
                extent = split.width() if split.orientation() == Qt.Orientation.Horizontal else split.height()
                assert all(s >= 0.15 * extent for s in split.sizes()), (spec.key, split.sizes())


def test_f1_lists_every_shortcut_including_workspaces_and_ocr_stage_keys(window):
    from gui.actions import SHORTCUTS
    keys = " ".join(k for k, _ in SHORTCUTS)
    for needed in ("PageUp", "PageDown", "Ctrl+1", WORKSPACES[-1].shortcut, "Ctrl+M", "Ctrl+I", "F1", "Space"):
        assert needed in keys, needed
    listed = {k for k, _ in SHORTCUTS}
    for name, action in window.actions.items():
        shortcut = action.shortcut().toString()
        if shortcut and not name.startswith("ws_"):  # workspaces are one row: Ctrl+1 ... Ctrl+6
            text = shortcut.replace("Right", "\u2192").replace("Left", "\u2190")
            assert any(text in k or text == k for k in listed) or \
                any(text.split("+")[-1] in k for k in listed), f"{name} ({shortcut}) is not in the F1 list"


def test_controls_carry_weight_decay_dropout_and_leaky_relu(qtbot, window):
    c = window.controls
    c.weight_decay.setValue(1e-3)
    c.dropout.setValue(0.2)
    c.activation.setCurrentText("leaky_relu")
    config = c.config()
    assert (config.weight_decay, config.dropout, config.activation) == (1e-3, 0.2, "leaky_relu")
    window.reset()
    qtbot.waitUntil(lambda: window.info.config.dropout == 0.2, timeout=10_000)
    assert window.info.config.weight_decay == 1e-3 and window.info.layers[0][1] == "leaky_relu"


def test_the_ocr_workspace_opens_and_resets_to_the_ocr_page(qtbot, window):
    """The OCR page is the front tab of its frame (the box explanation and the correction loop are tabs
    beside it), when the workspace is first shown and after Reset layout."""
    window.show_workspace("ocr")
    frame = window.workspaces.page.frame_of("ocr")
    assert frame.current_key() == "ocr" and frame.keys[0] == "ocr" and len(frame.keys) > 1
    window.show_panel("correction")
    assert frame.current_key() == "correction"
    window.reset_layout()
    assert frame.current_key() == "ocr" and window.workspaces.visible_panel("ocr")

"""The HTML report: rendered from a real short run's checkpoint, and read back.

The checks parse the numbers back out of the HTML (``data-value`` attributes) and compare them with
the checkpoint's own, so a report that rounds, recomputes or drops a number fails here.
"""
import json
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser

import numpy as np
import pytest
from helpers import prototype_dataset

import main
from engine.debug.watch import parse
from engine.report.data import save_checkpoint
from engine.report.html import SECTIONS, load, render, write_report
from engine.training.checkpoint import load_session, read_checkpoint, save_network
from engine.training.experiments import preset
from engine.training.position import moment
from engine.training.session import TrainConfig, TrainingSession


class Page(HTMLParser):
    """Every tag's attributes, and the text of each element with an id (enough to read a report)."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def values(self, **match) -> list[float]:
        return [float(a["data-value"]) for _, a in self.tags
                if "data-value" in a and all(a.get(k) == v for k, v in match.items())]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A 4-epoch run with a watchpoint that fires once, saved as a checkpoint."""
    tmp = tmp_path_factory.mktemp("report")
    data = prototype_dataset(n_train=320, n_valid=128, noise=1.0)
    session = TrainingSession(data, TrainConfig(epochs=4, lr=0.02, batch_size=32, snapshot_every=5))
    session.checks.append(parse("valid_acc > 0.5", session))
    while not session.done:
        session.run()
    ckpt = tmp / "run.npz"
    save_checkpoint(ckpt, session)
    return session, ckpt, tmp


def _html(ckpt, tmp, name="r.html"):
    out = tmp / name
    assert main.main(["report", str(ckpt), "--out", str(out)]) == 0
    return out.read_text(encoding="utf-8")


def test_report_is_self_contained_and_has_every_section(run):
    _, ckpt, tmp = run
    text = _html(ckpt, tmp)
    page = Page(text)
    links = [a[k] for _, a in page.tags for k in ("src", "href") if k in a]
    assert links, "the report should have pictures and a table of contents"
    assert all(not re.match(r"\s*(https?:)?//", v, re.I) for v in links), links
    assert all(v.startswith(("data:image/png;base64,", "#")) for v in links)
    assert not any(tag in ("script", "link", "iframe") for tag, _ in page.tags)
    assert "url(" not in text and "@import" not in text
    ids = {a.get("id") for tag, a in page.tags if tag == "section"}
    assert ids == set(SECTIONS)
    for title in SECTIONS.values():
        assert f"<h2>{title}</h2>" in text
    assert sum(1 for tag, _ in page.tags if tag == "svg") >= 4  # loss, accuracy, gradients, saturation
    assert sum(1 for tag, a in page.tags if tag == "img" and "weights" in a.get("alt", "")) == 3


def test_numbers_are_the_checkpoints(run):
    session, ckpt, tmp = run
    meta, arrays = read_checkpoint(ckpt)
    page = Page(_html(ckpt, tmp))
    last = meta["epochs"][-1]
    for key in ("train_loss", "train_acc", "valid_loss", "valid_acc"):
        assert page.values(**{"data-key": key}) == [last[key]], key  # exactly, not rounded
    assert last["valid_acc"] == session.history.epochs[-1].valid_acc
    # the per-epoch table holds every epoch's stored numbers in order
    rows = [v for _, a in page.tags if a.get("data-epoch") for v in [a["data-epoch"]]]
    assert rows[-len(meta["epochs"]):] == [str(e["epoch"]) for e in meta["epochs"]]
    table = np.array(page.values())[len(("train", "valid")) * 2:]  # after the 'final' table
    expected = [v for e in meta["epochs"] for v in (e["train_loss"], e["train_acc"], e["valid_loss"],
                                                        e["valid_acc"], e["seconds"])]
    assert table[-len(expected):].tolist() == expected


def test_confusion_and_pairs_match_the_session(run):
    session, ckpt, tmp = run
    text = _html(ckpt, tmp)
    cm = session.confusion()
    cells = re.findall(r'<td class="[^"]*"(?: style="[^"]*")? title="true (\S+), predicted (\S+): (\d+)">', text)
    assert len(cells) == cm.size
    assert np.array([int(n) for *_, n in cells]).reshape(cm.shape).tolist() == cm.tolist()
    off = cm.copy()
    np.fill_diagonal(off, 0)
    i, j = np.unravel_index(np.argmax(off), off.shape)
    c = session.data.classes
    assert f"<b>{c[i]} \u2192 {c[j]}</b>: {off[i, j]} times" in text
    assert 'alt="' + f"{c[i]} read as {c[j]}" + '"' in text  # with example images
    # and why the first one was read as j: engine.debug.explain's saliency, stored at save time
    from engine.debug.explain import explain

    first = session.misclassified(i, j)[0]
    why = explain(session.net, c, session.data.valid.x[first], target=int(j))
    d = load(run[1])
    np.testing.assert_allclose(d.confused[0]["saliency"], why.saliency, rtol=1e-5, atol=1e-7)
    assert f'alt="why {c[j]}"' in text and f"p({c[j]}) {100 * why.probs[j]:.1f} %" in text


def test_watchpoint_hit_and_outcome(run):
    session, ckpt, tmp = run
    (hit,) = session.checks[0].hits
    page = Page(text := _html(ckpt, tmp))
    assert "valid_acc &gt; 0.5" in text
    assert moment(hit.step, session.batches_per_epoch, session.config.epochs) in text  # the window's words
    assert hit.value in page.values()
    outcome = re.search(r'id="outcome">([^<]*)<', text)[1]
    assert "After 4 of 4 epochs" in outcome and "training finished" in outcome
    assert f"{100 * session.history.epochs[-1].valid_acc:.1f} %" in outcome


def test_resaving_a_loaded_session_keeps_the_runs_first_weights(run):
    session, ckpt, tmp = run
    again = load_session(ckpt, session.data)
    save_checkpoint(tmp / "again.npz", again)
    d = load(tmp / "again.npz")
    assert [w[0] for w in d.weights] == [w[0] for w in load(ckpt).weights]
    assert d.weights[0][0] == 0
    np.testing.assert_array_equal(d.weights[0][2], session.snapshots[0].params["layer1.W"])
    np.testing.assert_array_equal(d.weights[2][2], session.net.params()["layer1.W"])


def test_older_checkpoint_still_reports_with_missing_sections_saying_so(run):
    session, ckpt, tmp = run
    meta, arrays = read_checkpoint(ckpt)
    meta.pop("report")
    old = {k: v for k, v in arrays.items() if not k.startswith("report/")}
    old["meta"] = np.array(json.dumps(meta))
    path = tmp / "old.npz"
    np.savez(path, **old)
    assert load_session(path, session.data).epoch == 4  # still loads
    text = _html(path, tmp, "old.html")
    assert text.count("saved by an older version") == 3  # weights, confusion, watchpoints
    assert Page(text).values(**{"data-key": "valid_acc"}) == [meta["epochs"][-1]["valid_acc"]]


def test_experiment_and_autoencoder_sections(tmp_path):
    from engine.training.autoencoder import AutoencoderConfig, make_session

    data = prototype_dataset(n_train=160, n_valid=72, n_classes=6, noise=0.2)
    data.train.x[:] = np.clip(data.train.x, 0, 1)
    data.valid.x[:] = np.clip(data.valid.x, 0, 1)
    ae = make_session(data, AutoencoderConfig(epochs=2, min_train=0, lr=1e-4))
    ae.run()
    exp = preset("learning-rate", data, epochs=1)
    exp.run()
    main_session = TrainingSession(data, TrainConfig(epochs=1))
    main_session.run()
    save_checkpoint(tmp_path / "s.npz", main_session, experiment=exp, autoencoder=ae)
    text = render(load(tmp_path / "s.npz"))
    assert exp.finding().replace("'", "&#x27;") in text
    for r in exp.runs:
        assert f"<td>{r.name}</td>" in text
    assert f"Validation PSNR {ae.history.epochs[-1].valid_acc:.2f} dB after 2 epochs" in text
    assert 'alt="originals and reconstructions"' in text
    # an autoencoder's own checkpoint: "accuracy" is PSNR, and there is no confusion matrix
    save_checkpoint(tmp_path / "ae.npz", ae)
    own = render(load(tmp_path / "ae.npz"))
    assert "Autoencoder report" in own and "no confusion matrix" in own
    assert Page(own).values(**{"data-key": "valid_acc"}) == [ae.history.epochs[-1].valid_acc]


def _npz_dataset(path, data):
    np.savez(path, x_train=data.train.x, y_train=data.train.y, x_valid=data.valid.x, y_valid=data.valid.y,
             classes=np.array(data.classes))


def test_train_report_of_a_50_epoch_run_stays_small(tmp_path, capsys):
    _npz_dataset(tmp_path / "d.npz", prototype_dataset(n_train=256, n_valid=64))
    out = tmp_path / "run.html"
    code = main.main(["train", "--data", str(tmp_path / "d.npz"), "--epochs", "50", "--lr", "0.01",
                      "--save", str(tmp_path / "run.npz"), "--report", str(out)])
    assert code == 0
    assert f"report {out}" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    assert out.stat().st_size < 5 * 2 ** 20
    meta, _ = read_checkpoint(tmp_path / "run.npz")
    assert len(meta["epochs"]) == 50
    assert "From run.npz," in text  # the --save checkpoint it was rendered from
    assert Page(text).values(**{"data-key": "valid_loss"}) == [meta["epochs"][-1]["valid_loss"]]


@pytest.mark.parametrize("content", [b"not a checkpoint", None])
def test_report_on_a_non_checkpoint_is_one_error_line(tmp_path, capsys, content):
    path = tmp_path / "x.npz"
    if content is not None:
        path.write_bytes(content)
    assert main.main(["report", str(path), "--out", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "pickle" not in err  # numpy's guess about random bytes means nothing to the user
    assert not (tmp_path / "x.html").exists()


def test_report_on_a_model_file_says_it_is_not_a_session(tmp_path, capsys):
    session = TrainingSession(prototype_dataset(n_train=64, n_valid=32), TrainConfig(epochs=1))
    save_network(tmp_path / "m.npz", session.net, session.data.classes)
    assert main.main(["report", str(tmp_path / "m.npz")]) == 2
    assert "model only" in capsys.readouterr().err


@pytest.mark.skipif(not shutil.which("chromium"), reason="needs Debian's chromium (apt-get install chromium)")
def test_report_opens_in_a_headless_browser_without_console_errors(run):
    _, ckpt, tmp = run
    html = tmp / "browser.html"
    write_report(ckpt, html)
    for theme in ([], ["--force-dark-mode", "--blink-settings=preferredColorScheme=0"]):
        with tempfile.TemporaryDirectory() as profile:
            shot = tmp / f"shot{len(theme)}.png"
            proc = subprocess.run(
                ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--hide-scrollbars",
                 f"--screenshot={shot}", "--window-size=1280,2400", *theme, html.as_uri()],
                capture_output=True, text=True, timeout=120)
        log = proc.stderr
        assert "Uncaught" not in log and ":CONSOLE" not in log, log[-2000:]  # e.g. INFO:CONSOLE:1] "Uncaught ..."
        assert shot.exists() and shot.stat().st_size > 50_000  # a page with pictures, not a blank one
        png = shot.read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_diverged_run_and_an_untrained_one_still_report(tmp_path):
    data = prototype_dataset(n_train=128, n_valid=64)
    wild = TrainingSession(data, TrainConfig(epochs=3, lr=1e4, activation="relu"))
    wild.run()
    assert wild.state.value == "diverged"
    save_checkpoint(tmp_path / "wild.npz", wild)
    text = render(load(tmp_path / "wild.npz"))
    assert "training diverged" in re.search(r'id="outcome">([^<]*)<', text)[1]
    assert "<b>Diverged:</b>" in text and "lower the learning rate" in text

    fresh = TrainingSession(data, TrainConfig(epochs=3))
    save_checkpoint(tmp_path / "fresh.npz", fresh)
    text = render(load(tmp_path / "fresh.npz"))
    assert "No epoch was completed" in text
    assert set(re.findall(r'<section id="(\w+)">', text)) == set(SECTIONS)


def test_train_report_without_save_names_the_run(tmp_path):
    _npz_dataset(tmp_path / "d.npz", prototype_dataset(n_train=64, n_valid=32))
    assert main.main(["train", "--data", str(tmp_path / "d.npz"), "--epochs", "1", "--json",
                      "--report", str(tmp_path / "r.html")]) == 0
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "From an unsaved command-line run," in text and "session.npz" not in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.npz", "r.html"]  # no checkpoint left behind


def test_train_checks_the_report_path_before_training(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main.main(["train", "--epochs", "1", "--report", str(tmp_path)])
    assert exit_.value.code == 2
    err = capsys.readouterr()
    assert "is a folder, not a file" in err.err and "epoch" not in err.out


def test_non_image_inputs_report_without_pictures(tmp_path):
    from engine.data.dataset import Dataset, Split

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 200)
    x = (np.eye(4)[y] @ rng.random((4, 50)) + 0.3 * rng.standard_normal((200, 50))).astype(np.float32)
    data = Dataset("vectors", tuple("abcd"), Split(x[:150], y[:150]), Split(x[150:], y[150:]), Split(x[:0], y[:0]))
    session = TrainingSession(data, TrainConfig(epochs=2, lr=0.05))
    session.run()
    save_checkpoint(tmp_path / "v.npz", session)
    text = render(load(tmp_path / "v.npz"))
    assert "not 32\u00d732 images" in text and "data:image/png" not in text
    assert "<h3>Most confused pairs</h3>" in text or "No validation example was misclassified" in text


def test_the_report_names_the_position_in_the_windows_words_and_lists_the_edits(tmp_path):
    from engine.data.edits import EditList
    from engine.training.position import moment

    data = prototype_dataset(n_train=96, n_valid=32, n_classes=6)
    edits = EditList()
    edits.relabel(data, "train", 5, data.classes[(int(data.train.y[5]) + 1) % 6])
    edits.drop(data, "train", 9)
    session = TrainingSession(edits.apply(data), TrainConfig(hidden=(8,), epochs=2, batch_size=19))
    while not session.done:
        session.run()
    ckpt = tmp_path / "edited.npz"
    save_checkpoint(ckpt, session)
    text = _html(ckpt, tmp_path)
    bpe = session.batches_per_epoch  # 95 rows in batches of 19: 5, and the run ends at epoch 2, batch 5/5
    assert moment(session.step, bpe, 2) in text and "batch 0" not in text  # the status bar's words
    assert "2 edits (1 relabelled, 1 dropped)" in text and "train #9" in text and "dropped" in text

"""Finding the window and talking to it: a Unix socket in a folder only this user can open, and a key.

The window (or `python main.py debug`) listens on a socket and keeps a random key beside it (both
mode 0600 in a 0700 folder). A script connects, and both sides prove they hold the key (HMAC of a
fresh challenge each way) before a frame is read. No TCP port, nothing unpickled (frames: wire.py).

Where: ``BACKPROP_STUDIO_ATTACH`` + ``BACKPROP_STUDIO_KEY`` (set by `debug` for its child), else the
open window's rendezvous folder (``rendezvous()``). ``BACKPROP_STUDIO_DETACH=1`` never attaches.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import socket
from multiprocessing.connection import Connection
from pathlib import Path

HANDSHAKE_S = 3.0  # a window that does not answer within this is treated as absent
SOCKET_NAME, KEY_NAME = "window.sock", "window.key"


class LinkError(OSError):
    """No window, a stale socket, a wrong key, or a window that does not answer."""


def rendezvous() -> Path:
    """The folder where an open window leaves its socket and key (private to this user)."""
    base = os.environ.get("BACKPROP_STUDIO_RENDEZVOUS")
    if base:
        return Path(base)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return Path(runtime) / "backprop-studio" if runtime else Path.home() / ".cache" / "backprop-studio" / "attach"


def target() -> tuple[str, bytes] | None:
    """(socket path, key) of the window to attach to, or None (run as if no debugger existed)."""
    if os.environ.get("BACKPROP_STUDIO_DETACH") == "1":
        return None
    path, key = os.environ.get("BACKPROP_STUDIO_ATTACH"), os.environ.get("BACKPROP_STUDIO_KEY")
    if path and key:
        try:
            return path, bytes.fromhex(key)
        except ValueError:
            return None
    folder = rendezvous()
    sock, keyfile = folder / SOCKET_NAME, folder / KEY_NAME
    try:
        return (str(sock), bytes.fromhex(keyfile.read_text().strip())) if sock.exists() else None
    except (OSError, ValueError):
        return None


def _prove(conn: Connection, key: bytes) -> None:
    """Answer the other side's challenge with the key's HMAC."""
    if not conn.poll(HANDSHAKE_S):
        raise LinkError("the other side did not send its challenge")
    challenge = conn.recv_bytes(256)
    conn.send_bytes(hmac.new(key, challenge, hashlib.sha256).digest())


def _check(conn: Connection, key: bytes) -> None:
    """Challenge the other side; LinkError unless it answers with the key's HMAC."""
    challenge = secrets.token_bytes(32)
    conn.send_bytes(challenge)
    if not conn.poll(HANDSHAKE_S):
        raise LinkError("the other side did not answer the challenge")
    answer = conn.recv_bytes(256)
    if not hmac.compare_digest(answer, hmac.new(key, challenge, hashlib.sha256).digest()):
        raise LinkError("the other side does not hold the key")


def connect(path: str, key: bytes) -> Connection:
    """Connect to a listening window and prove both sides hold the key."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(HANDSHAKE_S)
    try:
        sock.connect(path)
    except OSError as exc:
        sock.close()
        raise LinkError(f"no window at {path} ({exc.strerror or exc})") from None
    sock.settimeout(None)
    conn = Connection(sock.detach())
    try:
        _check(conn, key)
        _prove(conn, key)
    except (OSError, EOFError) as exc:
        conn.close()
        raise LinkError(str(exc) or "the window closed the connection") from None
    return conn


def accept(sock: socket.socket, key: bytes) -> Connection:
    """The window's side of ``connect`` for one waiting script."""
    client, _ = sock.accept()
    conn = Connection(client.detach())
    try:
        _prove(conn, key)
        _check(conn, key)
    except (OSError, EOFError) as exc:
        conn.close()
        raise LinkError(str(exc) or "the script closed the connection") from None
    return conn


def listen(folder: Path, name: str = SOCKET_NAME) -> tuple[socket.socket, bytes, Path]:
    """A listening socket in ``folder`` (created 0700) and a new key; (socket, key, socket path).
    The key is also written beside the socket (0600) for scripts started on their own."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    path = folder / name
    if path.exists():
        try:  # a live window answers; a stale socket from a killed one is replaced
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            probe.settimeout(0.5)
            probe.connect(str(path))
            probe.close()
            raise LinkError(f"another window is already listening at {path}")
        except (TimeoutError, ConnectionRefusedError, FileNotFoundError):
            path.unlink(missing_ok=True)
    key = secrets.token_bytes(32)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    sock.listen(4)
    keyfile = path.with_suffix(".key")
    fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.hex())
    return sock, key, path

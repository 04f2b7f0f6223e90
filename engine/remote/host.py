"""Listening for attached scripts: one private socket, one key, one script at a time.

``Host`` never blocks: ``poll()`` accepts a waiting script (handshake and hello bounded by a few
seconds), and a second script while one is attached is told why it is refused and runs on detached.
"""
from __future__ import annotations

import os
import select
import tempfile
from dataclasses import dataclass
from pathlib import Path

from backprop_studio import link, wire


@dataclass
class Attached:
    conn: object  # multiprocessing.connection.Connection
    hello: dict


class Host:
    def __init__(self, folder: Path, name: str = link.SOCKET_NAME):
        self.sock, self.key, self.path = link.listen(folder, name)
        self.busy_with: str = ""  # the attached script's name, or "" when free
        self.refused: list[str] = []  # scripts told to run on without the debugger (the window says so)

    @property
    def env(self) -> dict[str, str]:
        """What a child process needs to attach here."""
        return {"BACKPROP_STUDIO_ATTACH": str(self.path), "BACKPROP_STUDIO_KEY": self.key.hex()}

    def poll(self, welcome: dict | None = None) -> Attached | None:
        """A newly attached script, if one is waiting (and the host is free); else None."""
        ready, _, _ = select.select([self.sock], [], [], 0)
        if not ready:
            return None
        try:
            conn = link.accept(self.sock, self.key)
        except (link.LinkError, OSError):
            return None
        try:
            if not conn.poll(link.HANDSHAKE_S):
                conn.close()
                return None
            hello, _ = wire.decode(conn.recv_bytes(wire.MAX_HEADER))
        except (EOFError, OSError, wire.WireError):
            conn.close()
            return None
        if hello.get("type") != "hello":
            conn.close()
            return None
        if self.busy_with:
            why = (f"the window is already debugging {self.busy_with}; one script at a time "
                   "(stop it, or wait until it ends)")
            self.refused.append(f"{hello.get('script', 'a script')} (pid {hello.get('pid', '?')})")
            try:
                conn.send_bytes(wire.encode({"type": "refused", "why": why}))
            finally:
                conn.close()
            return None
        self.busy_with = f"{hello.get('script', 'a script')} (pid {hello.get('pid', '?')})"
        conn.send_bytes(wire.encode({"type": "welcome", **(welcome or {})}))
        return Attached(conn, hello)

    def release(self) -> None:
        self.busy_with = ""

    def close(self) -> None:
        try:
            self.sock.close()
        finally:
            for p in (self.path, self.path.with_suffix(".key")):
                try:
                    os.unlink(p)
                except OSError:
                    pass


def private_folder() -> Path:
    """A fresh 0700 folder for one `debug` run's socket (short enough for a Unix socket path)."""
    return Path(tempfile.mkdtemp(prefix="bps-"))


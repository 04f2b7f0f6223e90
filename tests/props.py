"""What every property test checks: an input ends in a result or a clean InputError, nothing else."""
from __future__ import annotations

import json
import math

from engine.errors import InputError


def one_line(exc: InputError) -> None:
    """A user error's message is one line a person can read (the CLI prints it after 'error: ')."""
    text = str(exc)
    assert text.strip() and "\n" not in text.strip() and "Traceback" not in text, text


def strict_json(obj) -> dict:
    """Serialises without NaN/inf (json.dumps(allow_nan=False) raises otherwise) and back."""
    return json.loads(json.dumps(obj, allow_nan=False))


def finite(*values) -> bool:
    return all(math.isfinite(float(v)) for v in values)

"""What a check says: a verdict per function (problems in words, notes), and the helpers every check
uses to call the user's code safely."""
from __future__ import annotations

import traceback
import warnings
from dataclasses import dataclass, field

import numpy as np

TOL = 1e-6  # relative error of a gradient against central differences (float64, eps 1e-6)
EPS = 1e-6


@dataclass
class Verdict:
    name: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def as_json(self) -> dict:
        return {"passed": self.passed, "problems": self.problems, "notes": self.notes}


@dataclass
class CheckReport:
    path: str
    verdicts: list[Verdict]

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)

    def as_json(self) -> dict:
        return {"module": self.path, "passed": self.passed, "functions": {v.name: v.as_json() for v in self.verdicts}}

    def lines(self) -> list[str]:
        out = []
        for v in self.verdicts:
            out.append(f"{'PASS' if v.passed else 'FAIL'}  {v.name}" + (f"  ({'; '.join(v.notes)})" if v.notes else ""))
            out += [f"      {p}" for p in v.problems]
        n = sum(v.passed for v in self.verdicts)
        out.append(f"{n} of {len(self.verdicts)} passed")
        return out


def short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def call_user(v: Verdict, fn, *args, **kwargs):
    """The user's function, its error turned into a problem (None then)."""
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - a failing function is a finding, not a crash
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        v.problems.append(f"raised {type(exc).__name__}: {short(exc)} (line {frame.lineno})")
        return None


def close(a, b, rtol=1e-7, atol=1e-10) -> bool:
    try:
        a = np.asarray(a, np.float64)
        return a.shape == np.shape(b) and bool(np.allclose(a, b, rtol=rtol, atol=atol))
    except (TypeError, ValueError):
        return False


def ref_sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))


def ref_softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)



"""What the command-line tests share: running ``python -m scalargrad`` and the notes' example.

The example is the notes' one-neuron cost ``(σ(w·a + b) − y)²`` at w = 0.5,
a = 0.71, b = 0.1, y = 1; :func:`hand` has its value and gradients derived by
hand, the oracle the tests compare the command's output with.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys

PY = sys.executable
EXPR = "(sigmoid(w*a + b) - y)**2"
VALUES = ["w=0.5", "a=0.71", "b=0.1", "y=1"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "-m", "scalargrad", *args], capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL,
    )


def hand() -> dict[str, float]:
    z = 0.5 * 0.71 + 0.1
    s = 1 / (1 + math.exp(-z))
    d_z = 2 * (s - 1) * s * (1 - s)
    return {"f": (s - 1) ** 2, "w": d_z * 0.71, "a": d_z * 0.5, "b": d_z, "y": -2 * (s - 1)}


def grads_in(text: str) -> dict[str, float]:
    return {m[1]: float(m[2]) for m in re.finditer(r"^∂f/∂(\w+) = (\S+)$", text, re.M)}

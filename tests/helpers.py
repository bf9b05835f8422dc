"""Plain helpers shared by several test modules (fixtures live in conftest.py).

Test modules import these as ``from .helpers import ...``; they never import
from each other.
"""

import json
import random
import subprocess
import sys
import textwrap

import numpy as np


def fast(**params):
    """Keyword arguments for a LeNetClassifier that trains in about a second.

    One epoch of the standard LeNet leaves it near chance on ``digits``: use
    it where what is tested does not depend on what the network learned.
    """
    return {"epochs": 1, "early_stopping": False, "random_state": 0, **params}


# Classic LeNet-5 choices: ReLU, max pooling, a flattened last feature map.
CLASSIC = {"conv_activation": "relu", "dense_activation": "relu",
           "pooling": "max", "global_pooling": False}


def learning(**params):
    """Keyword arguments for a LeNetClassifier that learns ``digits`` in
    seconds.

    Measured with the 300 training images of conftest's ``digits``: 0.81 test
    accuracy (0.46 after one epoch), 0.78-0.87 when trained on half of them
    (2-fold cross-validation); the standard LeNet of :func:`fast` scores 0.10.
    Tests assert 0.6, so a network that learned nothing fails them.
    """
    return fast(**{**CLASSIC, "learning_rate": 0.01, "epochs": 5, **params})


# A test accuracy that a network trained with learning() reaches on digits and
# one that learned nothing (0.10 for 10 balanced classes) does not.
LEARNED = 0.6


def assert_same_global_random_state(before):
    """``before`` is ``(random.getstate(), np.random.get_state())``."""
    python_state, numpy_state = before
    assert random.getstate() == python_state
    after = np.random.get_state()
    assert all(np.array_equal(a, b) for a, b in zip(after, numpy_state))


# A hostile input must be refused within these bounds (issue 20): the time has
# more than 2x margin over what a loaded CI machine takes (well under a second
# here), the memory is the target for the peak growth.
BOUNDED_SECONDS = 20
BOUNDED_GROWTH_MB = 300

_BOUNDED = """
import json, resource, time
{setup}

def _address_space():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * resource.getpagesize()

# A regression ends in a MemoryError here instead of exhausting the machine.
_, hard = resource.getrlimit(resource.RLIMIT_AS)
resource.setrlimit(resource.RLIMIT_AS, (_address_space() + (1 << 30), hard))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
error = None
try:
{code}
except Exception as exc:
    error = f"{{type(exc).__name__}}: {{exc}}"
seconds = time.perf_counter() - start
growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({{"error": error, "seconds": seconds, "growth_mb": growth / 1024}}))
"""


def run_bounded(code, *, expect, setup=""):
    """Run ``code`` in a fresh Python (Linux) and check that it fails in time
    and little memory with an error containing ``expect``.

    ``setup`` (imports, building inputs) runs before the measurement. The
    child's address space is capped 1 GiB above its size after ``setup``.
    Returns the child's report: ``error``, ``seconds``, ``growth_mb`` (peak
    resident memory growth).
    """
    script = _BOUNDED.format(setup=textwrap.dedent(setup),
                             code=textwrap.indent(textwrap.dedent(code), "    "))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True,
                          text=True, timeout=2 * BOUNDED_SECONDS + 60)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["error"] is not None, "the hostile input was accepted"
    assert expect in report["error"], report["error"][:2000]
    assert len(report["error"]) < 1000, report["error"][:2000]
    assert report["seconds"] < BOUNDED_SECONDS, report
    assert report["growth_mb"] < BOUNDED_GROWTH_MB, report
    return report

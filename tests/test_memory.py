"""Memory stays bounded across many fits in one process."""

import json
import subprocess
import sys
import textwrap

_SCRIPT = textwrap.dedent("""
    import gc, json
    import numpy as np
    from sklenet import LeNetClassifier

    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096 / 2**20

    X = np.random.RandomState(0).randint(0, 256, (40, 64)).astype(np.uint8)
    y = np.arange(40) % 4
    kept, rss = [], []
    for i in range(50):
        clf = LeNetClassifier(epochs=1, early_stopping=False, random_state=i)
        clf.fit(X, y)
        if i % 10 == 0:
            kept.append((clf, clf.predict_proba(X)))
        gc.collect()
        rss.append(rss_mb())
    usable = all(np.array_equal(c.predict_proba(X), p) for c, p in kept)
    print(json.dumps({"rss": rss, "usable": usable}))
""")


def test_fifty_fits_do_not_grow_memory_without_bound():
    out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True,
                         text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    rss = result["rss"]
    # Without sklenet's release_trace_memory each fit of a new Keras model
    # keeps ~10 MB (keras-team/keras#17458); 40 fits after warm-up would add
    # ~400 MB. Five models kept alive by the user cost a few MB each.
    growth_per_fit = (rss[-1] - rss[9]) / 40
    assert growth_per_fit < 1.5, f"{growth_per_fit:.2f} MB per fit: {rss}"
    assert result["usable"]  # fitted estimators kept alive still predict

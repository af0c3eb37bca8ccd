"""The label cache (label_cache.py): two runs labelling the same faces at once label them once; the key follows the
labeller's code, not the training loop's."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from efld_export.data.record import Record
from efld_export.label import Label
from efld_export import label_cache
from efld_export.label_cache import cached_labels, labeller_sources, labels_key


def _records(n: int) -> list[Record]:
    rng = np.random.default_rng(0)
    return [Record(Path(f"face{i}.jpg"), np.full((68, 2), np.nan),
                   extra={"image": rng.integers(0, 255, (8, 8, 3), dtype=np.uint8),
                          "points21": rng.random((21, 2)), "yaw_deg": float(i)}) for i in range(n)]


def test_concurrent_runs_label_once_and_agree(tmp_path: Path) -> None:
    records = _records(3)
    calls: list[int] = []

    def compute():
        calls.append(1)
        time.sleep(0.5)  # long enough for the other run to arrive while this one labels
        labels = [Label(np.full((68, 2), float(i)), np.array([i, 0.0, 0.0]), 0.01 * i) for i in range(3)]
        return list(zip(records, labels))[1:], {"kept": 2}

    results: list = [None, None]

    def run(slot: int) -> None:
        results[slot] = cached_labels(records, {"setting": 1}, [], compute, tmp_path / "labels")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1  # the second run waited and read the first's file
    sources = sorted(r[2] is not None for r in results)
    assert sources == [False, True]
    for kept, report, _ in results:
        assert report == {"kept": 2}
        assert [rec.extra["yaw_deg"] for rec, _ in kept] == [1.0, 2.0]
        np.testing.assert_array_equal(kept[1][1].points, np.full((68, 2), 2.0))
    # a setting changed labels afresh
    cached_labels(records, {"setting": 2}, [], compute, tmp_path / "labels")
    assert len(calls) == 2


def test_the_key_covers_the_labellers_modules_and_what_they_import_only() -> None:
    names = {str(p.relative_to(Path(label_cache.__file__).parent)) for p in labeller_sources()}
    # the labeller, what it imports (pose fits, the 21-to-68 map), the labelling models' loader and network
    assert {"__init__.py", "label.py", "label_cache.py", "pose.py", "landmarks.py", "distill.py", "runtime.py",
            "models/mobilenetv3.py", "data/record.py"} <= names
    assert not names & {"cli.py", "train.py", "loss.py", "augment.py"}  # editing these keeps the labels


def test_threads_that_ask_at_once_parse_the_package_once(monkeypatch) -> None:
    """Two threads parsing at once can fail in CPython 3.11 (python/cpython#106905): the walk runs once, locked."""
    parsed: list[str] = []
    real = label_cache._package_imports

    def slow(name: str) -> set[str]:
        parsed.append(name)
        time.sleep(0.01)  # long enough for the other threads to arrive mid-walk
        return real(name)

    monkeypatch.setattr(label_cache, "_package_imports", slow)
    label_cache._labeller_sources.cache_clear()
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(labeller_sources())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    label_cache._labeller_sources.cache_clear()  # the next caller walks the real imports again
    assert len(results) == 4 and len(set(results)) == 1
    assert len(parsed) == len(set(parsed)) == len(results[0])


def test_an_edit_to_a_labeller_module_changes_the_key(tmp_path: Path, monkeypatch) -> None:
    source = tmp_path / "label.py"
    source.write_text("A = 1\n")
    monkeypatch.setattr(label_cache, "labeller_sources", lambda: (source,))
    monkeypatch.setattr(label_cache, "_PACKAGE", tmp_path)
    records = _records(2)
    before = labels_key(records, {"setting": 1}, [])
    assert labels_key(records, {"setting": 1}, []) == before
    source.write_text("A = 2\n")
    assert labels_key(records, {"setting": 1}, []) != before

"""The docs point users at the release that ships: every release folder that the README, the ARM harness's README or
the model card names exists (benchmarks/release.sh rewrites those names; a stale one sends users to deleted files)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RELEASE = re.compile(r"efld-mnv3s-0\.5-v\d+(?:\.\d+)+(?=/)")
DOCS = ("README.md", "android_harness/README.md", "models/efld-mnv3s-0.5/MODEL_CARD.md")


@pytest.mark.parametrize("doc", DOCS)
def test_the_release_folders_a_doc_names_exist(doc: str) -> None:
    named = set(RELEASE.findall((ROOT / doc).read_text(encoding="utf-8")))
    assert named, f"{doc} names no release folder"
    assert not [n for n in sorted(named) if not (ROOT / "models" / n).is_dir()]

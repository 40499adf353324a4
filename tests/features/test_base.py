"""The input fingerprint: file contents (hashed once per process), names relative to the root."""

import hashlib
import os
from pathlib import Path

from reactdiff.features.base import content_digests, file_sha256


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_file_is_read_once_until_it_changes(tmp_path, monkeypatch):
    path = tmp_path / "clip.wav"
    path.write_bytes(b"one")
    reads, real_open = [], Path.open

    def counting_open(self, mode="r", *args, **kwargs):
        if "r" in mode:
            reads.append(self)
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", counting_open)
    assert file_sha256(path) == file_sha256(path) == _sha(b"one")
    assert len(reads) == 1
    path.write_bytes(b"two")
    os.utime(path, ns=(10**18, 10**18))
    assert file_sha256(path) == _sha(b"two") and len(reads) == 2
    assert file_sha256(tmp_path / "missing.wav") is None


def test_a_folder_lists_its_frames_relative_to_the_root(tmp_path):
    video = tmp_path / "train" / "Video_files" / "clip"
    video.mkdir(parents=True)
    for i in (1, 2, 10):
        (video / f"{i}.png").write_bytes(bytes([i]))
    (video / ".DS_Store").write_bytes(b"finder state")
    assert content_digests(video, tmp_path) == [
        ["train/Video_files/clip/1.png", _sha(b"\x01")],
        ["train/Video_files/clip/10.png", _sha(b"\x0a")],
        ["train/Video_files/clip/2.png", _sha(b"\x02")],
    ]
    missing = tmp_path / "train" / "Audio_files" / "clip.wav"
    assert content_digests(missing, tmp_path) == [["train/Audio_files/clip.wav", None]]

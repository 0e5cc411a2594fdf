"""The helper that handles isolated copies on a remote engine's host: it is sent every module
container.isolated_ops needs (and only the standard library is there besides), and it binds no
folder the helper itself runs from."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from container.errors import ClaudexError
from container.isolated_remote import MODULES, PY, _modules_tar, check_directory

REPO = Path(__file__).resolve().parents[2]


def test_the_helper_is_sent_every_module_the_isolated_code_imports() -> None:
    code = (
        f"import sys; sys.path.insert(0, {str(REPO)!r}); import container.isolated_ops; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('container'))))"
    )
    # -I -S: no site-packages (docker, pydantic are not in the image's python3 either)
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    loaded = {m.removeprefix("container.") for m in out} - {"container"}
    assert loaded <= set(MODULES) - {"__init__"}, loaded - set(MODULES)
    with tarfile.open(fileobj=io.BytesIO(_modules_tar())) as tar:
        names = tar.getnames()
    assert sorted(names) == sorted(f"{PY.rsplit('/', 1)[1]}/container/{m}.py" for m in MODULES)


@pytest.mark.parametrize(
    "bad", ["/", "/usr", "/usr/local/src", "/etc/app", "/opt", "/tmp", "/var", "rel/dir", "/a/../b"]
)
def test_a_system_folder_is_not_bound_in_the_helper(bad: str) -> None:
    with pytest.raises(ClaudexError, match=r"cannot copy|system folder"):
        check_directory(bad)


@pytest.mark.parametrize("good", ["/home/u/proj", "/tmp/work/proj", "/srv/x", "/var/www/site"])
def test_project_folders_are_bound(good: str) -> None:
    check_directory(good)


def test_the_tabs_results_come_back_from_the_helper_as_they_were() -> None:
    """What container.isolated_ops prints for the Changes tab (dataclasses as JSON, text that
    is not UTF-8 kept as surrogates) reads back into the same ChangedFile and FileReview."""
    import dataclasses

    from container.isolated_model import FileReview, hunks
    from container.isolated_remote import _changed_file, _file_review
    from container.tracking_model import ChangedFile

    odd = "caf\udce9\n"  # a byte that is not UTF-8, as surrogateescape reads it
    found = hunks(["a\n", "b\n"], ["a\n", odd, "c\n"])
    review = FileReview("/p/x.txt", "apply", "", found, "".join(h.text for h in found))
    changed = ChangedFile("/p/\udcff.bin", "added", 0, 0, True)
    for value, read in ((review, _file_review), (changed, _changed_file)):
        line = json.dumps({"result": dataclasses.asdict(value)})
        assert read(json.loads(line)["result"]) == value

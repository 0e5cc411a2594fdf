"""A rebuild removes the image it replaced, unless the engine refuses (a session uses it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from docker.errors import APIError

from container.image import build_image


class _Api:
    def __init__(self, old: str | None, new: str, in_use: bool = False) -> None:
        self.old, self.new, self.in_use = old, new, in_use
        self.removed: list[str] = []

    def inspect_image(self, name: str) -> dict[str, str]:
        if self.old is None:
            raise APIError("No such image")
        return {"Id": self.old}

    def build(self, **_: Any) -> Iterator[dict[str, Any]]:
        yield {"stream": "Step 1/1 : FROM debian\n"}
        yield {"aux": {"ID": self.new}}

    def remove_image(self, image: str) -> None:
        if self.in_use:
            raise APIError("conflict: image is being used by running container")
        self.removed.append(image)


class _Client:
    def __init__(self, api: _Api) -> None:
        self.api = api


def test_the_replaced_image_is_removed() -> None:
    api = _Api("sha256:old", "sha256:new")
    assert build_image(_Client(api), "claudex") == "sha256:new"  # type: ignore[arg-type]
    assert api.removed == ["sha256:old"]


def test_an_image_in_use_or_unchanged_or_new_is_left_alone() -> None:
    for api in (
        _Api("sha256:old", "sha256:new", in_use=True),
        _Api("sha256:same", "sha256:same"),
        _Api(None, "sha256:new"),
    ):
        build_image(_Client(api), "claudex")  # type: ignore[arg-type]
        assert api.removed == []

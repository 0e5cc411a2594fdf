"""The mount picker's marks: which host directories are mounted, read-only or not, where.
No Textual here."""

from __future__ import annotations

from dataclasses import dataclass

from container.mount_targets import default_targets, mount_conflicts


@dataclass(frozen=True)
class Mark:
    """One marked directory as it would be mounted; `problem` blocks creating the session."""

    source: str
    target: str
    read_only: bool
    problem: str | None = None


@dataclass
class _MarkState:
    read_only: bool = False
    target: str | None = None  # None: the default target, which follows the other marks


class MarkSet:
    """Marked directories in the order they were marked. Each method that changes something
    says whether it did."""

    def __init__(self) -> None:
        self._states: dict[str, _MarkState] = {}

    def __contains__(self, source: object) -> bool:
        return source in self._states

    def __len__(self) -> int:
        return len(self._states)

    def marks(self) -> list[Mark]:
        """Each marked directory at its target (given, or the default), with its problem."""
        defaults = default_targets(list(self._states))
        targets = {s: st.target or defaults[s] for s, st in self._states.items()}
        problems = mount_conflicts(targets)
        return [
            Mark(s, targets[s], st.read_only, problems.get(s)) for s, st in self._states.items()
        ]

    def default_target(self, source: str) -> str | None:
        """Where `source` goes when no target is given (it depends on the other marks)."""
        return default_targets(list(self._states)).get(source)

    def mark(self, source: str, read_only: bool = False, target: str | None = None) -> None:
        """Mark `source` (or change how it is marked)."""
        state = self._states.setdefault(source, _MarkState())
        state.read_only = read_only
        state.target = target

    def unmark(self, source: str) -> bool:
        return self._states.pop(source, None) is not None

    def toggle_read_only(self, source: str) -> bool:
        state = self._states.get(source)
        if state is not None:
            state.read_only = not state.read_only
        return state is not None

    def set_target(self, source: str, target: str | None) -> bool:
        """`target` for `source` (empty or None: the default one)."""
        state = self._states.get(source)
        if state is not None:
            state.target = target or None
        return state is not None

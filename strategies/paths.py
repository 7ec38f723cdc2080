"""Reach a member of a flat request by its rule path ("Email", "Tags", "Tags[]", "Tags[].Key") to change it."""
from __future__ import annotations

import copy
from typing import Any, Callable

from qsconform.spec.model import path_parts as parts
from qsconform.strategies.pick import Picker


def change_at(params: dict, path: str, picker: Picker, change: Callable[[Any, Any], None]) -> bool:
    """Call change(container, key) on the place `path` names, copying what leads there.

    A list step picks one item. False when the place does not exist (an absent member,
    an empty list, an item that is not an object).
    """
    steps = parts(path)
    container: Any = params  # a dict, or a list on the way
    key: Any = steps[0]  # a member name, or a list's index
    if key not in params and len(steps) > 1:
        return False
    for step in steps[1:]:
        value = copy.copy(container[key])
        container[key] = value
        if step == "[]":
            if not isinstance(value, list) or not value:
                return False
            container, key = value, picker.index(len(value))
        else:
            if not isinstance(value, dict):
                return False
            container, key = value, step
            if step not in value and step != steps[-1]:
                return False
    change(container, key)
    return True


def set_at(params: dict, path: str, picker: Picker, value_of: Callable[[], Any]) -> bool:
    def change(container, key):
        container[key] = value_of()
    return change_at(params, path, picker, change)


def remove_at(params: dict, path: str, picker: Picker) -> bool:
    def change(container, key):
        if isinstance(container, dict):
            container.pop(key, None)
        else:
            del container[key]
    return change_at(params, path, picker, change)

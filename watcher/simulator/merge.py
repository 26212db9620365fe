"""Deep merge of a job's answer with its script steps (JSON Merge Patch, RFC 7396).

Objects merge key by key, recursively; ``null`` removes a key; any other value (lists included)
replaces what was there. A growing list (Braket ``events``, Amplify ``steps``) is therefore given
whole in each step that changes it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """``target`` with ``patch`` applied; ``target`` is modified in place when both are objects."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = merge_patch(target.get(key), value)
    return target


def merged(base: Mapping[str, Any], patches: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A fresh dict: a deep copy of ``base`` with every patch applied in order (inputs untouched)."""
    result: dict[str, Any] = copy.deepcopy(dict(base))
    for patch in patches:
        result = merge_patch(result, patch)
    return result

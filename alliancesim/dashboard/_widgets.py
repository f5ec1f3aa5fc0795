"""Walking a rendered widget tree: used by the dashboard's tests and its benchmark to find
buttons, sliders and tabs the way a user would see them on the page."""

from __future__ import annotations

import ipywidgets


def widgets_under(*roots) -> list:
    """Every widget at or below ``roots`` (children, slots, any widget-valued trait), once each,
    in breadth-first order."""
    found, seen, queue = [], set(), list(roots)
    while queue:
        item = queue.pop(0)
        if isinstance(item, ipywidgets.Widget):
            if id(item) in seen:
                continue
            seen.add(id(item))
            found.append(item)
            queue.extend(getattr(item, name, None) for name in item.keys)
        elif isinstance(item, (list, tuple)):
            queue.extend(item)
        elif isinstance(item, dict):
            queue.extend(item.values())
    return found

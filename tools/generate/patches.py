"""What turns one rendering of an object into another: RFC 6902 JSON patch
operations (what kustomize applies to custom resources, whose lists have no
merge keys) and the image names a kustomize ``images:`` entry renames; and
both applied, so the generator can show they give the second rendering back.

Maps are patched key by key, or replaced whole where most of them changes;
lists of named items (containers, env, volumes, worker groups) item by item,
removing and appending by name; other lists item by item when their length
stays, else whole.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Op = dict[str, Any]
Path = tuple[str | int, ...]
# The keys that name an item of a list of maps.
ITEM_KEYS = ("name", "groupName")
# The lists whose items' images kustomize's `images:` rewrites, wherever they are.
CONTAINER_LISTS = ("containers", "initContainers")


@dataclass(frozen=True)
class Change:
    op: str  # add, remove or replace
    path: Path
    old: Any
    new: Any

    def operation(self) -> Op:
        op: Op = {"op": self.op, "path": pointer(self.path)}
        if self.op != "remove":
            op["value"] = copy.deepcopy(self.new)
        return op


def pointer(path: Path) -> str:
    """The JSON pointer of ``path`` (RFC 6901: ~ and / escaped)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _leaves(value: Any) -> int:
    if isinstance(value, dict) and value:
        return sum(_leaves(v) for v in value.values())
    if isinstance(value, list) and value:
        return sum(_leaves(v) for v in value)
    return 1


def _item_names(items: list[Any]) -> list[Any] | None:
    """The name of each item, where every item is a map named by one ITEM_KEYS key, uniquely."""
    for key in ITEM_KEYS:
        names = [item.get(key) if isinstance(item, dict) else None for item in items]
        if items and None not in names and len(set(names)) == len(names):
            return names
    return None


def changes(a: Any, b: Any, path: Path = ()) -> list[Change]:
    """What turns ``a`` into ``b``, in the order it applies."""
    if a == b:
        return []
    if isinstance(a, dict) and isinstance(b, dict):
        found = [Change("remove", (*path, k), a[k], None) for k in a if k not in b]
        for key, value in b.items():
            if key in a:
                found += changes(a[key], value, (*path, key))
            else:
                found.append(Change("add", (*path, key), None, value))
        # Deeper than an object's top-level fields, a map mostly changed is
        # replaced whole; not its own metadata, which kustomize adds labels to.
        covered = sum(_leaves(c.old if c.op == "remove" else c.new) for c in found)
        deep = len(path) >= 2 and path[0] != "metadata"
        if deep and len(found) > 1 and 2 * covered > _leaves(b):
            return [Change("replace", path, a, b)]
        return found
    if isinstance(a, list) and isinstance(b, list):
        names_a, names_b = _item_names(a), _item_names(b)
        if names_a is not None and names_b is not None:
            kept = [n for n in names_a if n in names_b]
            added = [n for n in names_b if n not in names_a]
            if names_b == kept + added:
                found = [
                    c
                    for i, name in enumerate(names_a)
                    if name in names_b
                    for c in changes(a[i], b[names_b.index(name)], (*path, i))
                ]
                found += [
                    Change("remove", (*path, i), a[i], None)
                    for i in reversed(range(len(a)))
                    if names_a[i] not in names_b
                ]
                found += [Change("add", (*path, "-"), None, b[names_b.index(n)]) for n in added]
                return found
        elif len(a) == len(b):
            return [
                c
                for i, (x, y) in enumerate(zip(a, b, strict=True))
                for c in changes(x, y, (*path, i))
            ]
        elif b[: len(a)] == a:
            return [Change("add", (*path, "-"), None, item) for item in b[len(a) :]]
    return [Change("replace", path, a, b)]


def split_image(image: str) -> tuple[str, str]:
    """(name, the rest: ``:tag``, ``@digest`` or both) of an image reference."""
    name, at, digest = image.partition("@")
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        name, tag = name[:colon], name[colon:]
    else:
        tag = ""
    return name, tag + at + digest


def renamed_image(change: Change) -> tuple[str, str] | None:
    """(old name, new name) where ``change`` only renames a container's image."""
    if (
        change.op != "replace"
        or len(change.path) < 3
        or change.path[-1] != "image"
        or change.path[-3] not in CONTAINER_LISTS
        or not (isinstance(change.old, str) and isinstance(change.new, str))
    ):
        return None
    (old, old_rest), (new, new_rest) = split_image(change.old), split_image(change.new)
    return (old, new) if old != new and old_rest == new_rest else None


def _containers(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in CONTAINER_LISTS and isinstance(value, list):
                yield from (c for c in value if isinstance(c, dict))
            else:
                yield from _containers(value)
    elif isinstance(node, list):
        for item in node:
            yield from _containers(item)


def apply(obj: Any, operations: list[Op], images: dict[str, str]) -> Any:
    """``obj`` patched as kustomize does: the operations, then the image names."""
    obj = copy.deepcopy(obj)
    for op in operations:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        node = obj
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        last = parts[-1]
        if isinstance(node, list):
            if op["op"] == "add" and last == "-":
                node.append(copy.deepcopy(op["value"]))
            elif op["op"] == "add":
                node.insert(int(last), copy.deepcopy(op["value"]))
            elif op["op"] == "remove":
                del node[int(last)]
            else:
                node[int(last)] = copy.deepcopy(op["value"])
        elif op["op"] == "remove":
            del node[last]
        else:
            node[last] = copy.deepcopy(op["value"])
    for container in _containers(obj):
        name, rest = split_image(str(container.get("image", "")))
        if name in images:
            container["image"] = images[name] + rest
    return obj

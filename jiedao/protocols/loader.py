"""Reading protocol files: YAML (duplicate keys refused), `extends` (a local variant merged over its
base) and the checks that span protocols (`supersedes`). One file per protocol version; the file name
without `.yaml` is the protocol's key."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from jiedao.protocols.schema import (
    PROTOCOL_KEY_RE,
    TOP_OPTIONAL,
    TOP_REQUIRED,
    Protocol,
    ProtocolError,
    build_protocol,
)

SUFFIX = ".yaml"
# A variant states these itself: they describe the document, not the rules it inherits.
OWN_KEYS = ("title", "version", "effective_from")
NOT_INHERITED = ("effective_until", "supersedes", "basis", "extends")

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe YAML that refuses a key given twice in one mapping (PyYAML silently keeps the last)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key; the constructor reports it
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, *, source: str) -> dict[str, Any]:
    """Parse one protocol document into a mapping, or refuse it naming the line."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ProtocolError("", f"not valid YAML: {where}{exc.problem or exc}", source=source) from None
    except yaml.YAMLError as exc:
        raise ProtocolError("", f"not valid YAML: {exc}", source=source) from None
    if data is None:
        raise ProtocolError("", "the file is empty", source=source)
    if not isinstance(data, dict):
        raise ProtocolError("", "a protocol must be a mapping of keys at the top level", source=source)
    return data


def _merge(base: Any, override: Any) -> Any:
    """Deep-merge `override` into `base`: mappings merge key by key, a null removes the key, anything
    else (numbers, text, lists such as test_days) replaces the base value wholesale."""
    if not isinstance(base, Mapping) or not isinstance(override, Mapping):
        return copy.deepcopy(override)
    out = dict(copy.deepcopy(base))
    for k, v in override.items():
        if v is None:
            out.pop(k, None)
        elif k in out:
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


class Library:
    """A set of protocol files found by key; parses and builds each at most once, on demand."""

    def __init__(
        self, dirs: Iterable[Path | str] = (), files: Iterable[Path | str] = (), *, strict: bool = True
    ) -> None:
        """`strict`: a key found in two directories is an error; otherwise the first one found wins.
        `files` always win over directories (checking an edited copy of a shipped protocol)."""
        self.paths: dict[str, Path] = {}
        for f in files:
            self._add(Path(f), strict=False)
        pinned = set(self.paths)
        for d in dirs:
            directory = Path(d)
            if not directory.is_dir():
                raise ProtocolError("", f"protocol directory {directory} does not exist")
            for path in sorted(directory.glob(f"*{SUFFIX}")):
                if path.name.removesuffix(SUFFIX) not in pinned:
                    self._add(path, strict=strict)
        self._raw: dict[str, dict[str, Any]] = {}
        self._built: dict[str, Protocol] = {}

    def _add(self, path: Path, *, strict: bool) -> None:
        key = path.name.removesuffix(SUFFIX)
        if path.suffix != SUFFIX:
            raise ProtocolError("", f"a protocol file name ends in {SUFFIX}", source=path.name)
        if not PROTOCOL_KEY_RE.match(key):
            raise ProtocolError(
                "",
                "the file name is the protocol key: use lower-case letters, digits and -",
                source=path.name,
            )
        known = self.paths.get(key)
        if known and known.resolve() != path.resolve():
            if strict:
                raise ProtocolError(
                    "", f"protocol {key} is defined twice: {known} and {path}", source=path.name
                )
            return
        self.paths[key] = path

    @property
    def keys(self) -> list[str]:
        return sorted(self.paths)

    def _source(self, key: str) -> str:
        return self.paths[key].name

    def _merged(self, key: str, chain: tuple[str, ...] = ()) -> dict[str, Any]:
        """The document of `key` with its `extends` chain merged in (each base validated on its own)."""
        if key in self._raw:
            return self._raw[key]
        source = self._source(key)
        try:
            text = self.paths[key].read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ProtocolError("", f"cannot read the file: {exc}", source=source) from None
        raw = parse_yaml(text, source=source)
        base_key = raw.get("extends")
        if base_key is not None:
            if not isinstance(base_key, str) or not PROTOCOL_KEY_RE.match(base_key):
                raise ProtocolError("extends", f"expected a protocol key, got {base_key!r}", source=source)
            if base_key == key or base_key in chain:
                loop = (*chain[chain.index(base_key) :], key, base_key) if base_key in chain else (key, key)
                raise ProtocolError("extends", f"cycle: {' → '.join(loop)}", source=source)
            if base_key not in self.paths:
                raise ProtocolError(
                    "extends",
                    f"unknown protocol {base_key!r}; known: {', '.join(k for k in self.keys if k != key) or 'none'}",
                    source=source,
                )
            base = self._merged(base_key, (*chain, key))
            self.build(base_key)  # a broken base is reported against its own file
            raw = self._extend(key, base_key, base, raw, source)
        self._raw[key] = raw
        return raw

    def _extend(
        self, key: str, base_key: str, base: dict[str, Any], raw: dict[str, Any], source: str
    ) -> dict[str, Any]:
        allowed = TOP_REQUIRED | TOP_OPTIONAL
        for k in raw:
            if k not in allowed:
                raise ProtocolError(
                    str(k), f"unknown key; allowed: {', '.join(sorted(allowed))}", source=source
                )
        for k in OWN_KEYS:
            if raw.get(k) is None:
                raise ProtocolError(
                    k, f"required key is missing (a variant of {base_key} states its own)", source=source
                )
        if raw.get("disease") is not None and raw["disease"] != base.get("disease"):
            raise ProtocolError(
                "disease",
                f"a variant of {base_key} ({base.get('disease')}) cannot change the disease",
                source=source,
            )
        for k in ("parameters", "categories"):
            if raw.get(k) is not None and not isinstance(raw[k], Mapping):
                raise ProtocolError(k, f"expected a mapping of keys, got {raw[k]!r}", source=source)
        for cat, value in (raw.get("categories") or {}).items():
            if value is None and cat not in base.get("categories", {}):
                raise ProtocolError(
                    f"categories.{cat}", f"cannot remove a category {base_key} does not have", source=source
                )
        # Own keys replace the base's wholesale: half a title must not borrow the other half.
        inherited = {k: v for k, v in base.items() if k not in NOT_INHERITED and k not in OWN_KEYS}
        merged = _merge(inherited, {k: v for k, v in raw.items() if k not in ("parameters", "categories")})
        for k in ("parameters", "categories"):
            merged[k] = _merge(base.get(k) or {}, raw.get(k) or {})
        merged["extends"] = base_key
        return merged

    def build(self, key: str) -> Protocol:
        if key not in self._built:
            if key not in self.paths:
                raise ProtocolError("", f"unknown protocol {key!r}; known: {', '.join(self.keys) or 'none'}")
            self._built[key] = build_protocol(key, self._merged(key), source=self._source(key))
        return self._built[key]

    def build_all(self) -> dict[str, Protocol]:
        """Every protocol, then the checks across them (`supersedes`)."""
        protocols = {key: self.build(key) for key in self.keys}
        check_succession(protocols)
        return protocols


def check_succession(protocols: Mapping[str, Protocol]) -> None:
    """`supersedes` names a known protocol of the same disease that took effect earlier, and no
    protocol is superseded twice (a line of versions never forks)."""
    successor: dict[str, str] = {}
    for p in protocols.values():
        if p.supersedes is None:
            continue
        before = protocols.get(p.supersedes)
        if before is None:
            raise ProtocolError("supersedes", f"unknown protocol {p.supersedes!r}", source=p.source)
        if before.disease != p.disease:
            raise ProtocolError(
                "supersedes",
                f"{before.key} is a protocol for {before.disease}, not {p.disease}",
                source=p.source,
            )
        if before.effective_from >= p.effective_from:
            raise ProtocolError(
                "supersedes",
                f"{before.key} takes effect on {before.effective_from}, not before this protocol "
                f"({p.effective_from})",
                source=p.source,
            )
        if p.supersedes in successor:
            raise ProtocolError(
                "supersedes",
                f"{p.supersedes} is already superseded by {successor[p.supersedes]}",
                source=p.source,
            )
        successor[p.supersedes] = p.key


def load_dirs(dirs: Iterable[Path | str]) -> dict[str, Protocol]:
    return Library(dirs).build_all()


def load_file(path: Path | str, *, dirs: Iterable[Path | str] = ()) -> Protocol:
    """One file, its `extends` resolved against `dirs` and the file's own directory."""
    path = Path(path)
    if not path.is_file():
        raise ProtocolError("", f"no such file: {path}")
    # The file's own directory first: a variant next to it wins over a shipped protocol of that name.
    search = list(dict.fromkeys(Path(d).resolve() for d in (path.parent, *dirs)))
    return Library(search, files=[path], strict=False).build(path.name.removesuffix(SUFFIX))

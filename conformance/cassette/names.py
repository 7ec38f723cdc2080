"""User names <-> numbered references ({user-1}, ...), so that a replay can send the same names under its own prefix."""
from __future__ import annotations

import re

from qsconform.conformance.cassette.format import PREFIX, USER_REFERENCE, CassetteError

# A server-made name found inside a text: the prefix, then what user names are made of (and '/' of role sessions).
_NAME_TAIL = r"[\w+=,.@/-]*"


class UserNames:
    """User names <-> numbered references, consistent across a cassette or a replay.

    `suffixes` (reference -> the name without its prefix) is shared with the
    cassette, so a replay can rebuild every name under its own prefix.
    """

    def __init__(self, prefix: str, suffixes: dict[str, str] | None = None):
        if not prefix:
            raise ValueError("a user-name prefix is needed to recognise the run's users")
        self.prefix = prefix
        self.suffixes = suffixes if suffixes is not None else {}
        self.names: dict[str, str] = {}  # name -> reference
        self._by_suffix = {suffix: ref for ref, suffix in self.suffixes.items()}
        # the highest {user-N} number in use; `suffixes` changes only through this object
        self._last = max((int(m.group(1)) for r in self.suffixes if (m := USER_REFERENCE.fullmatch(r))), default=0)
        self._unknown = re.compile(re.escape(prefix) + _NAME_TAIL)
        self._known: re.Pattern | None = None

    def reference(self, name: str) -> str:
        """The reference of a name that starts with the prefix; a new one the first time."""
        if name not in self.names:
            # the prefix again inside a name (a role session "<prefix>role/<prefix>session") is kept as a token
            suffix = name[len(self.prefix):].replace(self.prefix, PREFIX)
            ref = self._by_suffix.get(suffix)
            if ref is None:
                self._last += 1
                ref = f"{{user-{self._last}}}"
                self.suffixes[ref] = suffix
                self._by_suffix[suffix] = ref
            self.names[name] = ref
            self._known = None
        return self.names[name]

    def name(self, ref: str) -> str:
        """The name a reference stands for under this prefix (the replay side)."""
        if ref not in self.suffixes:
            raise CassetteError(f"the cassette uses {ref} but its users table does not define it")
        name = self.prefix + self.suffixes[ref].replace(PREFIX, self.prefix)
        if name not in self.names:
            self.names[name] = ref
            self._known = None
        return name

    def in_text(self, text: str) -> str:
        """`text` with every known name, then every other run of the prefix and name characters, replaced."""
        if self.prefix not in text:
            return text
        if self._known is None and self.names:
            alternatives = sorted(self.names, key=len, reverse=True)  # qsc-x-10 before qsc-x-1
            self._known = re.compile("|".join(map(re.escape, alternatives)))
        if self._known is not None:
            text = self._known.sub(lambda m: self.names[m.group(0)], text)
        return self._unknown.sub(lambda m: self.reference(m.group(0)), text)

"""CodePipeline's trigger filters: glob patterns, and the includes and excludes made of them.

A V2 pipeline's push trigger names branches, tags and file paths with glob patterns (user
guide, "Working with glob patterns in syntax"):

- ``*`` is "zero or more characters of a name component in directory boundaries": it stops
  at ``/``;
- ``**`` is "zero or more characters of a name component crossing directory boundaries";
- ``?`` is "one character of a name component" (never ``/``);
- ``\\`` escapes "characters that would otherwise be interpreted as special characters";
- ``[ ]`` is "a single character out of a set of characters": ``[abc]``, ranges ``[a-z]``,
  ``[!...]`` negates; inside, ``*``, ``?`` and ``\\`` match themselves, and so does ``-``
  first in the brackets (or first after ``!``);
- ``{a,b}`` is a group of subpatterns that matches when one of them does, ``,`` separating
  them; groups do not nest.

(the last two rules are the page's, in other words). A pattern matches a whole name
(``release/*`` does not match ``release/a/b``), case sensitively (a guess: the page does
not say). A pattern is compiled to a regular expression once (cached); one the grammar
refuses is a :class:`GlobError` naming it. Where the page is silent, the choices below say
they are guesses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


class GlobError(ValueError):
    """A malformed glob pattern; says which, and what is wrong with it."""

    def __init__(self, pattern: str, problem: str) -> None:
        super().__init__(f"the glob pattern {pattern!r} is malformed: {problem}")
        self.pattern = pattern
        self.problem = problem


@lru_cache(maxsize=4096)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """``pattern`` as a regular expression to ``fullmatch`` a branch, tag or file path with."""
    if not pattern:
        # The API refuses an empty pattern (GitBranchFilterCriteria and the others: "Minimum length of 1").
        raise GlobError(pattern, "it is empty")
    return re.compile(_translate(pattern), re.DOTALL)


def glob_matches(pattern: str, name: str) -> bool:
    """Does ``pattern`` match the whole of ``name``?"""
    return compile_glob(pattern).fullmatch(name) is not None


def _translate(pattern: str) -> str:
    parts: list[str] = []
    group_opened_at: int | None = None  # where the open ``{`` is, inside a group
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            if i + 1 == len(pattern):
                raise GlobError(pattern, "it ends with a \\ that escapes nothing")
            parts.append(re.escape(pattern[i + 1]))
            i += 2
        elif char == "*":
            if pattern.startswith("**", i):
                parts.append(".*")
                i += 2
            else:
                parts.append("[^/]*")
                i += 1
        elif char == "?":
            parts.append("[^/]")
            i += 1
        elif char == "[":
            bracket, i = _bracket(pattern, i)
            parts.append(bracket)
        elif char == "{":
            if group_opened_at is not None:
                raise GlobError(pattern, f"the {{ at position {i} opens a group inside the group at position {group_opened_at}")
            group_opened_at = i
            parts.append("(?:")
            i += 1
        elif char == "}" and group_opened_at is not None:
            group_opened_at = None
            parts.append(")")
            i += 1
        elif char == "," and group_opened_at is not None:
            parts.append("|")
            i += 1
        else:
            # Outside a group, "}" and "," are plain characters (a guess: the page defines them for groups only).
            parts.append(re.escape(char))
            i += 1
    if group_opened_at is not None:
        raise GlobError(pattern, f"the {{ at position {group_opened_at} is never closed")
    return "".join(parts)


def _bracket(pattern: str, start: int) -> tuple[str, int]:
    """The bracket expression opening at ``start``: its regular expression, and where the
    pattern goes on after its ``]``."""
    i = start + 1
    negated = pattern.startswith("!", i)
    if negated:
        i += 1
    first = i
    members: list[str] = []
    range_start: str | None = None  # the single character just read, which a "-" makes a range from
    while True:
        if i >= len(pattern):
            raise GlobError(pattern, f"the [ at position {start} is never closed")
        char = pattern[i]
        if char == "]" and i > first:
            break
        if char == "]":
            # A guess: the page gives no meaning to "[]"; an empty set could match nothing.
            raise GlobError(pattern, f"the bracket expression at position {start} is empty")
        if char == "/":
            # A bracket expression matches a character of a name component, never the separator (a guess: the page is silent).
            raise GlobError(pattern, f"the bracket expression at position {start} holds a /")
        if char == "-" and range_start is not None and i + 1 < len(pattern) and pattern[i + 1] != "]":
            high = pattern[i + 1]
            if high == "/":
                raise GlobError(pattern, f"the bracket expression at position {start} holds a /")
            if high < range_start:
                raise GlobError(pattern, f"the range {range_start}-{high} at position {i - 1} runs backwards")
            members[-1] = f"{re.escape(range_start)}-{re.escape(high)}"
            range_start = None
            i += 2
            continue
        # "*", "?" and "\" match themselves in here; so does "-" first, last, or right after a range.
        members.append(re.escape(char))
        range_start = char
        i += 1
    body = "".join(members)
    # Never "/": a negated set would otherwise match it, and so could a range spanning it.
    return (f"[^/{body}]" if negated else f"(?!/)[{body}]"), i + 1


@dataclass(frozen=True)
class Criteria:
    """One ``Includes``/``Excludes`` pair of a push filter (API reference,
    "GitBranchFilterCriteria", "GitTagFilterCriteria", "GitFilePathFilterCriteria").

    The user guide ("Trigger filtering in the pipeline JSON (CLI)") joins a filter's
    includes and excludes with AND, the patterns of each list with OR; the CDK's
    ``GitPushFilter`` says "The branchesExcludes takes priority over the branchesIncludes". Without
    ``Includes`` every name is included, so that an exclude-only filter selects all the
    other names (a guess: the docs offer "Include or exclude" but do not say what excludes
    alone select)."""

    includes: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for pattern in (*self.includes, *self.excludes):
            compile_glob(pattern)

    @property
    def declared(self) -> bool:
        return bool(self.includes or self.excludes)

    def included_by(self, name: str) -> str | None:
        """The first include that matches ``name``; ``"(no Includes)"`` when there are none."""
        if not self.includes:
            return "(no Includes)"
        return next((pattern for pattern in self.includes if glob_matches(pattern, name)), None)

    def excluded_by(self, name: str) -> str | None:
        """The first exclude that matches ``name``."""
        return next((pattern for pattern in self.excludes if glob_matches(pattern, name)), None)

    def selects(self, name: str) -> bool:
        return self.included_by(name) is not None and self.excluded_by(name) is None

    def why(self, name: str) -> str:
        """Why ``name`` is selected or not, naming the pattern that decided."""
        excluded = self.excluded_by(name)
        if excluded is not None:
            return f"{name} is excluded by {excluded!r}"
        included = self.included_by(name)
        if included is None:
            return f"{name} matches none of the includes ({', '.join(self.includes)})"
        if not self.includes:
            return f"{name} is included (no Includes) and matches none of the excludes ({', '.join(self.excludes)})"
        return f"{name} is included by {included!r}"

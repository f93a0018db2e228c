"""CodePipeline's trigger globs and their includes/excludes (local_pipeline/executor/trigger_filters.py).

Each test names the AWS page it follows; where the page is silent, the test says the
behaviour it pins is the executor's guess."""

from __future__ import annotations

import pytest

from local_pipeline.executor.trigger_filters import Criteria, GlobError, compile_glob, glob_matches


def test_a_star_stays_within_a_name_component_and_a_double_star_crosses_them():
    """CodePipeline user guide, "Working with glob patterns in syntax": ``*`` is "zero or
    more characters of a name component in directory boundaries", ``**`` "crossing
    directory boundaries"."""
    assert glob_matches("release/*", "release/a")
    assert glob_matches("release/*", "release/")
    assert not glob_matches("release/*", "release/a/b")
    assert glob_matches("release/**", "release/a")
    assert glob_matches("release/**", "release/a/b")
    assert not glob_matches("release/**", "release")  # the "/" is literal
    assert glob_matches("**", "a/b/c.txt")  # the page's way to specify all files
    assert glob_matches("directory/*", "directory/file") and not glob_matches("directory/*", "directory/sub/file")


def test_a_pattern_matches_the_whole_name_not_a_part_of_it():
    """ "Working with glob patterns in syntax": ``*.java`` "Specifies a path that represents a
    file name ending in .java" - the whole name, not a substring (no implicit ``*`` around)."""
    assert glob_matches("*.java", "Main.java")
    assert not glob_matches("*.java", "Main.java.orig")
    assert not glob_matches("main", "main2") and not glob_matches("main", "feature/main")


def test_a_question_mark_is_one_character_of_a_name_component():
    """ "Working with glob patterns in syntax": ``?`` is "one character of a name component";
    ``foo.?`` "Specifies file names starting with foo. and a single character extension"."""
    assert glob_matches("foo.?", "foo.c")
    assert not glob_matches("foo.?", "foo.cc") and not glob_matches("foo.?", "foo.")
    assert not glob_matches("a?b", "a/b")


def test_a_group_matches_any_of_its_subpatterns():
    """ "Working with glob patterns in syntax": ``*.{java,class}`` "Specifies file names ending
    with .java or .class"; its rules make ``{ }`` a group of subpatterns that matches when
    one of them does, with "," between them."""
    assert glob_matches("{main,dev}", "main") and glob_matches("{main,dev}", "dev")
    assert not glob_matches("{main,dev}", "maindev") and not glob_matches("{main,dev}", "staging")
    assert glob_matches("*.{java,class}", "A.class") and not glob_matches("*.{java,class}", "A.jar")
    assert glob_matches("release/{v*,rc/**}", "release/rc/1/2") and not glob_matches("release/{v*,rc/**}", "release/x")


def test_a_backslash_escapes_the_next_character():
    """ "Working with glob patterns in syntax": "To escape characters that would otherwise be
    interpreted as special characters, use the backslash character (\\)"."""
    assert glob_matches(r"docs/\*.md", "docs/*.md")
    assert not glob_matches(r"docs/\*.md", "docs/a.md")
    assert glob_matches(r"\{a,b\}", "{a,b}") and not glob_matches(r"\{a,b\}", "a")
    assert glob_matches(r"what\?", "what?") and not glob_matches(r"what\?", "whatx")


def test_a_bracket_expression_is_one_character_out_of_a_set():
    """ "Working with glob patterns in syntax": "To specify a single character out of a set of
    characters, use [ ]"; its rules have ``*``, ``?`` and ``\\`` match themselves inside the
    brackets, and ``-`` too when it comes first (or first after the negating ``!``). That a
    bracket never matches ``/`` is a guess (it is a character of a name component, like
    ``?``)."""
    assert glob_matches("v[12]", "v1") and not glob_matches("v[12]", "v3")
    assert glob_matches("v[0-9]", "v7") and not glob_matches("v[0-9]", "vx")
    assert glob_matches("v[!0-9]", "vx") and not glob_matches("v[!0-9]", "v7")
    assert glob_matches("[*?\\]", "*") and glob_matches("[*?\\]", "\\") and not glob_matches("[*?\\]", "a")
    assert glob_matches("[-a]", "-") and glob_matches("[!-a]", "b") and not glob_matches("[!-a]", "-")
    assert not glob_matches("a[!x]b", "a/b")


def test_a_double_star_slash_needs_a_directory_in_front():
    """ "Working with glob patterns in syntax": ``**`` is "zero or more characters ... crossing
    directory boundaries", so ``**/README.md`` needs the "/" it spells: a README.md at the
    root is not matched. The page gives no example either way: the rule as written, a guess."""
    assert glob_matches("**/README.md", "docs/README.md")
    assert glob_matches("**/README.md", "a/b/README.md")
    assert not glob_matches("**/README.md", "README.md")


def test_matching_is_case_sensitive():
    """ "Working with glob patterns in syntax" is silent on case; Git branch and tag names and
    file paths are case-sensitive, so the executor matches them so (a guess)."""
    assert not glob_matches("main", "Main")
    assert not glob_matches("*.MD", "readme.md")


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("{main,dev", "the { at position 0 is never closed"),
        ("{a,{b,c}}", "the { at position 3 opens a group inside the group at position 0"),
        ("release[0-9", "the [ at position 7 is never closed"),
        ("trailing\\", "it ends with a \\ that escapes nothing"),
        ("v[9-0]", "the range 9-0 at position 2 runs backwards"),
        ("a[/]b", "the bracket expression at position 1 holds a /"),
        ("[]", "the bracket expression at position 0 is empty"),
        ("", "it is empty"),
    ],
)
def test_a_malformed_pattern_is_refused_naming_it(pattern, problem):
    """ "Working with glob patterns in syntax": its rules say groups cannot be nested; an unclosed group or
    bracket, a dangling escape and a backwards range have no meaning in its grammar; the API
    reference ("GitBranchFilterCriteria") gives every pattern a "Minimum length of 1". Which
    of these CodePipeline itself refuses at UpdatePipeline is not documented: refusing them
    when the definition is read is the executor's guess."""
    with pytest.raises(GlobError) as raised:
        compile_glob(pattern)
    assert str(raised.value) == f"the glob pattern {pattern!r} is malformed: {problem}"
    assert raised.value.pattern == pattern


def test_outside_a_group_a_closing_brace_and_a_comma_are_plain_characters():
    """ "Working with glob patterns in syntax" gives ``}`` and ``,`` a meaning inside a group
    only; elsewhere they match themselves (a guess)."""
    assert glob_matches("a,b}", "a,b}")


def test_a_pattern_is_compiled_once():
    """The executor's own concern (no AWS page): the same pattern is the same compiled object."""
    assert compile_glob("release/**") is compile_glob("release/**")


def test_excludes_win_over_includes():
    """CodePipeline user guide, "Trigger filtering in the pipeline JSON (CLI)": its field list
    joins a filter's includes and excludes with AND, and the patterns of each list with OR;
    the CDK's GitPushFilter: "The branchesExcludes takes priority over the
    branchesIncludes"."""
    criteria = Criteria(includes=("release/**", "main"), excludes=("release/old/**",))
    assert criteria.selects("main") and criteria.selects("release/2")
    assert not criteria.selects("release/old/1")
    assert criteria.why("release/old/1") == "release/old/1 is excluded by 'release/old/**'"
    assert criteria.why("release/2") == "release/2 is included by 'release/**'"
    assert criteria.why("dev") == "dev matches none of the includes (release/**, main)"


def test_excludes_alone_select_every_other_name():
    """CodePipeline user guide, "Automate starting pipelines using triggers and filtering":
    each valid push filter is "Include or exclude". What excludes alone select is not said;
    the executor takes it as every name but the excluded ones (a guess)."""
    criteria = Criteria(excludes=("wip/**",))
    assert criteria.declared
    assert criteria.selects("main") and not criteria.selects("wip/x")
    assert criteria.why("main") == "main is included (no Includes) and matches none of the excludes (wip/**)"
    assert not Criteria().declared

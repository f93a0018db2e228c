"""checkov, loaded ahead of its work.

`make local` starts this script in checkov's own environment (.venv-audit) while `cdk
synth` is still writing the templates: loading checkov and its checks takes ~2 s, which
then costs nothing. It reads checkov's command-line arguments as one JSON line on stdin
and runs checkov exactly as the `checkov` script does; an empty line (the run ended
before its audit) ends it. It imports nothing of the project: it runs where only checkov
is installed.
"""

from __future__ import annotations

import json
import sys
import warnings

import checkov.cloudformation.checks.resource.registry  # noqa: F401  (the checks load now, not at run)
from checkov.main import Checkov


def main() -> int:
    line = sys.stdin.readline()
    if not line.strip():
        return 0
    arguments = json.loads(line)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=SyntaxWarning)  # as the `checkov` script does
        return int(Checkov(argv=arguments).run() or 0)


if __name__ == "__main__":
    sys.exit(main())

"""`make local`. `cdk synth` starts first: the emulator (moto) and the rest of the run
load (~2.5 s) while Node synthesizes, not before it."""

import gc
import sys

from local_pipeline.synth import AssemblyInUse, start_synth
from project.paths import ASSEMBLY

try:
    synthesis = start_synth(ASSEMBLY)
except AssemblyInUse as error:
    print(f"make local: {error}", file=sys.stderr)
    sys.exit(2)
try:
    from local_pipeline.run import main  # (after the synth has started, on purpose)

    code = main(synthesis=synthesis)
finally:
    synthesis.end()  # the run ended before it (an error, Ctrl-C): no synth left behind
# Everything is written and closed. The interpreter's last collections would walk the whole
# heap the run built (the emulated accounts): ~1 s of waiting for nothing; set it aside.
gc.freeze()
sys.exit(code)

"""`make local`. `cdk synth` starts first: the emulator (moto) and the rest of the run
load (~2.5 s) while Node synthesizes, not before it."""

import gc
import sys

from local_pipeline.synth import start_synth
from project.paths import ASSEMBLY

synthesis = start_synth(ASSEMBLY)

from local_pipeline.run import main  # noqa: E402  (after the synth has started, on purpose)

code = main(synthesis=synthesis)
# Everything is written and closed. The interpreter's last collections would walk the whole
# heap the run built (the emulated accounts): ~1 s of waiting for nothing; set it aside.
gc.freeze()
sys.exit(code)

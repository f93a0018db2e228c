"""A cloud assembly has one user at a time: a second live run is refused, naming the first;
what a killed run left synthesizing into it is ended before the next synth, and said."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import psutil
import pytest

from local_pipeline.synth import AssemblyInUse, claim_assembly
from tests.helpers import process_that_says_a_pid

_HOLD_WITH_A_SYNTH = """
import subprocess, sys, time
from pathlib import Path
from local_pipeline.executor.process_groups import ProcessGroup
from local_pipeline.synth import claim_assembly
claim = claim_assembly(Path(sys.argv[1]))
synth = subprocess.Popen(["sleep", "120"], process_group=0)
claim.add(ProcessGroup.of(synth, "cdk synth"))
print(synth.pid, flush=True)
time.sleep(120)
"""


def test_a_live_holder_is_named_and_a_killed_one_s_synth_is_ended(tmp_path: Path):
    outdir = tmp_path / "cdk.out"
    holder, synth = process_that_says_a_pid(_HOLD_WITH_A_SYNTH, str(outdir))
    try:
        with pytest.raises(AssemblyInUse, match=rf"^{outdir} is in use by another run \(process {holder.pid}\)"):
            claim_assembly(outdir)
        assert psutil.pid_exists(synth)

        holder.send_signal(signal.SIGKILL)  # `make local` killed during its synth
        holder.wait(timeout=10)
        assert psutil.Process(synth).status() != psutil.STATUS_ZOMBIE, "the synth runs on after its run died"

        claim = claim_assembly(outdir)
        assert claim.found == [
            f"cdk synth (process group {synth}), left running by an earlier run (process {holder.pid}) that was killed: ended"
        ]
        deadline = time.monotonic() + 5
        while psutil.pid_exists(synth) and psutil.Process(synth).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "the leftover synth still runs"
            time.sleep(0.05)
        claim.release()
        assert claim_assembly(outdir).found == [], "nothing is left the second time"
    finally:
        holder.kill()
        if psutil.pid_exists(synth):
            psutil.Process(synth).kill()

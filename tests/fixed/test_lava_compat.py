"""lava-nc 0.10.0 on Python 3.11+: fails unpatched, runs after ``import s5rf_deploy``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from s5rf_deploy import lava_compat


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=300)


@pytest.mark.skipif(not lava_compat.needed(), reason="lava-nc imports unpatched before Python 3.11")
def test_unpatched_lava_fails_to_import_on_this_python():
    proc = _python("import lava.magma.compiler.var_model")
    assert proc.returncode != 0
    assert "mutable default" in proc.stderr


# A spiking LIF -> Dense -> LIF chain.  The source fires every step (from step 1);
# Dense delivers each spike one step later; the target integrates with du = dv = 0.
LAVA_RUN = """
import json, sys
import numpy as np
import s5rf_deploy  # installs the compatibility hook
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.dense.process import Dense
from lava.proc.lif.process import LIF

fixed = sys.argv[1] == "fixed_pt"
src = LIF(shape=(2,), du=0, dv=0, bias_mant=np.array([200, 0] if fixed else [3.0, 0.0]), vth=2)
dense = Dense(weights=np.array([[5, 0], [0, 0]]))
dst = LIF(shape=(2,), du=0, dv=0, vth=10**6)
src.s_out.connect(dense.s_in)
dense.a_out.connect(dst.a_in)
try:
    src.run(condition=RunSteps(num_steps=10), run_cfg=Loihi2SimCfg(select_tag=sys.argv[1]))
    print(json.dumps({"u": dst.u.get().tolist(), "v": dst.v.get().tolist()}))
finally:
    src.stop()
"""


def _expected(fixed: bool) -> tuple[list[float], list[float]]:
    """Target LIF state after 10 steps, computed by hand from Lava's LIF equations."""
    u = v = 0
    for t in range(1, 11):
        arriving = 5 if t >= 2 else 0
        if fixed:  # 12-bit decay with Lava's implicit ds_offset = 1, rounding toward zero
            u = int(np.sign(u)) * ((abs(u) * (4096 - 1)) >> 12) + (arriving << 6)
        else:
            u = u + arriving
        v = v + u
    return [u, 0], [v, 0]


@pytest.mark.lava
@pytest.mark.parametrize("tag", ["floating_pt", "fixed_pt"])
def test_lava_network_runs_in_float_and_fixed_point(tag):
    proc = subprocess.run([sys.executable, "-c", LAVA_RUN, tag], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    u, v = _expected(tag == "fixed_pt")
    assert result == {"u": u, "v": v}


START_METHOD_FIRST = """
import multiprocessing, sys
multiprocessing.set_start_method("spawn")
from s5rf_deploy import lava_compat
if sys.argv[1] == "without-fix":  # keep only the dataclass fix
    lava_compat.PATCHES.pop("lava.magma.runtime.message_infrastructure.multiprocessing")
import lava.magma.core.process.process  # noqa: F401
print(multiprocessing.get_start_method())
"""


@pytest.mark.skipif(not lava_compat.needed(), reason="only relevant where the hook is installed")
def test_lava_imports_after_another_library_chose_a_start_method():
    plain = subprocess.run([sys.executable, "-c", START_METHOD_FIRST, "without-fix"], capture_output=True,
                           text=True)
    assert plain.returncode != 0 and "context has already been set" in plain.stderr
    patched = subprocess.run([sys.executable, "-c", START_METHOD_FIRST, "patched"], capture_output=True, text=True)
    assert patched.returncode == 0, patched.stderr[-2000:]
    assert patched.stdout.strip() == "fork"

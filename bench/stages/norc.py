"""DIAGNOSTIC ONLY: compile with NRT_incref/NRT_decref as empty functions (leaks; wrong for
real use) to bound what the loop's reference counting costs. Run with NUMBA_CACHE_DIR set to a
scratch folder so no real cache gets this code."""
import os, sys
from pathlib import Path
assert os.environ.get("NUMBA_CACHE_DIR", "").startswith("/tmp/"), "set NUMBA_CACHE_DIR=/tmp/..."
from numba.core import cgutils
from numba.core.runtime import nrtdynmod
from llvmlite import ir

def _empty(name):
    def define(module, atomic):
        fn = cgutils.get_or_insert_function(module, nrtdynmod.incref_decref_ty, name)
        b = ir.IRBuilder(fn.append_basic_block())
        b.ret_void()
    return define

if os.environ.get("NORC") == "1":
    nrtdynmod._define_nrt_incref = _empty("NRT_incref")
    nrtdynmod._define_nrt_decref = _empty("NRT_decref")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import loop_profile
sys.exit(loop_profile.main())

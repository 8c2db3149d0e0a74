"""Copy the engine's compiled modules into a package of their own: bench/_variants/<name>/
(loop, step, stock, units, books, prefix), imports rewritten to it; then edit the copy."""
import re, shutil, sys
from pathlib import Path
HERE = Path(__file__).resolve().parents[1] / "_variants"
name = sys.argv[1]
dst = HERE / name
if dst.exists():
    shutil.rmtree(dst)
dst.mkdir(parents=True)
(dst / "__init__.py").write_text("")
for m in ("loop", "step", "stock", "units", "books", "prefix"):
    t = Path(f"src/repm/simulate/{m}.py").read_text()
    t = re.sub(r"repm\.simulate\.(loop|step|stock|units|books|prefix)\b", name + r".\1", t)
    (dst / f"{m}.py").write_text(t)
print(dst)

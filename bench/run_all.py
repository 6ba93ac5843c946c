"""Run every benchmark in this folder, one after another, and print their lines."""

import subprocess
import sys
from pathlib import Path

here = Path(__file__).parent
status = 0
for script in sorted(here.glob("*.py")):
    if script.name == "run_all.py" or script.name.startswith("_"):  # _name.py: a helper the scripts share
        continue
    print(f"== {script.name}", flush=True)
    status |= subprocess.run([sys.executable, str(script), *sys.argv[1:]]).returncode
sys.exit(status)

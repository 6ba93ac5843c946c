"""Starts a grandchild (same process group) that sleeps; writes both pids to argv[1]; waits."""
import subprocess
import sys
import time

child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
with open(sys.argv[1], "w") as f:
    f.write(f"{__import__('os').getpid()} {child.pid}\n")
print("spawned", child.pid, flush=True)
time.sleep(3600)

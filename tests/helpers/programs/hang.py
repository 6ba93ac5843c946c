"""Reads the task, prints one line, then prints nothing ever again."""
import sys
import time

sys.stdin.read()
print("started", flush=True)
time.sleep(3600)

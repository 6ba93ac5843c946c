"""Ignores SIGTERM and SIGHUP, so only SIGKILL stops it."""
import signal
import sys
import time

signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGHUP, signal.SIG_IGN)
sys.stdin.read()
print("stubborn", flush=True)
time.sleep(3600)

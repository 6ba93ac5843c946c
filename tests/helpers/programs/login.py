"""Asks for a login (prints a URL) and waits forever, like an agent CLI without credentials."""
import sys

sys.stdin.read() if not sys.stdin.isatty() else None
print("Welcome to FakeAgent")
print("Login required: open https://login.example.com/device?code=ABCD-1234 to continue")
sys.stdout.flush()
while True:
    sys.stdin.readline() if sys.stdin.isatty() else __import__("time").sleep(3600)

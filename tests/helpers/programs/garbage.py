"""Prints binary junk and broken JSON, no answer."""
import os
import sys

sys.stdin.read()
os.write(1, bytes(range(256)) + b"\xff\xfe\x1b[31m\x1b]0;title")
print('\n{"result": "unterminated, "confidence": ')
print("CONFIDENCE: very high")

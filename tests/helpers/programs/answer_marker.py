"""Answers in plain text with a CONFIDENCE marker line."""
import sys

task = sys.stdin.read().strip()
print(f"The answer to {task} is 42")
print("REASONING: computed carefully")
print("CONFIDENCE: 0.7")

"""The check every agent's change must pass: `python3 test_calc.py`."""

from calc import add, mul

assert mul(3, 4) == 12
assert add(2, 3) == 5, f"add(2, 3) returned {add(2, 3)}, expected 5"
assert add(-1, 1) == 0
print("ok: 3 checks passed")

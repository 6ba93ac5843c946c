import pytest

from runner.spec.units import parse_cpu, parse_duration, parse_memory


@pytest.mark.parametrize(("text", "seconds"), [
    ("500ms", 0.5), ("30s", 30.0), ("5m", 300.0), ("1h", 3600.0), ("1h30m", 5400.0),
    (12, 12.0), (1.5, 1.5), ("2", 2.0), ("0.25s", 0.25),
])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("text", "size"), [
    ("512Mi", 512 * 1024**2), ("1Gi", 1024**3), ("1G", 10**9), ("100M", 10**8), ("64k", 64000),
    (4096, 4096), ("2048", 2048), ("1.5Gi", int(1.5 * 1024**3)),
])
def test_memory(text, size):
    assert parse_memory(text) == size


@pytest.mark.parametrize(("text", "cores"), [(1, 1.0), (0.5, 0.5), ("500m", 0.5), ("2", 2.0)])
def test_cpu(text, cores):
    assert parse_cpu(text) == cores


@pytest.mark.parametrize(("fn", "bad", "message"), [
    (parse_duration, "forever", "expected a duration such as 500ms, 30s, 5m or 1h, got 'forever'"),
    (parse_duration, True, "expected a duration such as 500ms, 30s, 5m or 1h, got True"),
    (parse_memory, "1XB", "expected a memory size such as 512Mi, 1Gi or 100M, got '1XB'"),
    (parse_cpu, "1 core", "expected a CPU amount such as 1, 0.5 or 500m, got '1 core'"),
])
def test_bad_units(fn, bad, message):
    with pytest.raises(ValueError) as exc:
        fn(bad)
    assert str(exc.value) == message


@pytest.mark.parametrize(("fn", "bad", "message"), [
    (parse_duration, "10000000h", "`10000000h` is more than the maximum, 30 days (720h)"),
    (parse_duration, 1e300, "`1e+300` is more than the maximum, 30 days (720h)"),
    (parse_duration, float("inf"), "`inf` is more than the maximum, 30 days (720h)"),
    (parse_duration, float("nan"), "`nan` is not a number"),
    (parse_duration, -1, "`-1` is negative"),
    (parse_memory, "17Ti", "`17Ti` is more than the maximum, 16Ti"),
    (parse_memory, 10**4000, "a number of about 4000 digits is more than the maximum, 16Ti"),
    (parse_cpu, "1025", "`1025` is more than the maximum, 1024 cores"),
])
def test_units_have_a_maximum(fn, bad, message):
    with pytest.raises(ValueError) as exc:
        fn(bad)
    assert str(exc.value) == message


def test_the_maxima_themselves_are_accepted():
    assert (parse_duration("720h"), parse_memory("16Ti"), parse_cpu(1024)) == (2592000.0, 16 * 1024**4, 1024.0)

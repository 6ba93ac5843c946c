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

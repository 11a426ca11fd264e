"""`make bench`'s runner: every benchmark runs, a miss anywhere fails the whole, the summary names it."""

from scripts import bench_all
from scripts.bench_all import Bench


def write(directory, name: str, output: str, status: int) -> Bench:
    (directory / name).write_text(f"import sys\nprint({output!r})\nsys.exit({status})\n")
    return Bench(name, f"what {name} measures", "the app's", 30)


def test_every_benchmark_runs_and_a_miss_fails_the_whole(tmp_path, capsys):
    benches = (
        write(tmp_path, "first.py", "  target: overhead <= 2 ms: 1.5 ms ok", 0),
        write(tmp_path, "second.py", "  target: after <= 50 ms per call: 63.00 ms MISSED", 1),
        write(tmp_path, "third.py", "third ran", 0),
    )

    status = bench_all.main(benches, tmp_path)

    out = capsys.readouterr().out
    assert status == 1
    assert out.startswith("make bench: 3 benchmarks, about 2 minutes")
    assert "third ran" in out  # the miss before it did not stop it
    table = out.split("summary")[1]
    assert "first.py   pass" in table
    assert "second.py  FAIL (1)" in table
    assert "0 ok, 1 missed" in table
    assert "MISSED in second.py: target: after <= 50 ms per call: 63.00 ms MISSED" in table
    assert out.rstrip().endswith("FAILED: second.py")


def test_all_passing_exits_zero(tmp_path, capsys):
    benches = (write(tmp_path, "only.py", "target: ratio <= 1.0: 0.9 ok", 0),)

    assert bench_all.main(benches, tmp_path) == 0
    assert "every benchmark passed" in capsys.readouterr().out


def test_only_lines_with_a_target_and_a_verdict_count_as_targets():
    assert bench_all.is_target_line("  target: admitted == limit: ok")
    assert bench_all.is_target_line("  target: x <= 5: 7 MISSED")
    assert bench_all.is_target_line("zip size:  8.66 MB   (target < 20 MB)  ok")
    assert not bench_all.is_target_line("zip size:  12.3 MB   (target < 20 MB)")
    assert not bench_all.is_target_line("ok, seeded 100,000 items")
    assert not bench_all.is_target_line("the target's token: ok so far, then more")

"""The benchmark runner waits for a quiet machine before each figure, and says when it could not."""

from bench import quiet

STAT_LINE = "cpu  100 5 50 800 40 0 5 0 0 0\ncpu0 50 2 25 400 20 0 2 0 0 0\n"


def test_cpu_times_count_iowait_as_idle(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text(STAT_LINE)
    assert quiet._cpu_times(stat) == (840, 1000)


def test_unreadable_cpu_times_do_not_hold_the_run_up(tmp_path):
    assert quiet._cpu_times(tmp_path / "missing") is None
    said = []
    result = quiet.settle(said.append, stat=tmp_path / "missing", timeout_s=5)
    assert result == {"waited_s": 0.0, "idle_share": None, "quiet": True}
    assert said == []


def test_settle_samples_until_the_cpus_are_idle_enough(monkeypatch):
    samples = iter([0.20, 0.50, 0.90, 0.95])
    monkeypatch.setattr(quiet, "idle_share", lambda *_args: next(samples))
    said = []
    result = quiet.settle(said.append, timeout_s=60)
    assert (result["idle_share"], result["quiet"]) == (0.9, True)
    assert next(samples) == 0.95  # stopped sampling at the first quiet one
    assert said == []


def test_settle_gives_up_after_its_timeout_and_says_the_next_figure_may_suffer(monkeypatch):
    monkeypatch.setattr(quiet, "idle_share", lambda *_args: 0.30)
    said = []
    result = quiet.settle(said.append, timeout_s=0)
    assert (result["idle_share"], result["quiet"]) == (0.3, False)
    assert len(said) == 1 and "still busy" in said[0] and "30% idle" in said[0]


def test_idle_share_reads_two_samples_of_the_real_counters():
    share = quiet.idle_share(sample_s=0.05)
    assert share is None or 0.0 <= share <= 1.0

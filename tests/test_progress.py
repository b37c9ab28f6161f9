"""Progress outside a Prefect run: no artifact, and a bar on stderr only when turned on."""

from flows.progress import Progress, show_bars


def test_a_bar_is_drawn_only_when_turned_on(capsys):
    try:
        show_bars(True)
        p = Progress("k", "things done", 3, unit="thing")
        assert p.artifact_id is None  # not in a flow or task run: nothing to attach an artifact to
        p.advance(1)
        p.advance(1, note="halfway")
        p.finish("all")
        err = capsys.readouterr().err
        assert "things done: 100%" in err and "3/3" in err and "all" in err
    finally:
        show_bars(False)
    q = Progress("k", "quiet", 2)
    q.advance(2)
    q.finish()
    assert capsys.readouterr().err == "" and q.percent == 100.0 and q.describe() == "quiet: 2 of 2"


def test_a_plan_that_shrank_still_ends_at_one_hundred_percent():
    p = Progress("k", "dialogues", 10)
    p.advance(4)
    assert p.percent == 40.0
    p.finish()
    assert p.percent == 100.0 and p.done == 10
    empty = Progress("k", "nothing", 0)
    assert empty.percent == 100.0

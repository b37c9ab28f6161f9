"""The run report's plots render for an empty warehouse and for many categories."""

import io

from PIL import Image

from flows.report_plots import plots_markdown, report_plots


def sizes(plots):
    return {name: Image.open(io.BytesIO(png)).size for name, png in plots.items()}


def test_an_empty_warehouse_still_gets_three_plots():
    plots = report_plots({"categories": {}, "funnel": [], "cost_by_role": {}, "clean": 0})
    assert set(sizes(plots)) == {"category_mix.png", "funnel.png", "cost_per_clean_instance.png"}
    text = plots_markdown(plots, inline=False)
    assert "![Category mix](category_mix.png)" in text and "base64" not in text


def test_many_categories_show_the_largest_and_grow_the_figure():
    few = report_plots({"categories": {"A": (3, 1)}, "funnel": [("format", 3, 1)], "cost_by_role": {"user": (0.5, 2, 0)}, "clean": 1})
    many = report_plots({"categories": {f"C{i:02d}": (i, i // 2) for i in range(40)}, "funnel": [("format", 3, 1)],
                         "cost_by_role": {"user": (0.5, 2, 0)}, "clean": 1})
    (w1, h1), (w2, h2) = sizes(few)["category_mix.png"], sizes(many)["category_mix.png"]
    assert w1 == w2 and h2 > h1 * 2  # 20 rows shown (the top 20), not 40 and not 1
    assert h2 < h1 * 20

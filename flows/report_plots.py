"""The run report's plots as PNG: the category mix, the curation funnel and the cost per clean
instance. In: the numbers of ``warehouse.reports.report_figures``. Out: PNG bytes (matplotlib's Agg
canvas, no display and no global pyplot state, so flows may draw from any thread)."""

from __future__ import annotations

import base64
import io
from typing import Any

WIDTH_IN, DPI = 7.0, 80
BLUE, ORANGE, GREY = "#2171b5", "#fd8d3c", "#bdbdbd"


def _figure(rows: int, width_in: float = WIDTH_IN) -> Any:
    """An Agg figure tall enough for ``rows`` horizontal bars."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, 1.2 + 0.32 * max(rows, 1)), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _png_of(fig: Any) -> bytes:
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def _png(draw: Any, rows: int) -> bytes:
    """One plot: ``draw(ax)`` on a figure sized for ``rows`` bars."""
    fig = _figure(rows)
    ax = fig.add_subplot()
    draw(ax)
    ax.spines[["top", "right"]].set_visible(False)
    return _png_of(fig)


def category_mix_png(categories: dict[str, tuple[int, int]], top: int = 20) -> bytes:
    """Horizontal bars per category: dialogues simulated and clean instances (the ``top`` largest)."""
    rows = sorted(categories.items(), key=lambda kv: (-kv[1][0], kv[0]))[:top][::-1]

    def draw(ax: Any) -> None:
        y = range(len(rows))
        ax.barh([i + 0.2 for i in y], [d for _, (d, _) in rows], height=0.4, color=GREY, label="dialogues")
        ax.barh([i - 0.2 for i in y], [c for _, (_, c) in rows], height=0.4, color=BLUE, label="clean instances")
        ax.set_yticks(list(y), [name[:28] for name, _ in rows])
        ax.set_title("Category mix" + (f" (top {top} of {len(categories)})" if len(categories) > top else ""))
        ax.legend(loc="lower right", fontsize="small")

    return _png(draw, len(rows))


def funnel_png(funnel: list[tuple[str, int, int]]) -> bytes:
    """Per curation stage in order: dialogues it decided and how many it kept."""
    def draw(ax: Any) -> None:
        y = range(len(funnel))[::-1]
        ax.barh(list(y), [n for _, n, _ in funnel], color=GREY, label="decided")
        ax.barh(list(y), [k for _, _, k in funnel], color=BLUE, label="kept")
        for yi, (_, n, k) in zip(y, funnel, strict=True):
            ax.text(k, yi, f" {k} of {n}", va="center", fontsize="small")
        ax.set_yticks(list(y), [stage for stage, _, _ in funnel])
        ax.set_xlim(0, 1.25 * max([n for _, n, _ in funnel] or [1]))
        ax.set_title("Curation funnel (current config)")
        ax.legend(loc="lower right", fontsize="small")

    return _png(draw, len(funnel))


def cost_png(cost_by_role: dict[str, tuple[float, int, int]], clean: int) -> bytes:
    """Per clean instance, by LLM role and in all: the USD spent (left; roles whose calls have no
    known price say how many calls that is) and the LLM calls made (right: what a local model costs
    in time when its price is 0)."""
    labels = [*sorted(cost_by_role), "all"]
    usd = [cost_by_role[r][0] for r in labels[:-1]]
    calls = [cost_by_role[r][1] for r in labels[:-1]]
    unknown = [cost_by_role[r][2] for r in labels[:-1]]
    usd, calls, unknown = [*usd, sum(usd)], [*calls, sum(calls)], [*unknown, sum(unknown)]
    per = (lambda xs: [x / clean for x in xs]) if clean else (lambda xs: [0.0 for _ in xs])
    y = list(range(len(labels)))[::-1]
    colours = [ORANGE] * (len(labels) - 1) + [BLUE]
    fig = _figure(len(labels), WIDTH_IN * 1.4)
    left, right = fig.subplots(1, 2, sharey=True)
    for ax, values, fmt, title in ((left, per(usd), "${:.4f}", "USD"), (right, per(calls), "{:.1f}", "LLM calls")):
        ax.barh(y, values, color=colours)
        for yi, v, u in zip(y, values, unknown, strict=True):
            note = f" (+{u} calls of unknown price)" if u and ax is left else ""
            ax.text(v, yi, " " + fmt.format(v) + note, va="center", fontsize="small")
        ax.set_xlim(0, 1.8 * (max(values) or 1.0))
        ax.set_title(f"{title} per clean instance")
        ax.spines[["top", "right"]].set_visible(False)
    left.set_yticks(y, labels)
    fig.suptitle(f"Cost per clean instance ({clean} clean)" if clean else "Cost per clean instance (no clean instance yet)")
    return _png_of(fig)


def report_plots(figures: dict[str, Any]) -> dict[str, bytes]:
    """The three plots by file name."""
    return {"category_mix.png": category_mix_png(figures["categories"]), "funnel.png": funnel_png(figures["funnel"]),
            "cost_per_clean_instance.png": cost_png(figures["cost_by_role"], figures["clean"])}


TITLES = {"category_mix.png": "Category mix", "funnel.png": "Curation funnel",
          "cost_per_clean_instance.png": "Cost per clean instance"}


def plots_markdown(plots: dict[str, bytes], inline: bool) -> str:
    """A "Plots" section: each PNG inline as a data URI (the Prefect UI shows it with no file
    server) or, for a report file, linked by its file name beside it."""
    lines = ["## Plots", ""]
    for name, png in plots.items():
        src = f"data:image/png;base64,{base64.b64encode(png).decode('ascii')}" if inline else name
        lines += [f"![{TITLES.get(name, name)}]({src})", ""]
    return "\n".join(lines)

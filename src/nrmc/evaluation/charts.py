"""Report charts drawn with matplotlib and returned as inline SVG text.

Every chart carries a title, axis units and a source line, so a page printed on its own still
says what it shows and where the numbers came from. Text stays text in the SVG
(``svg.fonttype = none``): the browser renders Chinese names with its own fonts and the file
stays small.
"""

from __future__ import annotations

import io
import math
import re
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .impact import BeforeAfter, StaggeredDiD  # noqa: E402

FONTS = ["Noto Sans CJK SC", "Noto Serif CJK SC", "DejaVu Sans"]
STYLE: dict[Any, Any] = {"svg.fonttype": "none", "svg.hashsalt": "nrmc",  # same chart, same SVG
         "font.family": FONTS, "font.size": 9,
         "axes.spines.top": False, "axes.spines.right": False}


def _svg(fig: Figure, source: str) -> str:
    ax = fig.axes[0]
    # below the tick labels and the x-axis title, whatever the figure height
    ax.annotate(f"Source: {source}", xy=(0, 0), xycoords="axes fraction", xytext=(-30, -40),
                textcoords="offset points", fontsize=7, color="#555555", ha="left", va="top")
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    text = text[text.index("<svg"):]  # drop the XML prolog and doctype: inline in HTML
    return re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.S)


def event_study_svg(result: StaggeredDiD, *, title: str, source: str) -> str:
    """Event-time effects as % change in outflow (exp(θ) − 1) with their 95% intervals."""
    source = source + ("; intervals from placebo centres (Conley–Taber)"
                       if result.inference == "placebo" else f"; {result.method}"
                       if result.method else "; errors clustered by province")
    es = result.event_study
    pct = lambda v: np.expm1(np.asarray(v, float)) * 100  # noqa: E731
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7, 3.4))
        est, low, high = pct(es["estimate"]), pct(es["ci_low"]), pct(es["ci_high"])
        pre = es["event_time"] < 0
        for mask, colour, label in ((pre, "#7f7f7f", "before opening"),
                                    (~pre, "#c0392b", "after opening")):
            e = es["event_time"][mask]
            err = np.vstack([est[mask] - low[mask], high[mask] - est[mask]])
            ax.errorbar(e, est[mask], yerr=np.nan_to_num(err), fmt="o", color=colour,
                        capsize=3, label=label)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.axvline(-0.5, color="#999999", linestyle="--", linewidth=0.8)
        ax.set_xlabel("Years since the centre opened (−1 = base year)")
        ax.set_ylabel("Change in outflow, % (95% CI)")
        ax.set_title(title, loc="left", fontsize=10)
        ax.legend(frameon=False, fontsize=8, loc="lower left")
        ax.set_xticks(es["event_time"])
        return _svg(fig, source)


def before_after_svg(result: BeforeAfter, *, title: str, unit: str, source: str,
                     opening_year: int | None, percent: bool = True) -> str:
    """One metric by year, the baseline year marked and the opening year as a dashed line."""
    table = result.table
    scale = 100 if percent else 1
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7, 2.8))
        ax.plot(table["year"], table["value"] * scale, marker="o", color="#2c6fbb")
        base = table[table["year"] == result.baseline_year]
        ax.scatter(base["year"], base["value"] * scale, s=80, facecolors="none",
                   edgecolors="black", zorder=3, label=f"baseline {result.baseline_year}")
        if opening_year is not None:
            ax.axvline(opening_year - 0.5, color="#c0392b", linestyle="--", linewidth=0.8,
                       label=f"centre opens {opening_year}")
        ax.set_xlabel("Year")
        ax.set_ylabel(unit)
        ax.set_xticks(table["year"])
        ax.set_title(title, loc="left", fontsize=10)
        ax.legend(frameon=False, fontsize=8)
        return _svg(fig, source)


def origins_map_svg(origins: pd.DataFrame, regions: pd.DataFrame, *, site: tuple[float, float],
                    title: str, source: str) -> str:
    """Bubble map: patients by prefecture of residence, on the prefecture centroids of China.

    No boundary file is needed: every prefecture centroid is drawn as a faint dot, which is
    enough to read the country's shape and how far the centre reaches. Names are listed in a
    table beside the map (labels on a dense cluster would overprint each other). Rows with a
    true ``withheld`` column (small-cell suppression) are drawn as open circles of one fixed
    size: a bubble's area in the SVG would otherwise give its count back.
    """
    reg = regions.copy()
    reg["code"] = reg["code"].astype(str).str.zfill(6)
    prefectures = reg[reg["level"].astype(str).isin(["prefecture"])]
    located = origins.merge(reg[["code", "lon", "lat"]], left_on="origin", right_on="code",
                            how="inner")
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7, 5))
        ax.scatter(prefectures["lon"], prefectures["lat"], s=2, color="#cccccc")
        hidden = (located["withheld"].astype(bool) if "withheld" in located
                  else pd.Series(False, index=located.index))
        shown = located[~hidden]
        if len(shown):
            sizes = shown["discharges"].to_numpy(float)
            ax.scatter(shown["lon"], shown["lat"], s=8 + 600 * sizes / sizes.max(),
                       color="#2c6fbb", alpha=0.55, edgecolors="white", linewidths=0.4)
        if hidden.any():
            ax.scatter(located.loc[hidden, "lon"], located.loc[hidden, "lat"], s=14,
                       facecolors="none", edgecolors="#2c6fbb", linewidths=0.8,
                       label="withheld (small count)")
        ax.scatter([site[0]], [site[1]], marker="*", s=160, color="#c0392b", zorder=4,
                   label="centre")
        ax.set_xlabel("Longitude (°E)")
        ax.set_ylabel("Latitude (°N)")
        ax.set_aspect(1 / math.cos(math.radians(35)))
        ax.set_title(title, loc="left", fontsize=10)
        ax.legend(frameon=False, fontsize=8, loc="lower right")
        return _svg(fig, source)

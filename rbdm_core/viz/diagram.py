"""The method, the paper's Figure 1, as a plotly figure labelled with a run's values (`method_diagram`)."""

from __future__ import annotations

import html
import textwrap
from typing import Mapping, Sequence

from ..masking import MASKS
from .render import _go


#: the chapter of this book that carries out each step of the method
METHOD_CHAPTERS: dict[str, int] = {"data": 1, "trainer": 2, "relevance": 3, "gaze": 4, "masks": 5, "trainee": 6}


def _box_text(title: str, lines: Sequence[str], width: int) -> str:
    """A bold title and body lines, each wrapped at `width` characters (plotly's `<br>`)."""
    body = [w for ln in lines for w in textwrap.wrap(ln, width)]
    return "<br>".join([f"<b>{html.escape(title, quote=False)}</b>"] + [html.escape(w, quote=False) for w in body])


def method_diagram(
    *,
    trainer_candidates: Sequence[str],
    mask_types: Sequence[str],
    trainee: str,
    switch_epoch: int,
    relevance_method: str = "deep_taylor",
    source: str = "AffectNet",
    target: str = "FERPlus",
    gaze_images: str = "CK+",
    chapters: Mapping[str, int] | None = None,
    title: str | None = "The method: relevance-based data masking",
):
    """The pipeline of the paper's Figure 1 as a plotly figure of boxes and arrows, labelled with a
    run's values: the Trainer candidates, the relevance method, the mask types (each with its
    description from `rbdm_core.masking.MASKS`), the Trainee and the epoch at which the
    `*-then-unmasked` variants switch to unmasked images. Circled numbers are the paper's steps:
    (1) the Trainer classifies, (2) its decision is explained, (3) masks are made, (4) the Trainee
    learns on masked images, (5) it is validated on unmasked ones. The gaze study (human vs model
    heatmaps, which also gives the perceptive mask its number of fixations) is drawn below.
    chapters: step -> chapter number (default `METHOD_CHAPTERS`). Returns a plotly Figure."""
    # long: one drawing on one coordinate grid: each box and arrow is placed from the positions of
    # the ones before it, so the lines read in the order the figure is drawn, top to bottom
    go = _go()
    ch = dict(METHOD_CHAPTERS, **(chapters or {}))
    cands, masks = [str(c) for c in trainer_candidates], [str(m) for m in mask_types]
    if not cands:
        raise ValueError("method_diagram: trainer_candidates is empty")
    if not masks:
        raise ValueError("method_diagram: mask_types is empty")
    colors = {"data": ("#f2f2f2", "#7f7f7f"), "trainer": ("#dbe9f6", "#1f77b4"), "masks": ("#fde7d3", "#ff7f0e"),
              "trainee": ("#dcf2dc", "#2ca02c"), "gaze": ("#ebe3f3", "#9467bd")}
    fig = go.Figure()

    def box(x0, x1, y0, y1, kind, text):
        fill, line = colors[kind]
        fig.add_shape(type="rect", x0=x0, x1=x1, y0=y0, y1=y1, fillcolor=fill, line={"color": line, "width": 1.5},
                      layer="below")
        fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2, text=text, showarrow=False,
                           font={"size": 10}, align="center")

    def arrow(x0, y0, x1, y1, label=None, label_at=(0.5, 0.5), color="#444"):
        fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y", text="",
                           showarrow=True, arrowhead=2, arrowsize=1.2, arrowwidth=1.5, arrowcolor=color)
        if label:
            fx, fy = label_at
            fig.add_annotation(x=x0 + fx * (x1 - x0), y=y0 + fy * (y1 - y0), text=label, showarrow=False,
                               font={"size": 10, "color": color}, bgcolor="rgba(255,255,255,0.85)")

    # top row: source corpus -> (1) Trainer -> (2) relevance maps -> (3) masks
    box(0, 17, 42, 60, "data", _box_text(source, ["source corpus", f"chapter {ch['data']}"], 16))
    box(22, 42, 42, 60, "trainer", _box_text("① Trainer", [
        f"candidates: {', '.join(cands)}", "kept: the best validation macro-F1", f"chapter {ch['trainer']}"], 22))
    box(47, 65, 42, 60, "trainer", _box_text("② Relevance maps", [
        f"method: {relevance_method}", "explaining the predicted class of each target image",
        f"chapter {ch['relevance']}"], 20))
    fig.add_shape(type="rect", x0=69, x1=100, y0=40.5, y1=61.5, line={"color": colors["masks"][1], "width": 1,
                                                                      "dash": "dot"}, layer="below")
    fig.add_annotation(x=84.5, y=63.5, text=f"<b>③ Masks</b> (chapter {ch['masks']})", showarrow=False,
                       font={"size": 11})
    h = (60 - 42 - 0.8 * (len(masks) - 1)) / len(masks)
    mask_y = {}  # mask type -> the middle of its box
    for k, m in enumerate(masks):
        y1 = 60 - k * (h + 0.8)
        mask_y[m] = y1 - h / 2
        desc = MASKS[m].description if m in MASKS else ""
        box(70, 99, y1 - h, y1, "masks", _box_text(m, [desc] if desc else [], 33))
    arrow(17, 51, 22, 51)
    arrow(42, 51, 47, 51)
    arrow(65, 51, 69, 51)

    # middle row: target corpus -> relevance maps and -> (4) Trainee <- masks
    box(0, 17, 21, 35, "data", _box_text(target, ["target corpus", f"chapter {ch['data']}"], 16))
    box(70, 99, 21, 36, "trainee", _box_text(f"④ Trainee: {trainee}", [
        f"masked images until epoch {switch_epoch}, then unmasked (also: masked throughout, and no mask)",
        "⑤ always validated on unmasked images", f"chapter {ch['trainee']}"], 30))
    arrow(17, 32, 50, 42, "images to explain", label_at=(0.45, 0.45))
    arrow(17, 26, 70, 26, "unmasked images", label_at=(0.3, 0.0))
    arrow(84.5, 40.5, 84.5, 36, "masked images")

    # bottom row: the gaze study, compared with the model's heatmaps
    box(0, 17, 0, 14, "data", _box_text(gaze_images, ["gaze study images", f"chapter {ch['data']}"], 16))
    box(22, 42, 0, 14, "gaze", _box_text("Gaze study", [
        "annotators' fixations -> gaze heatmaps", f"chapter {ch['gaze']}"], 21))
    box(47, 65, 0, 14, "gaze", _box_text("Human vs model", [
        "heatmaps compared: overlap, Spearman, cosine distance", f"chapter {ch['gaze']}"], 19))
    arrow(17, 7, 22, 7)
    arrow(42, 7, 47, 7)
    arrow(60, 42, 60, 14, "model heatmaps:<br>n most relevant pixels", label_at=(0.5, 0.28))
    if "perceptive" in mask_y:  # the gaze study gives the perceptive mask its number of fixations n
        y = mask_y["perceptive"]
        fig.add_shape(type="path", path=f"M 32 14 L 32 17.5 L 102.5 17.5 L 102.5 {y} L 100.5 {y}",
                      line={"color": colors["gaze"][1], "width": 1.5, "dash": "dash"}, layer="below")
        arrow(100.6, y, 99, y, color=colors["gaze"][1])
        fig.add_annotation(x=84.5, y=17.5, text="n = mean fixations per image (perceptive mask)", showarrow=False,
                           font={"size": 10, "color": colors["gaze"][1]}, bgcolor="white")

    fig.update_xaxes(visible=False, range=[-0.5, 103.5], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-0.5, 65.5], fixedrange=True)
    fig.update_layout(title=title, height=560, showlegend=False, hovermode=False,
                      margin={"l": 10, "r": 10, "t": 50 if title else 10, "b": 10})
    return fig

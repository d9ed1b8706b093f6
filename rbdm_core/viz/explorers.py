"""Mask explorers: `explorer` (precomputed states in one plotly figure that works in static
HTML) and `live_explorer` (an ipywidgets control for a live kernel)."""

from __future__ import annotations

import base64
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..masking import apply_mask
from .images import _as_display_image, png_data_uri
from .render import _go


def _label(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v):g}"
    return str(v)


def drop_overlay(mask: np.ndarray, fill: int = 0) -> np.ndarray:
    """(H, W) bool mask (True = kept) -> (H, W, 4) uint8 RGBA, opaque grey `fill` where dropped."""
    m = np.asarray(mask, dtype=bool)
    out = np.zeros(m.shape + (4,), np.uint8)
    out[..., :3] = np.uint8(fill)
    out[..., 3] = np.where(m, 0, 255)
    return out


#: the explorer's slider label per mask type (`explorer`'s default `slider_labels`)
SLIDER_LABELS = {"negative": "share of pixels removed", "perceptive": "pseudo-fixations n",
                 "positive": "share of pixels kept", "random": "share of pixels kept",
                 "mean": "the mean mask has no setting"}

#: what the explorer's three rows show (their labels, top to bottom)
EXPLORER_ROWS = ("image", "mask (white = kept)", "masked image")


def explorer(
    images: np.ndarray,
    states: Mapping[tuple, np.ndarray],
    controls: Sequence[str] | None = None,
    *,
    titles: Sequence[str] | None = None,
    title: str | None = None,
    cell_px: int = 130,
    fill: int = 0,
    slider_labels: Mapping[str, str] | None = None,
):
    """A mask explorer precomputed into ONE plotly figure that works in static HTML.

    images: (N, H, W[, C]) uint8, shown as columns: the image, its mask (white = kept) and the
            masked image.
    states: {key tuple -> (N, H, W) bool masks}; all keys have the same length L. The last key
            component is the slider (e.g. the fraction or n); the first L-1 components are combined
            into one dropdown (e.g. "deep_taylor / negative"); choosing an entry swaps in that
            entry's slider. Keys with L = 1 give a slider only.
    controls: names of the L key components (labels of the dropdown and the slider).
    slider_labels: {key component (e.g. a mask type): the slider's label while a combo holding it
            is chosen} (default `SLIDER_LABELS`; other combos: the last control's name). Choosing
            another combo keeps the slider's position; a combo with one value (the mean mask) keeps
            the slider, with empty steps, so the figure never changes size.
    Returns a plotly Figure (show it with `show(fig, name)`); everything is PNG data URIs, so keep
    it small (e.g. 6 images x 15 states of 48 x 48 is ~0.3 MB).
    """
    # long: the traces, the dropdown's and the slider's steps index one shared list of traces
    # (one per state and column); kept together so that the index arithmetic is written once
    go = _go()
    from plotly.subplots import make_subplots  # deferred: plotly, slow to import

    imgs = np.asarray(images)
    if imgs.ndim == 3:
        imgs = imgs[..., None]
    if imgs.ndim != 4 or imgs.dtype != np.uint8:
        raise ValueError(f"explorer: images must be (N, H, W[, C]) uint8, got {imgs.shape} {imgs.dtype}")
    if not states:
        raise ValueError("explorer: no states given")
    keys = [k if isinstance(k, tuple) else (k,) for k in states]
    lens = {len(k) for k in keys}
    if len(lens) != 1:
        raise ValueError(f"explorer: state keys must all have the same length, got lengths {sorted(lens)}")
    depth = lens.pop()
    controls = list(controls) if controls is not None else [f"key{i}" for i in range(depth)]
    slider_labels = dict(SLIDER_LABELS if slider_labels is None else slider_labels)
    if len(controls) != depth:
        raise ValueError(f"explorer: {len(controls)} control names for keys of length {depth}")
    n = len(imgs)
    norm = {}
    for key, masks in zip(keys, states.values()):
        m = np.asarray(masks, dtype=bool)
        if m.shape != imgs.shape[:3]:
            raise ValueError(f"explorer: masks for state {key} have shape {m.shape}, expected {imgs.shape[:3]}")
        norm[key] = m
    combos: list[tuple] = list(dict.fromkeys(k[:-1] for k in keys))
    slider_vals = {c: [k[-1] for k in keys if k[:-1] == c] for c in combos}

    fig = make_subplots(rows=3, cols=n, horizontal_spacing=0.01, vertical_spacing=0.03,
                        subplot_titles=list(titles) if titles else None)
    title_h = 18 if titles else 0
    for i in range(n):
        fig.add_trace(go.Image(source=png_data_uri(_as_display_image(imgs[i])), hoverinfo="skip"), row=1, col=i + 1)

    def sources(key):
        # mask: white = kept; the masked image is the original under an overlay that is opaque
        # `fill` where the mask drops a pixel: both are two-level PNGs of a few hundred bytes
        m = norm[key]
        return [png_data_uri(m[i]) for i in range(n)], [png_data_uri(drop_overlay(m[i], fill)) for i in range(n)]

    cache = {k: sources(k) for k in keys}
    # Every combo has its own row-2 mask traces and row-3 overlay traces, shown one combo at a time
    # (opacity 1; the others 0: a hidden image trace that is restyled makes plotly.js draw NaN sizes):
    # the slider restyles every combo's traces at once (a combo with fewer values keeps its last),
    # so choosing another combo in the menu keeps the slider where it is.
    n_steps = max(len(v) for v in slider_vals.values())

    def at(combo, k):
        vals = slider_vals[combo]
        return combo + (vals[min(k, len(vals) - 1)],)

    for i in range(n):
        fig.add_trace(go.Image(source=png_data_uri(_as_display_image(imgs[i])), hoverinfo="skip"), row=3, col=i + 1)
    combo_idx = {}
    for j, combo in enumerate(combos):
        ms, mi = cache[at(combo, 0)]
        base = len(fig.data)
        for i in range(n):
            fig.add_trace(go.Image(source=ms[i], hoverinfo="skip", opacity=1.0 if j == 0 else 0.0), row=2, col=i + 1)
        for i in range(n):
            fig.add_trace(go.Image(source=mi[i], hoverinfo="skip", opacity=1.0 if j == 0 else 0.0), row=3, col=i + 1)
        combo_idx[combo] = list(range(base, base + 2 * n))
    state_idx = [t for combo in combos for t in combo_idx[combo]]

    def step_labels(combo):
        vals = slider_vals[combo]
        if len(vals) == 1:  # no knob (e.g. the mean mask): the slider stays, its steps say nothing
            return [""] * n_steps
        return [_label(vals[min(k, len(vals) - 1)]) for k in range(n_steps)]

    def prefix(combo):
        for c in reversed(combo):
            if isinstance(c, str) and c in slider_labels:
                return slider_labels[c] + (": " if len(slider_vals[combo]) > 1 else "")
        return f"{controls[-1]}: " if len(slider_vals[combo]) > 1 else "no setting"

    steps = []
    for k, label in enumerate(step_labels(combos[0])):
        src = [u for combo in combos for part in cache[at(combo, k)] for u in part]
        steps.append({"label": label, "method": "restyle", "args": [{"source": src}, state_idx]})
    slider = {"active": 0, "steps": steps, "currentvalue": {"prefix": prefix(combos[0])},
              "pad": {"t": 30}, "len": 0.9, "x": 0.05}
    layout: dict[str, Any] = {"sliders": [slider]}
    if depth > 1:
        buttons = []
        n_traces = len(fig.data)
        for combo in combos:
            opacity = [1.0] * n_traces
            for other in combos:
                for t in combo_idx[other]:
                    opacity[t] = 1.0 if other == combo else 0.0
            relabel = {"sliders[0].currentvalue.prefix": prefix(combo)}
            relabel.update({f"sliders[0].steps[{k}].label": lab for k, lab in enumerate(step_labels(combo))})
            buttons.append({"label": " / ".join(_label(c) for c in combo), "method": "update",
                            "args": [{"opacity": opacity}, relabel]})
        # above the column titles (which sit just above row 1), never over them
        layout["updatemenus"] = [{"buttons": buttons, "direction": "down", "active": 0, "showactive": True,
                                  "x": 0.0, "xanchor": "left", "y": 1.0, "yanchor": "bottom",
                                  "pad": {"b": 8 + title_h}}]
        layout["annotations"] = list(fig.layout.annotations) + [{
            "text": " / ".join(controls[:-1]), "showarrow": False, "xref": "paper", "yref": "paper",
            "x": 1.0, "xanchor": "right", "y": 1.0, "yanchor": "bottom", "yshift": 12 + title_h}]
    # every row says what it shows, left of its first image
    row_labels = []
    for r, text in enumerate(EXPLORER_ROWS, start=1):
        yd = fig.get_subplot(r, 1).yaxis.domain
        row_labels.append({"text": text, "textangle": -90, "showarrow": False, "xref": "paper", "yref": "paper",
                           "x": 0.0, "xanchor": "right", "xshift": -4, "y": (yd[0] + yd[1]) / 2,
                           "yanchor": "middle", "font": {"size": 11}})
    layout["annotations"] = list(layout.get("annotations", fig.layout.annotations)) + row_labels
    fig.update_layout(**layout)
    frame = {"showticklabels": False, "ticks": "", "showgrid": False, "zeroline": False,
             "showline": True, "mirror": True, "linecolor": "#999999"}
    fig.update_xaxes(**frame)  # a frame, so a white (kept) mask border is visible on white paper
    fig.update_yaxes(**frame)
    # top to bottom: the title, the dropdown, the column titles, the images
    top = (40 if title else 0) + (40 if depth > 1 else 0) + title_h + 10
    cell = min(float(cell_px), 650.0 / n)  # square cells in the book's ~688 px column, row labels left
    height = int(3 * cell + top + 110)
    fig.update_layout(height=height, showlegend=False, margin={"l": 30, "r": 10, "t": max(top, 40), "b": 10},
                      title={"text": title, "yref": "container", "y": 1 - 22 / height, "yanchor": "middle"}
                      if title else None)
    return fig


def live_explorer(
    images: np.ndarray,
    compute: Callable[..., np.ndarray],
    controls: Mapping[str, Sequence[Any]],
    *,
    fill: int = 0,
    scale: int = 3,
):
    """An ipywidgets mask explorer for a live kernel (its output is not saved into the book).

    compute(**{control: value}) -> (N, H, W) bool masks; controls: {name: options} (numbers give a
    selection slider, anything else a dropdown). Shows per image the mask and the masked image.
    Tag its cell `nbval-ignore-output`. Returns the ipywidgets VBox."""
    import ipywidgets as widgets  # deferred: ipywidgets, only for the live explorer in a running notebook

    imgs = np.asarray(images)
    if imgs.ndim == 3:
        imgs = imgs[..., None]
    if not controls:
        raise ValueError("live_explorer: no controls given")
    ctl = {}
    for name, opts in controls.items():
        opts = list(opts)
        if not opts:
            raise ValueError(f"live_explorer: control {name!r} has no options")
        if all(isinstance(o, (int, float, np.number)) for o in opts):
            ctl[name] = widgets.SelectionSlider(options=opts, value=opts[0], description=name, continuous_update=False)
        else:
            ctl[name] = widgets.Dropdown(options=opts, value=opts[0], description=name)
    h, w = imgs.shape[1:3]

    def png(a):
        return base64.b64decode(png_data_uri(a).split(",", 1)[1])

    mask_w = [widgets.Image(format="png", width=w * scale, height=h * scale) for _ in imgs]
    masked_w = [widgets.Image(format="png", width=w * scale, height=h * scale) for _ in imgs]
    status = widgets.HTML()

    def update(_=None):
        values = {k: c.value for k, c in ctl.items()}
        m = np.asarray(compute(**values), dtype=bool)
        if m.shape != imgs.shape[:3]:
            status.value = f"<b>compute returned shape {m.shape}, expected {imgs.shape[:3]}</b>"
            return
        mi = apply_mask(imgs.astype(np.uint8), m, fill)
        for i in range(len(imgs)):
            mask_w[i].value = png(m[i])
            masked_w[i].value = png(_as_display_image(mi[i]))
        status.value = f"kept {m.mean():.1%} of pixels"

    for c in ctl.values():
        c.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox(list(ctl.values())), status, widgets.HBox(mask_w), widgets.HBox(masked_w)])

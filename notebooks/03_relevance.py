# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: rbdm (Python 3)
#     language: python
#     name: rbdm
# ---

# %% [markdown]
# # 3. Relevance
#
# To decide which pixels matter, the paper {cite:p}`schiller2020relevance` explains each decision of
# the Trainer with layer-wise relevance propagation (LRP) {cite:p}`bach2015pixel`, using the deep
# Taylor decomposition rules {cite:p}`montavon2017deep` through iNNvestigate
# {cite:p}`alber2019innvestigate`. This book runs them with its own rule classes inside
# iNNvestigate's graph (`rbdm_core.saliency.rules`): the bounded z^B rule at the first layer, whose
# input lies in a known pixel range, the z+ rule at every other layer, relevance split in proportion
# to the contributions at residual additions, and BatchNorm folded into the layer before it;
# docs/saliency.md gives the derivation and the checks against iNNvestigate's generic classes. The explained quantity is the Trainer's output for its predicted
# class *before* the softmax (the logit). Starting from that value at the output, every layer hands
# its relevance down to the neurons of the layer below, in proportion to their contributions, until
# it arrives at the pixels. The paper picks LRP over gradient-style saliency because of this
# *conservation*: the pixel relevances add up to the explained output, so they can be compared and
# ranked as shares of one decision, which is what the masks of chapter 5 do.
#
# This chapter shows the decomposition for one image (the paper's Figure 4 is a schematic of it;
# here it is computed), deep Taylor maps of the Trainer for one image per class (the paper's
# Figure 5), how much of that relevance falls on the facial regions that define each class, the
# other saliency methods of `rbdm_core.saliency` side by side, and conservation per method.

# %% tags=["parameters"]
profile = "quick"  # "quick": synthetic stand-ins; "paper": the real corpora (give the roots below)
run_dir = None  # run folder (None: $RBDM_RUN_DIR or ./runs)
seed = 0  # seed of the data and the Trainer
n_compare = 32  # target images explained with every method (conservation table)
n_side_by_side = 4  # of them, shown per method in the side-by-side figure
example_index = 0  # which of the one-per-class source examples the decomposition figure explains
ferplus_root = None  # folder with fer2013.csv and fer2013new.csv (paper profile)
affectnet_root = None  # AffectNet folder (paper profile)
ckplus_root = None  # CK+ folder (paper profile)

# %%
import warnings

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rbdm_core import viz
from rbdm_core.pipeline import Pipeline, get_profile
from rbdm_core.regions import by_class, relevance_in_regions
from rbdm_core.saliency import METHODS, relevance_many, to_image_size

warnings.filterwarnings("ignore", message="relevance: .* constant map")  # counted in the tables below

prof = get_profile(profile)
pipe = Pipeline(prof, run_dir=run_dir, seed=seed,
                roots={"ferplus": ferplus_root, "affectnet": affectnet_root, "ckplus": ckplus_root})
trainer = pipe.trainer
bundle = trainer.bundle
src, tgt = pipe.source, pipe.target
names = list(src.class_names)
src_kind = "synthetic" if src.is_synthetic else "real"
tgt_kind = "synthetic" if tgt.is_synthetic else "real"
print(f"Trainer: {pipe.trainer_architecture} (validation macro-F1 {trainer.best_f1:.3f}); "
      f"source {src_kind}, target {tgt_kind}; method for the masks: {prof.relevance_method}")


src_val_split = src.held_out_splits[0]
src_idx = src.first_of_each_class(src_val_split)


def percent_of_max(maps):
    """Display only: each map as a percentage of its largest |R|, rounded (keeps the pages small)."""
    maps = np.asarray(maps, np.float64)
    top = np.abs(maps).reshape(len(maps), -1).max(1).reshape(-1, 1, 1)
    return np.round(100 * maps / np.where(top > 0, top, 1)).astype(np.float32)


def compact(fig):
    """Display only: store the heatmaps' whole-percent values as int8 (plotly writes arrays as
    typed binary, so float64 percentages would take eight bytes a pixel). Returns fig."""
    for tr in fig.data:
        if tr.type == "heatmap":
            z = np.asarray(tr.z).astype(np.int8)
            tr.z = None  # plotly skips an assignment equal in value to the current z
            tr.z = z
    return fig


src_imgs = src.images[src_idx]

# %% [markdown]
# ## One decomposition, computed (the paper's Figure 4)
#
# The paper's Figure 4 draws the idea: a forward pass, then relevance flowing back layer by layer.
# Here is the computed version for one source image. `rbdm_core.saliency` returns the relevance at
# the input (per pixel, colour channels summed), the explained logit and the map's sum; the figure
# shows the image, its relevance map (red: positive, blue: negative) and the budget: the explained
# output, the relevance that reached the pixels, split into positive and negative parts.

# %%
one = relevance_many(bundle, src_imgs[example_index:example_index + 1], ["deep_taylor"])["deep_taylor"]
m = one.maps[0]
logit, total = float(one.logits[0]), float(one.sums[0])
pos, neg = float(m[m > 0].sum()), float(m[m < 0].sum())
pred = names[int(one.targets[0])]
true = names[int(src.labels[src_idx[example_index]])]
fig = make_subplots(rows=1, cols=3, column_widths=[0.28, 0.28, 0.44], horizontal_spacing=0.06,
                    subplot_titles=[f"input: {true}", f"relevance of {pred}", "the budget"])
fig.add_trace(go.Image(source=viz.png_data_uri(src_imgs[example_index])), row=1, col=1)
lim = float(np.abs(m).max()) or 1.0
fig.add_trace(go.Heatmap(z=m, colorscale="RdBu_r", zmin=-lim, zmax=lim, showscale=False), row=1, col=2)
fig.update_yaxes(autorange="reversed", row=1, col=2)
bars = {"logit": logit, "max(logit, 0)": max(logit, 0.0), "sum of map": total, "positive part": pos,
        "negative part": neg}
fig.add_trace(go.Bar(y=list(bars), x=list(bars.values()), orientation="h", text=[f"{v:.3g}" for v in bars.values()],
                     marker_color=["#7f7f7f", "#1f77b4", "#2ca02c", "#d62728", "#17becf"], textposition="auto"),
              row=1, col=3)
fig.update_yaxes(autorange="reversed", row=1, col=3)
for c in (1, 2):
    fig.update_xaxes(visible=False, row=1, col=c)
    fig.update_yaxes(visible=False, row=1, col=c)
fig.update_yaxes(scaleanchor="x2", row=1, col=2)
fig.update_layout(height=420, showlegend=False, margin={"t": 100},
                  title=f"One {src_kind} image: sum / logit = {one.conservation[0]:.4f}")
viz.show(fig, "decomposition")

# %% [markdown]
# The budget shows the end of the flow: what reaches the pixels adds up to the explained output
# (the conservation ratio in the title). Deep Taylor's first layer uses a rule bounded by the input
# range, which can hand negative relevance to some pixels; the layers above it only pass on
# positive contributions.
#
# ## Layer by layer
#
# `rbdm_core.saliency.layer_relevance` keeps the relevance at the output of every layer of the
# analysed model (the Trainer after `prepare_model`: BatchNorm folded into the convolutions, the
# softmax removed). Left: its sum at each layer, from the logits down to the input, beside
# max(logit, 0), the amount deep Taylor starts from. Where the layers form a chain, every bar has
# that length. At a residual sum (`Add`) the relevance is shared between the block's convolutions
# and its shortcut in proportion to what each contributed, so the layers inside one branch hold a
# share (light green; a share can exceed the whole when the other branch's share is negative), and
# the full amount is back where the branches meet again. Right: the relevance at the output of some
# image-shaped layers, channels summed, each on its own scale (red positive, blue negative):
# coarse near the output, refined at every layer on its way down to the pixels.

# %%
from rbdm_core.saliency import layer_relevance

lr = layer_relevance(bundle, src_imgs[example_index:example_index + 1])
start = max(float(lr.logits[0]), 0.0)
order = list(range(len(lr.layers)))[::-1]  # output first
image_layers = [i for i in order if lr.arrays[i].ndim == 3 and lr.kinds[i] in ("Input", "Conv2D", "MaxPooling2D")]
show = image_layers[:: max(1, len(image_layers) // 5)][:5]
if image_layers[-1] not in show:
    show[-1] = image_layers[-1]  # always end at the input
fig = make_subplots(rows=1, cols=1 + len(show), column_widths=[0.3] + [0.7 / len(show)] * len(show),
                    subplot_titles=["sum of relevance per layer"] + [f"{lr.layers[i]} {lr.arrays[i].shape[1]}x{lr.arrays[i].shape[2]}" for i in show],
                    horizontal_spacing=0.025)
fig.add_trace(go.Bar(y=[lr.layers[i] for i in order], x=[float(lr.sums[i, 0]) for i in order],
                     orientation="h", hovertext=[lr.kinds[i] for i in order],
                     marker_color=["#2ca02c" if lr.on_every_path[i] else "#98df8a" for i in order]), row=1, col=1)
fig.add_vline(x=start, line_dash="dash", line_color="#1f77b4", row=1, col=1,
              annotation_text="max(logit, 0)", annotation_position="top right")
fig.update_yaxes(autorange="reversed", automargin=True, tickfont={"size": 10}, row=1, col=1)
for j, i in enumerate(show):
    a = lr.arrays[i][0]
    lim = float(np.abs(a).max()) or 1.0
    fig.add_trace(go.Heatmap(z=np.round(100 * a / lim).astype(np.int8), colorscale="RdBu_r", zmin=-100, zmax=100,
                             showscale=False), row=1, col=2 + j)
    fig.update_yaxes(autorange="reversed", visible=False, scaleanchor=f"x{2 + j}", row=1, col=2 + j)
    fig.update_xaxes(visible=False, row=1, col=2 + j)
fig.update_layout(height=380, showlegend=False, margin={"t": 90, "l": 10},
                  title=f"Relevance of {pred} layer by layer ({src_kind} image; {pipe.trainer_architecture})")
viz.show(fig, "layers")

# %%
if start > 0:
    share = 100 * lr.sums[:, 0] / start
    full, branch = share[lr.on_every_path], share[~lr.on_every_path]
    print(f"max(logit, 0) = {start:.4g}; {len(full)} of {len(lr.layers)} layers lie on every path from the "
          f"logits to the input and hold {full.min():.2f} % to {full.max():.2f} % of it"
          + (f"; the {len(branch)} inside residual branches hold {branch.min():.1f} % to {branch.max():.1f} %"
             if len(branch) else ""))
else:
    print("negative logit: nothing to explain, every layer holds 0")

# %% [markdown]
# ## Deep Taylor maps per class (the paper's Figure 5)
#
# One validation image per class of the source corpus (the Trainer's own domain, like the paper's
# AffectNet examples), and one training image per class of the target corpus (the images whose
# relevance makes the masks of chapter 5). Top row of each figure: the image, with the ground-truth
# regions that define its class tinted red (synthetic data only); bottom row: the deep Taylor map
# of the Trainer's predicted class (titled with that class), in percent of the map's largest absolute
# value on a colour scale centred on zero (red positive, blue negative).

# %%
src_maps = pipe.relevance(images=src_imgs)  # (N, H, W), cached in the run folder
src_pred = bundle.predict(src_imgs)
tgt_split = "Training"
tgt_train = tgt.select_split(tgt_split)
tgt_maps_all = pipe.relevance(split=tgt_split)  # the maps the masks are made from (cached)
tgt_pred_all = bundle.predict(tgt_train.images)
tgt_idx = tgt_train.first_of_each_class(tgt_split)


def per_class_figure(images, maps, labels, preds, regions, title):
    """Two grids of one row each: the images with their regions, and their maps."""
    n = len(images)
    fig_img = viz.image_grid(images, [names[t] for t in labels], overlays=regions, cols=n, cell_px=95,
                             title=title + ": true class, ground truth red")
    fig_map = compact(viz.image_grid(percent_of_max(maps), [names[p] for p in preds], cols=n,
                                     cell_px=95, title=title + ": predicted class, its relevance"))
    return fig_img, fig_map


fa, fb = per_class_figure(src_imgs, src_maps, src.labels[src_idx], src_pred,
                          src.regions[src_idx] if src.regions is not None else None,
                          f"Source ({src_kind}, {src_val_split})")
viz.show(fa, "source-examples")
viz.show(fb, "source-maps")
fa, fb = per_class_figure(tgt_train.images[tgt_idx], tgt_maps_all[tgt_idx], tgt_train.labels[tgt_idx],
                          tgt_pred_all[tgt_idx], tgt_train.regions[tgt_idx] if tgt_train.regions is not None else None,
                          f"Target ({tgt_kind}, {tgt_split})")
viz.show(fa, "target-examples")
viz.show(fb, "target-maps")

# %% [markdown]
# ## Does the relevance fall on the defining regions?
#
# On synthetic faces the generator knows which regions (brows, eyes, nose, cheeks, mouth) express
# each class, so a map can be scored: the share of its positive relevance inside those regions,
# against the regions' share of the image area (what relevance spread evenly would give). A *lift*
# above 1 means the Trainer concentrates on the defining regions; 1 means no better than uniform.
# Computed over every image of the source validation split and of the target training split
# (`rbdm_core.regions.relevance_in_regions`); images whose map is all zero (deep Taylor of a
# negative logit) have no positive relevance and are counted in `n` but not in the means.

# %%
src_val = src.select_split(src_val_split)
if src.regions is not None and tgt.regions is not None:
    src_val_maps = pipe.relevance(images=src_val.images)
    tab_src = by_class(relevance_in_regions(src_val_maps, src_val.regions), src_val.labels, names)
    tab_tgt = by_class(relevance_in_regions(tgt_maps_all, tgt_train.regions), tgt_train.labels, names)
    both = pd.concat([tab_src.assign(corpus=f"source {src_val_split}"), tab_tgt.assign(corpus=f"target {tgt_split}")])
    both = both[["corpus", "class", "n", "n_with_relevance", "inside", "area", "lift"]]
    display(viz.table(both, float_format="{:.3f}",
                      caption="Positive deep Taylor relevance inside the ground-truth regions, per true class"))
    fig = go.Figure()
    for tab, label, color in ((tab_src, f"source {src_val_split}", "#1f77b4"), (tab_tgt, f"target {tgt_split}", "#ff7f0e")):
        fig.add_trace(go.Bar(x=tab["class"], y=tab["inside"], name=f"{label}: relevance inside", marker_color=color))
        fig.add_trace(go.Scatter(x=tab["class"], y=tab["area"], mode="markers", name=f"{label}: area share",
                                 marker={"symbol": "line-ew-open", "size": 26, "color": color, "line": {"width": 3}}))
    fig.update_layout(barmode="group", height=400, yaxis_title="share", yaxis_range=[0, 1],
                      title="Share of positive relevance inside the ground-truth regions (bars) vs their area (ticks)",
                      legend={"orientation": "h", "y": -0.25})
    viz.show(fig, "relevance-in-regions")
else:
    print("Real data carries no ground-truth regions: this section needs the synthetic corpora.")

# %% [markdown]
# ## The other methods side by side
#
# `rbdm_core.saliency` offers, beside deep Taylor, two other LRP rules (epsilon, and alpha=2,
# beta=1) and three gradient-based methods (the plain gradient, integrated gradients from a black
# baseline, and SmoothGrad). All explain the same logit of the same Trainer; the iNNvestigate-based
# ones run in a single worker process. The first target images of the per-class figure, one row per
# method, each map on its own symmetric colour scale (in % of its largest absolute value):

# %%
cmp_idx = np.concatenate([tgt_idx, np.setdiff1d(np.arange(len(tgt_train)), tgt_idx)[:max(0, n_compare - len(tgt_idx))]])
cmp_imgs = tgt_train.images[cmp_idx]
rels = relevance_many(bundle, cmp_imgs, METHODS, seed=seed)
k = min(n_side_by_side, len(tgt_idx))
size = cmp_imgs.shape[1:3]
cells = [percent_of_max(to_image_size(rels[mt].maps[:k], size)) for mt in METHODS]
fig = compact(viz.image_grid(np.concatenate(cells),
                     [f"{mt}: {names[tgt_train.labels[i]]}" if j == 0 else names[tgt_train.labels[i]]
                      for mt in METHODS for j, i in enumerate(tgt_idx[:k])],
                     cols=k, cell_px=95, title=f"Six methods, {tgt_kind} target images"))
viz.show(fig, "methods-side-by-side")

# %% [markdown]
# ## Conservation per method
#
# For each method and each of the images above, `Relevance.conservation` is the sum of the map
# divided by the explained logit. For a rule that conserves, it is 1.

# %%
rows = []
for mt in METHODS:
    r = rels[mt]
    c = r.conservation[np.isfinite(r.conservation)]
    rows.append({"method": mt, "images": len(r.maps), "negative logits": int((r.logits < 0).sum()),
                 "all-zero maps": int(r.constant.sum()), "median sum/logit": float(np.median(c)),
                 "5th pct": float(np.percentile(c, 5)), "95th pct": float(np.percentile(c, 95))})
cons = pd.DataFrame(rows)
viz.table(cons, float_format="{:.3g}", caption=f"Conservation (map sum / explained logit) per method on {len(cmp_idx)} {tgt_kind} target images")

# %%
fig = go.Figure()
for mt in METHODS:
    c = rels[mt].conservation
    fig.add_trace(go.Box(y=c[np.isfinite(c)], name=mt, boxpoints="all", jitter=0.4, pointpos=0, marker={"size": 4}))
fig.add_hline(y=1.0, line_dash="dash", line_color="#444", annotation_text="conserved (1)")
fig.update_layout(height=420, showlegend=False, yaxis_title="sum of map / explained logit",
                  title="Conservation per method (one point per image)")
viz.show(fig, "conservation")

# %% [markdown]
# How to read the table:
#
# - **Deep Taylor** starts from max(logit, 0) and passes relevance down with rules that ignore the
#   biases, so every layer hands on exactly what it received: the ratio is 1 for a positive logit.
#   For a negative logit there is nothing to explain, the map is all zero and the ratio 0; such
#   images carry no ranking (the masks of chapter 5 treat them explicitly). Relevance can still be
#   lost where a neuron is active only because of its bias: its relevance has no input contribution
#   to go to, which shows as a ratio slightly below 1.
# - **LRP-alpha-beta** splits each neuron's positive and negative input contributions (alpha 2,
#   beta 1); with biases ignored and alpha - beta = 1, what goes down equals what came in, so it
#   conserves like deep Taylor.
# - **LRP-epsilon**, as configured in `rbdm_core.saliency.analyzers` (iNNvestigate's epsilon rule with
#   biases kept), shares each neuron's relevance among its inputs *and its bias*, in proportion to
#   their contributions, plus a small stabiliser in the denominator. The biases' shares never reach
#   the pixels, so the sum misses the logit by what the biases absorb along the way: it falls
#   short where they absorb positive relevance and overshoots where a negative bias absorbs a
#   negative share, hence the wide range in the table.
# - The **gradient** and **SmoothGrad** are sensitivities, not decompositions: their sum has no
#   reason to equal the logit. **Integrated gradients** satisfies its own completeness property:
#   the sum approaches the logit minus the logit of the black baseline image, not the logit itself,
#   and only up to the error of its path approximation.
#
# The masks use deep Taylor, like the paper; chapter 5 can swap the method through the profile's
# `relevance_method`.

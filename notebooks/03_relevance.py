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
# the project's tests check these rules against numpy and against iNNvestigate's generic rule
# classes. The explained quantity is the Trainer's output for its predicted
# class *before* the softmax (the logit). Starting from that value at the output, every layer hands
# its relevance down to the neurons of the layer below, in proportion to their contributions, until
# it arrives at the pixels. The paper picks LRP over gradient-style saliency because of this
# *conservation*: the pixel relevances add up to the explained output, so they can be compared and
# ranked as shares of one decision, which is what the masks of chapter 5 do.
#
# This chapter shows the decomposition for one image (the paper's Figure 4 is a schematic of it;
# here it is computed), the rules as equations and which layer gets which, deep Taylor maps of the
# Trainer for one image per class (the paper's Figure 5), how much of that relevance falls on the
# facial regions that define each class, why some of it collects at the image border, the other
# saliency methods of `rbdm_core.saliency` side by side, and conservation per method.

# %% tags=["parameters", "remove-cell"]
profile = "quick"  # "quick": synthetic stand-ins; "paper": the real corpora (give the roots below)
run_dir = None  # run folder (None: $RBDM_RUN_DIR or ./runs)
seed = 0  # seed of the data and the Trainer
n_compare = 32  # target images explained with every method (conservation table)
n_side_by_side = 4  # of them, shown per method in the side-by-side figure
example_index = 0  # which of the one-per-class source examples the decomposition figure explains
n_border = 256  # target training images explained by the Trainer with its image border moved outside
border_margin = 8  # pixels the image is continued by on each side (a multiple of the Trainer's downsampling)
ferplus_root = None  # folder with fer2013.csv and fer2013new.csv (paper profile)
affectnet_root = None  # AffectNet folder (paper profile)
ckplus_root = None  # CK+ folder (paper profile)

# %% tags=["hide-input"]
import warnings

import numpy as np
import pandas as pd

from rbdm_core import viz
from rbdm_core.pipeline import Pipeline, get_profile
from rbdm_core.regions import by_class, relevance_in_regions
from rbdm_core.saliency import METHODS, conservation, layer_relevance, relevance_many
from rbdm_core.saliency.border import (border_free, border_table, corner_statistics, describe_padding,
                                       uniform_images)
from rbdm_core.saliency.inputs import preprocess_bounds
from rbdm_core.saliency.layerwise import layer_shares, rules_table

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
display(viz.prose(f"Trainer: {pipe.trainer_architecture} (validation macro-F1 {trainer.best_f1:.3f}); "
                  f"source {src_kind}, target {tgt_kind}; method for the masks: {prof.relevance_method}"))


src_val_split = src.held_out_splits[0]
src_idx = src.first_of_each_class(src_val_split)
src_imgs = src.images[src_idx]

# %% [markdown]
# ## One decomposition, computed (the paper's Figure 4)
#
# The paper's Figure 4 draws the idea: a forward pass, then relevance flowing back layer by layer.
# Here is the computed version for one source image. `rbdm_core.saliency` returns the relevance at
# the input (per pixel, colour channels summed), the explained logit and the map's sum; the figure
# shows the image, its relevance map (red: positive, blue: negative) and the budget: the explained
# output, the relevance that reached the pixels, split into positive and negative parts.

# %% tags=["hide-input"]
one = relevance_many(bundle, src_imgs[example_index:example_index + 1], ["deep_taylor"])["deep_taylor"]
pred = names[int(one.targets[0])]
true = names[int(src.labels[src_idx[example_index]])]
fig = viz.decomposition_figure(src_imgs[example_index], one.maps[0], conservation.budget(one, 0), true, pred,
                               title=f"One {src_kind} image: sum / logit = {one.conservation[0]:.4f}")
viz.show(fig, "decomposition")

# %% [markdown]
# The budget shows the end of the flow: what reaches the pixels adds up to the explained output
# (the conservation ratio in the title). Deep Taylor's first layer uses a rule bounded by the pixel
# range and the layers above it pass on positive contributions only (the equations follow); a
# pixel gets negative relevance only where a residual sum hands a negative share down one of its
# branches.
#
# ## The rules, in equations
#
# Take one layer: inputs $x_i$ (the activations of the layer below), weights $w_{ij}$ from input $i$
# to unit $j$, and $R_j$, the relevance unit $j$ received from the layer above. Write
# $w^+ = \max(w, 0)$ and $w^- = \min(w, 0)$. Every rule hands $R_j$ down to the inputs in proportion
# to their part in a contribution; the bias has no part in it:
#
# - the $z^+$ rule (`rules.ZPlus`), at every convolution and dense layer but the first; their inputs
#   are ReLU or max-pool outputs here, so $x_i \ge 0$:
#
#   $$R_i = \sum_j \frac{x_i w_{ij}^+}{\sum_{i'} x_{i'} w_{i'j}^+} R_j$$
#
#   (where a layer's input can be negative, $x_i^+ w_{ij}^+ + x_i^- w_{ij}^-$ takes the place of
#   $x_i w_{ij}^+$, in the numerator and the denominator: the same rule wherever $x \ge 0$);
# - the $z^B$ rule (`rules.ZBounded`), at the first layer, the convolution that sees the pixels,
#   whose values lie between known bounds $l_i \le x_i \le h_i$ (printed below the next figure):
#
#   $$R_i = \sum_j \frac{x_i w_{ij} - l_i w_{ij}^+ - h_i w_{ij}^-}{\sum_{i'} \left(x_{i'} w_{i'j} - l_{i'} w_{i'j}^+ - h_{i'} w_{i'j}^-\right)} R_j$$
#
#   Its numerator is $(x_i - l_i) w_{ij}^+ + (x_i - h_i) w_{ij}^-$, two terms $\ge 0$ for a pixel
#   within its bounds: like $z^+$ it hands positive relevance on as positive, and unlike $z^+$ it
#   also credits a pixel through a negative weight (a pixel darker than $h_i$ under $w_{ij} < 0$);
# - at a residual sum $y = a + b$ (`Add`), each summand keeps its share, unit by unit:
#   $R_a = \frac{a}{a + b} R_y$ and $R_b = \frac{b}{a + b} R_y$; a summand whose sign is opposite
#   to the sum's gets a negative share, the one place where these rules make relevance negative;
# - a max pool hands each window's relevance to the unit that won the maximum; ReLU and Flatten pass
#   it on unchanged;
# - BatchNorm is folded into the convolution before it (`prepare_model`: the kernel scaled by
#   $\gamma / \sqrt{\sigma^2 + \epsilon}$, the shift moved into the bias), so the rules see the weights
#   of the affine map the network computes;
# - the relevance starts at the output as $\max(f(x), 0)$, $f(x)$ the explained logit.
#
# Summed over $i$, each rule gives back $\sum_i R_i = \sum_j R_j$ wherever its denominator is
# positive, and so does the Add rule; from the logit down to the pixels this is LRP's conservation,
#
# $$\sum_i R_i = \max\big(f(x), 0\big),$$
#
# less what a unit with nothing to share drops (a zero denominator: a unit active through its bias
# alone). A zero that a 'same' convolution pads its input with is no input: it takes no share in
# either rule, which matters at the image border (below).
#
# iNNvestigate's own `BoundedDeepTaylor` preset differs in three places: it gives $z^+$ only to
# layers with a ReLU built into them and the $w^2$ rule,
# $R_i = \sum_j \frac{w_{ij}^2}{\sum_{i'} w_{i'j}^2} R_j$, to the other kernel layers (every kernel
# layer of these Trainers: their ReLUs are layers of their own, after the BatchNorm); it gives
# BatchNorm the $w^2$ rule instead of folding it; and it sends the whole relevance of an `Add` down
# each branch, which doubles it at every residual block. The $z^B$ first layer, the max pools and
# the $\max(f(x), 0)$ start are the same. The table under the next figure is read from the analyzer
# that computed it: the rule each layer of this Trainer got.
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

# %% tags=["hide-input"]
lr = layer_relevance(bundle, src_imgs[example_index:example_index + 1])
fig = viz.layers_figure(lr, n_maps=5,
                        title=f"Relevance of {pred} layer by layer ({src_kind} image; {pipe.trainer_architecture})")
viz.show(fig, "layers")

# %% tags=["computes"]
display(viz.prose(layer_shares(lr).sentence()))
low, high = preprocess_bounds(bundle.preprocess)
viz.table(rules_table(lr),
          caption=f"The rule each layer of the {pipe.trainer_architecture} got (deep Taylor); z^B bounds: "
                  f"l = {low:g}, h = {high:g}, the range of the preprocessed pixel values 0..255")

# %% [markdown]
# ## Deep Taylor maps per class (the paper's Figure 5)
#
# One validation image per class of the source corpus (the Trainer's own domain, like the paper's
# AffectNet examples), and one training image per class of the target corpus (the images whose
# relevance makes the masks of chapter 5). Top row of each figure: the image, with the ground-truth
# regions that define its class tinted red (synthetic data only); bottom row: the deep Taylor map
# of the Trainer's predicted class (titled with that class), in percent of the map's largest absolute
# value on a colour scale centred on zero (red positive, blue negative).

# %% tags=["hide-input"]
src_maps = pipe.relevance(images=src_imgs)  # (N, H, W), cached in the run folder
src_pred = bundle.predict(src_imgs)
tgt_split = "Training"
tgt_train = tgt.select_split(tgt_split)
tgt_maps_all = pipe.relevance(split=tgt_split)  # the maps the masks are made from (cached)
tgt_pred_all = bundle.predict(tgt_train.images)
tgt_idx = tgt_train.first_of_each_class(tgt_split)

fa, fb = viz.per_class_figures(src_imgs, src_maps, src.labels[src_idx], src_pred,
                               src.regions[src_idx] if src.regions is not None else None, names,
                               f"Source ({src_kind}, {src_val_split})")
viz.show(fa, "source-examples")
viz.show(fb, "source-maps")
fa, fb = viz.per_class_figures(tgt_train.images[tgt_idx], tgt_maps_all[tgt_idx], tgt_train.labels[tgt_idx],
                               tgt_pred_all[tgt_idx],
                               tgt_train.regions[tgt_idx] if tgt_train.regions is not None else None, names,
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

# %% tags=["computes"]
src_val = src.select_split(src_val_split)
if src.regions is not None and tgt.regions is not None:
    src_val_maps = pipe.relevance(images=src_val.images)
    tab_src = by_class(relevance_in_regions(src_val_maps, src_val.regions), src_val.labels, names)
    tab_tgt = by_class(relevance_in_regions(tgt_maps_all, tgt_train.regions), tgt_train.labels, names)
    both = pd.concat([tab_src.assign(corpus=f"source {src_val_split}"), tab_tgt.assign(corpus=f"target {tgt_split}")])
    both = both[["corpus", "class", "n", "n_with_relevance", "inside", "area", "lift"]]
    display(viz.table(both, float_format="{:.3f}",
                      caption="Positive deep Taylor relevance inside the ground-truth regions, per true class"))
    fig = viz.regions_figure({f"source {src_val_split}": tab_src, f"target {tgt_split}": tab_tgt})
    viz.show(fig, "relevance-in-regions")
else:
    display(viz.prose("Real data carries no ground-truth regions: the share of relevance inside them cannot be "
                      "scored on this run's corpora."))

# %% [markdown]
# ## Relevance at the image border
#
# The synthetic faces carry no class signal at the image border: it shows background, whose colour,
# gradient and clutter the generator draws independently of the class. Yet the mean of
# the deep Taylor maps over the target training set (the figure further down, left) lights up in
# the top-left corner. `rbdm_core.saliency.border.corner_statistics` measures it from the maps: for
# each corner, the mean relevance at its 2x2 corner pixels as a multiple of the mean over all
# pixels (1 for relevance spread evenly) and the largest of the four, how many maps have their
# single most relevant pixel in the corner's 4x4 block, and the share of maps with one of their 8
# most relevant pixels in that block, beside the share a random ranking would give.

# %% tags=["computes"]
corners = corner_statistics(tgt_maps_all, corner=4, top=8)
display(viz.table(corners.table(), float_format="{:.3g}",
                  caption=f"Deep Taylor maps of the {corners.n} target {tgt_split} images at the four corners"))
display(viz.prose_lines([corners.describe()]))

# %% [markdown]
# Five things could put relevance there: the rules (the bounded first-layer rule meets the image
# border there), the resampling of the maps to the image size (`to_image_size`), the BatchNorm
# folding, TensorFlow's 'same' padding (for a stride above 1 it pads one more row and column at the
# bottom and right than at the top and left, so the top-left pixels would sit differently in the
# windows), and the network itself. The first printed lines below check the make-up of the Trainer
# (BatchNorm folding is exact: `tests/test_saliency_prepare.py` compares the logits before and
# after). Then two experiments, computed here:
#
# 1. Uniform grey images, which show nothing at all, explained by `layer_relevance`, which keeps the
#    relevance at every layer: where does their relevance go, and what share of each image-shaped
#    layer's relevance does its top-left unit hold, from the last pooling down to the pixels (the
#    table gives that unit's relevance as a multiple of the layer's mean unit)?
# 2. The same network, with the same weights and rules, with its image border moved outside the
#    image (`border.border_free`): each image is continued by reflection, `border_margin` pixels on
#    every side, the layers run on the larger image, and the last feature map is cropped back to its
#    trained size before the dense head. The zeros the convolutions pad with then lie outside the
#    image. It explains the class the Trainer predicts on the original image, for the first
#    `n_border` training images.

# %% tags=["computes"]
display(viz.prose_lines([describe_padding(bundle, tgt_train.images.shape[1:3])]))

uniform = uniform_images(bundle, tgt_train.images.shape[1:], n_levels=5)
display(viz.prose_lines([uniform.report(names)]))
display(viz.table(uniform.corner_units(), float_format="{:.3g}",
                  caption="Uniform images: relevance at the top-left unit of each image-shaped "
                  "layer on every path, as a multiple of the layer's mean unit"))

try:
    free = border_free(bundle, tgt_train.images[:n_border], margin=border_margin)
except ValueError as exc:  # e.g. a model input size other than the images' (paper profile)
    free, after = None, None
    display(viz.prose(f"the experiment with the border moved outside does not apply to this Trainer: {exc}"))
if free is not None:
    before, after = corner_statistics(tgt_maps_all[:n_border]), corner_statistics(free.maps)
    display(viz.table(border_table({"as trained": before, f"image border {border_margin} px outside": after}),
                      float_format="{:.3g}", caption=f"The first {n_border} target {tgt_split} images, the Trainer "
                                                     "as trained and with its image border moved outside"))
    display(viz.prose_lines([free.describe()]))

# %% tags=["hide-input"]
grey = len(uniform.levels) // 2  # the middle grey level
ratio = uniform.relative_map(grey)
fig = viz.border_figure(corners, after, (ratio, f"uniform grey {uniform.levels[grey]}") if ratio is not None else None)
viz.show(fig, "border")

# %% [markdown]
# What the experiments show:
#
# - Neither resampling nor lopsided padding is at work in the quick profile (the first printed
#   lines): the maps keep the model's input size, and with no strided convolution TensorFlow's
#   'same' padding is the same on all four sides.
# - The uniform images have nothing to show, yet their relevance, too, collects at the top-left
#   corner for most grey levels (the count printed, right panel): it goes to where a pixel lies,
#   not to what it shows.
# - Layer by layer (the table of uniform images), the top-left unit holds more than the layer's mean
#   unit at every level, and its lead grows on the way down to the output of the first
#   convolution, before the first-layer rule has done anything. The $z^B$ rule only shares out what
#   that corner unit received among the only pixels it sees: (0, 0), (0, 1), (1, 0) and (1, 1)
#   (its other five inputs are padding).
# - With the image border moved outside, the same network, weights and rules give the corner no
#   more than the rest of the background (the border table, middle panel).
#
# So it is the network, not the rules or the resampling. A 'same' convolution pads its input with
# zeros, black for pixel values in [0, 1], so at the image border every filter of the first layer
# sees an edge between the black padding and the image, in every image; at a corner that edge runs
# along two sides. The response of the corner units to it travels up through the max pools and
# residual blocks, and the dense head gives it weight: part of the logit comes from the fact that
# the image ends there.
# Deep Taylor decomposes the whole logit, this part too, and must hand it to real pixels (padding is
# no input), the ones next to the corner. Which corners stand out depends on the learned filters
# (the order printed under the first table). The network does use its border: moving the
# border away changes some of its predictions (the last printed line). The relevance at the corner
# therefore says where the image ends, not what the face shows; in the masks of chapter 5 it means
# that a few corner pixels count among the most relevant of some maps (the share in the first table).
# Removing it would take a different Trainer (one trained on images with a margin, or without zero
# padding), not a different rule; this book keeps the Trainer as the profile's recipe makes it.

# %% [markdown]
# ## The other methods side by side
#
# `rbdm_core.saliency` offers, beside deep Taylor, two other LRP rules (epsilon, and alpha=2,
# beta=1) and three gradient-based methods (the plain gradient, integrated gradients from a black
# baseline, and SmoothGrad). All explain the same logit of the same Trainer; the iNNvestigate-based
# ones run in a single worker process. The first target images of the per-class figure, one row per
# method, each map on its own symmetric colour scale (in % of its largest absolute value):

# %% tags=["hide-input"]
cmp_idx = tgt_train.first_of_each_class_then_others(tgt_split, n_compare)
cmp_imgs = tgt_train.images[cmp_idx]
rels = relevance_many(bundle, cmp_imgs, METHODS, seed=seed)
shown = [names[c] for c in tgt_train.labels[tgt_idx[:n_side_by_side]]]  # the first images' classes
fig = viz.methods_figure(rels, cmp_imgs.shape[1:3], shown, title=f"Six methods, {tgt_kind} target images")
viz.show(fig, "methods-side-by-side")

# %% [markdown]
# ## Conservation per method
#
# For each method and each of the images above, `Relevance.conservation` is the sum of the map
# divided by the explained logit. For a rule that conserves, it is 1. The table gives the largest
# distance from 1 over the images with a positive logit, whether that is within the stated
# tolerance (`rbdm_core.saliency.conservation.CONSERVATION_TOLERANCE`, in the caption), and what the
# registry of methods says. The registry's flag is not taken from these images: it is measured on
# a small probe network, in the second table, and a unit test fails when the two disagree.

# %% tags=["computes"]
cons = conservation.table(rels)
display(viz.table(cons, float_format="{:.3g}",
                  caption=f"Conservation (map sum / explained logit) per method on {len(cmp_idx)} {tgt_kind} target "
                          f"images; tolerance {conservation.CONSERVATION_TOLERANCE:g}"))
display(viz.prose([conservation.sentence(row) for row in cons.to_dict("records")]))

# %% tags=["hide-input"]
viz.show(viz.conservation_figure(rels), "conservation")

# %% [markdown]
# The probe network (`conservation.probe_network`: convolution, max pool, convolution, dense head,
# every bias drawn nonzero, explained on inputs of both signs) is where the registry's flag is
# decided: a method is marked conserving only when every map there is within the tolerance.

# %% tags=["computes"]
probe = conservation.measure(METHODS)
display(viz.table(probe, float_format="{:.3g}",
                  caption=f"Conservation on the probe network ({conservation.PROBE_IMAGES} inputs); "
                          f"tolerance {conservation.CONSERVATION_TOLERANCE:g}"))
display(viz.prose([conservation.sentence(row) for row in probe.to_dict("records")]))

# %% [markdown]
# How to read the tables:
#
# - **Deep Taylor** starts from max(logit, 0) and passes relevance down with rules that ignore the
#   biases, so every layer hands on exactly what it received: the ratio is 1 for a positive logit.
#   For a negative logit there is nothing to explain, the map is all zero and the ratio 0; such
#   images carry no ranking (the masks of chapter 5 treat them explicitly). Relevance can still be
#   lost where a neuron is active only because of its bias: its relevance has no input contribution
#   to go to, which shows as a ratio slightly below 1.
# - **LRP-alpha-beta** (alpha 2, beta 1, biases ignored) splits each unit's positive and negative
#   input contributions apart:
#
#   $$R_i = \sum_j \left(\alpha \frac{(x_i w_{ij})^+}{\sum_{i'} (x_{i'} w_{i'j})^+} - \beta \frac{(x_i w_{ij})^-}{\sum_{i'} (x_{i'} w_{i'j})^-}\right) R_j$$
#
#   A unit with contributions of both signs passes on $(\alpha - \beta) R_j = R_j$; one whose inputs
#   contribute with one sign only passes on $\alpha R_j = 2 R_j$ (all positive: the $\beta$ term has
#   nothing to share) or $-\beta R_j = -R_j$ (all negative). So it conserves only where every unit
#   that relevance passes through has contributions of both signs, which depends on the network and
#   the image; the lines printed under the two tables say whether it did on the Trainer and on the
#   probe network.
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

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
# # 5. Masking
#
# A relevance map scores every pixel; a mask has to decide which pixels the Trainee gets to see.
# The paper {cite:p}`schiller2020relevance` compares three rules for that decision, each turning
# the Trainer's relevance map R of an image into a binary mask M (1 = kept) that multiplies the
# image:
#
# - **negative**: remove the most relevant 10 % of the pixels, so that the Trainee has to find
#   other cues than the Trainer used;
# - **mean**: remove every pixel whose relevance lies below the image's mean relevance, so that the
#   Trainee sees only what the Trainer found useful;
# - **perceptive**: take the `n` most relevant pixels as if they were fixations (`n` = the mean
#   number of fixations per image in the gaze study of chapter 4, which the quick profile simulates,
#   so there `n` follows the simulator's setting; a profile that names a gaze recording takes it
#   from the recording, and the first cell below says so), build the gaze heatmap around
#   them and remove every pixel where that heatmap is zero.
#
# This chapter shows the three masks (the paper's Figure 8), measures how much of each image they
# keep and how well they hit the facial regions that define the class, against a random mask of
# the same size, and ends with an explorer to try other fractions, `n` and relevance methods.
# The images and their ground-truth regions are **synthetic** in the `quick` profile; real
# corpora have no such ground truth, so the precision part is skipped for them.

# %% tags=["parameters", "remove-cell"]
profile = "quick"  # "quick": synthetic stand-ins; "paper": the real corpora (give the roots below)
run_dir = None  # run folder (None: $RBDM_RUN_DIR or ./runs)
seed = 0  # seed of the synthetic corpora and of the random baseline masks
method = None  # relevance method of the masks (None: the profile's, deep Taylor as in the paper)
negative_fraction = None  # share of pixels the negative mask removes (None: the profile's, 0.1)
perceptive_n = None  # pseudo-fixations per image of the perceptive mask (None: from the gaze study)
n_examples = 4  # images in Figure 8
ferplus_root = None  # folder with fer2013.csv and fer2013new.csv
affectnet_root = None  # AffectNet folder (Manually_Annotated_file_lists/ and the images)
ckplus_root = None  # CK+ folder (cohn-kanade-images/ and Emotion/)

# %% tags=["hide-input"]
from rbdm_core import masking, regions, viz
from rbdm_core.masking import summary
from rbdm_core.pipeline import Pipeline, get_profile
from rbdm_core.viz.masks import fills_figure, kept_fraction_figure, masks_figure

pipe = Pipeline(get_profile(profile, negative_fraction=negative_fraction, perceptive_n=perceptive_n),
                run_dir=run_dir, seed=seed,
                roots={"ferplus": ferplus_root, "affectnet": affectnet_root, "ckplus": ckplus_root})
method = method or pipe.profile.relevance_method
train = pipe.target.select_split("Training")
MASK_TYPES = masking.PAPER_MASK_TYPES  # negative, mean, perceptive
masks = {t: pipe.masks(t, method=method) for t in MASK_TYPES}  # (N, H, W) bool, True = kept; cached
kind = "SYNTHETIC" if train.is_synthetic else "real"
params = {t: ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in pipe.mask_params(t).items())
          for t in MASK_TYPES}
viz.prose(f"{len(train)} {kind} training images of the Trainee's corpus, relevance: {method} "
          f"(Trainer {pipe.trainer_architecture})",
          [f"{t} {params[t] or '(no parameter)'}" for t in MASK_TYPES],
          # a recording replaces the simulated annotators of chapter 4
          f"perceptive n: {'the profile sets it' if pipe.profile.perceptive_n else 'the mean number of fixations per image and participant'}; "
          + pipe.gaze_study.describe() if pipe.roots.get("gaze") else "")

# %% [markdown]
# The masks the cell above computed, as `rbdm_core.masking.relevance_masks` computes them. An
# image's relevance map $R$ has $P = H W$ pixels $i$ in row-major order, with centres $c_i$
# (column, row); $T_k(R)$ is the set of its $k$ pixels with the largest relevance, ties going to
# the lower index $i$ (`masking.top_k_flat`). A mask $m$ keeps pixel $i$ when $m_i = 1$:
#
# $$
# \text{negative:}\quad m_i = \begin{cases} 0 & i \in T_k(R) \\ 1 & \text{otherwise} \end{cases},
# \qquad k = \operatorname{round}(q P)
# $$
#
# $$
# \text{mean:}\quad m_i = \mathbb{1}\!\left[R_i \ge \bar R\right], \qquad \bar R = \frac{1}{P}\sum_{j=1}^{P} R_j
# $$
#
# $$
# \text{perceptive:}\quad m_i = \mathbb{1}\!\left[\exists\, p \in T_n(R):\ \lVert c_i - c_p \rVert^2 \le r^2\right]
#   = \mathbb{1}\!\left[I_i > 0\right]
# $$
#
# with $q$ = `fraction` (the profile's `negative_fraction`, 0.1), `round` half to even, $n$ = `n` (the
# profile's `perceptive_n`, by default the study's mean number of fixations per image and
# annotator), $r$ = `cutoff` and $I$ the gaze heatmap of chapter 4 built from the $n$
# pseudo-fixations $T_n(R)$ with sigma = `sigma`. The negative mask removes the **most** relevant
# pixels, as in the paper. The mean mask keeps a pixel equal to the mean, and a constant map, which
# has nothing below its mean, is an error rather than an all-kept mask. The perceptive mask is the
# union of discs of radius $r$ around the $n$ pixels, the support of the cut heatmap, so $\sigma$
# does not change it (the code only checks it); the cut-off is this project's addition, since the
# paper's uncut Gaussian is never 0 and would keep every pixel. The three rules are the paper's
# masks {cite:p}`schiller2020relevance` put in formulas: $m_i = 0$ where $R_i$ is among the top 10 %
# (negative), where $R_i$ lies below the map's mean (mean), and where the heatmap $I_i$ is 0
# (perceptive); the code fixes what the paper's text leaves open: the count $k$, the order of
# ties, the cut-off. The masked image keeps pixel $i$ and fills the rest:
# $\tilde x_i = m_i x_i + (1 - m_i) f_i$ with the fill $f$ below (zero, the paper's, by default).
#
# The perceptive mask's sigma and cut-off (in image pixels) come from the study's geometry, worked
# through in chapter 4: the Gaussian's full width at half maximum is 40 % of a 5-degree visual
# span, and each pseudo-fixation's Gaussian is cut to zero beyond the span's radius.
#
# ## The three masks (Figure 8)
#
# As in the paper's figure, the removed area is tinted red: one row per mask type, one column per
# image (the first training images of different classes).

# %% tags=["hide-input"]
examples = train.first_of_each_class("Training")[: int(n_examples)]  # the first image of each class
fig = masks_figure(train.images, masks, examples, train.class_names, train.labels,
                   title=f"Negative, mean and perceptive masks ({kind}; removed area in red)")
viz.show(fig, "fig8-masks")

# %% [markdown]
# ## What a removed pixel becomes
#
# The paper sets removed pixels to 0. A constant fill lets the shape of the removed area carry
# information of its own (chapter 8), so `rbdm_core.masking.fills` registers other fills too, each
# giving $f_i$ per channel in grey levels (then rounded half to even and clipped to 0..255; the
# kept pixels never change). With $K$ the kept pixels of the image, $\mu_K$ and $s_K$ their mean
# and standard deviation (ddof 0), $\varepsilon_i \sim \mathcal N(0, 1)$ drawn per image, pixel and
# channel (Philox keyed by seed and image index):
#
# - `zero` (the paper's, `apply_mask`'s default): $f_i = 0$
# - `mean`: $f_i = \mu_K$
# - `blur`: $f = G_\sigma * x$, the whole image under a Gaussian blur of `sigma` = 5 px (reflecting edges)
# - `noise`: $f_i = \mu_K + s_K\,\varepsilon_i$
# - `noisy_linear` (ROAD's noisy linear imputation {cite:p}`rong2022road`): every removed pixel is
#   the weighted mean of its in-image neighbours, solved exactly for all removed pixels at once,
#   plus noise:
#
# $$
# f_p = \frac{\sum_{q \in \mathcal N(p)} w_{pq}\, v_q}{\sum_{q \in \mathcal N(p)} w_{pq}} + 255\cdot\mathtt{noise\_sd}\cdot\varepsilon_p
# $$
#
# $$
# w_{pq} = \begin{cases} 1/6 & q \text{ a direct neighbour of } p \\ 1/12 & q \text{ a diagonal neighbour of } p \end{cases}
# $$
#
# over $\mathcal N(p)$, the neighbours of $p$ that lie inside the image, with $v_q = x_q$ for a
# kept neighbour and $v_q = f_q$ (without the noise) for a removed one, and `noise_sd` = 0.01.
# Inside the image the weights sum to $4/6 + 4/12 = 1$, so
# $f_p = \tfrac16 \sum_\text{direct} v_q + \tfrac1{12} \sum_\text{diagonal} v_q + 255 \cdot 0.01\,\varepsilon_p$;
# at an edge or corner the sum runs over the neighbours that exist and is divided by their
# weights. An image that keeps no pixel takes 128 (mid-grey) under `mean`, `noise` and
# `noisy_linear`. The next cell applies every registered fill to the first image of Figure 8 under
# each mask.

# %% tags=["hide-input"]
fill_names = list(masking.FILL_NAMES)
display(viz.table(summary.fill_table(), caption="The registered fills (rbdm_core.masking.FILLS)"))
one = int(examples[0])  # the first image of Figure 8
filled = summary.filled_examples(train.images[one:], {t: masks[t][one:] for t in MASK_TYPES}, fill_names,
                                 seed=seed, start=one)
fig = fills_figure(filled, MASK_TYPES, fill_names,
                   title=f"One image under each mask and fill ({kind}; {train.class_names[train.labels[one]]})")
viz.show(fig, "fills")

# %% [markdown]
# ## How much does each mask keep?
#
# The negative mask removes a fixed share of every image; the other two adapt to the relevance
# map: the mean mask keeps the pixels above the mean, however many they are, and the perceptive
# mask keeps the union of `n` discs, which is smaller when the most relevant pixels cluster.

# %% tags=["hide-input"]
stats = summary.kept_by_type({t: masks[t] for t in MASK_TYPES}, train.regions)  # one row per (mask, image)
fig = kept_fraction_figure(stats, MASK_TYPES, title=f"Kept fraction per image ({len(train)} {kind} training images)")
viz.show(fig, "kept-fraction")

# %% tags=["computes"]
viz.table(summary.kept_summary(stats, MASK_TYPES),  # the paper's words: summary.PAPER_KEPT
          float_format="{:.3f}", caption="Kept fraction of the image (mean over images, 95% CI) beside the paper's description")

# %% [markdown]
# The paper describes the mean mask as removing about the less relevant half of the pixels. That
# holds only when the mean relevance sits near the median. The next cell measures, per image, the
# share of pixels above the mean, the median relative to the mean, and how much of the map's total
# the top 10 % of its pixels hold (`regions.relevance_concentration`): relevance maps with a
# few very relevant pixels and many near zero (a right-skewed distribution) have their mean well
# above their median, so the mean mask keeps far fewer than half of the pixels.

# %% tags=["computes"]
conc = regions.relevance_concentration(pipe.relevance(method=method), top=0.1)  # one row per image
viz.table(summary.skew_summary(conc, top=0.1), float_format="{:.3g}",
          caption=f"How skewed are the {method} relevance maps? ({kind} training images)")

# %% [markdown]
# ## Do the masks keep the class-defining regions?
#
# The synthetic faces come with their ground-truth regions (the facial parts whose action units
# express the class; chapter 1). For each mask, **precision** is the share of the kept pixels that
# lie in these regions and **recall** the share of the regions that is kept. A mask that ignored
# the relevance map and kept as many pixels at random would have a precision equal to the regions'
# share of the image and a recall equal to the kept share: that random mask
# (`masking.random_masks_like`, the same number of pixels per image) is the baseline. For the
# negative mask the interesting part is the one it **removes**: the removed-area precision says
# whether the Trainer's most relevant 10 % lie in the regions.

# %% tags=["computes"]
if train.regions is None:
    display(viz.prose("No ground-truth regions (real corpus): precision and recall are not available."))
else:
    prec = masking.region_scores({t: masks[t] for t in MASK_TYPES}, train.regions, seed=seed)
    display(viz.prose(f"ground-truth regions cover {train.regions.mean():.1%} of the pixels on average ({kind})"))
    display(viz.table(summary.region_score_table(prec, MASK_TYPES), caption=f"Precision and recall against the ground-truth regions ({kind}): mean [95% CI]"))

# %% tags=["computes"]
if train.regions is not None:
    display(viz.table(summary.precision_lift(prec, MASK_TYPES), float_format="{:.2f}", caption="Precision relative to a random mask of the same size (1 = chance)"))

# %% [markdown]
# A ratio above 1 for the kept pixels (mean and perceptive masks) means the mask keeps the
# class-defining regions more than chance would; above 1 for the removed pixels (negative mask)
# means it takes exactly those regions away, which is what the negative mask is for.
#
# ## Mask explorer
#
# The figure below holds precomputed masks for a few training images: pick a relevance method and
# a mask type in the menu and move the slider (the share removed by the negative mask, the number
# of pseudo-fixations of the perceptive mask; the mean mask has no knob). Rows: the image, the mask
# (white = kept) and the masked image. The relevance maps for these images are computed once per
# method and cached.

# %% tags=["hide-input"]
explore_idx = examples
explore_imgs = train.images[explore_idx]
methods = list(dict.fromkeys([method, "gradient"]))
# the profile's method: the training split's maps behind the masks (cached); others: these images only
rel = {m: pipe.relevance(method=m)[explore_idx] if m == method else pipe.relevance(images=explore_imgs, method=m)
       for m in methods}
states = summary.explorer_states(  # value: the negative mask's fraction or the perceptive mask's n
    rel, lambda mask_type, value: pipe.mask_params(mask_type, train.shape[0], fraction=value, n=value),
    fractions=(0.05, 0.1, 0.2, 0.3, 0.5), ns=(2, 4, 8, 16, 32))
fig = viz.explorer(explore_imgs, states, controls=["relevance", "mask", "fraction removed or n"],
                   titles=[train.class_names[train.labels[i]] for i in explore_idx],
                   title=f"Mask explorer ({kind} images)")
viz.show(fig, "mask-explorer")

# %% [markdown]
# In a live notebook (JupyterLab, VS Code) the cell below gives the same explorer with widgets and
# any value in between; it computes the masks on the fly. Its output is not part of the book.

# %% tags=["nbval-ignore-output", "hide-input"]
live = viz.live_explorer(
    explore_imgs,
    lambda relevance, mask, fraction, n: masking.make_masks(
        rel[relevance], mask, **pipe.mask_params(mask, train.shape[0], fraction=fraction, n=n)),
    {"relevance": methods, "mask": list(MASK_TYPES), "fraction": [0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7],
     "n": [1, 2, 4, 6, 8, 12, 16, 24, 32, 48]},
)
live

# %% [markdown]
# ## Summary
#
# - The three rules differ above all in how much they keep: the negative mask a fixed 90 %, the
#   mean mask what lies above the mean relevance, the perceptive mask only discs around the
#   Trainer's `n` most relevant pixels (the kept-fraction table above gives this run's numbers).
# - Against the synthetic ground truth, the precision table says whether the Trainer's relevance
#   points at the class-defining regions more than chance; the Trainee experiments of chapter 6
#   then ask whether training on such masked images helps.

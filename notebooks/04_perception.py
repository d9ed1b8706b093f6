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
# # 4. Human perception
#
# Before using the Trainer's relevance maps as a stand-in for human attention, the paper
# {cite:p}`schiller2020relevance` checks whether the two look at the same places. Two annotators
# labelled CK+ {cite:p}`lucey2010ckplus` while an eye tracker recorded their gaze; their fixations
# became heatmaps after Courtemanche et al. {cite:p}`courtemanche2018physiological` with the visual
# span of Blignaut {cite:p}`blignaut2010visual`, and the same heatmap built from the Trainer's most
# relevant pixels was compared with them (the paper's Table 1 and Figures 6 and 7).
#
# This chapter works through the study's geometry, simulates the annotators, detects their
# fixations from raw gaze samples, builds the human and the model heatmaps and scores their
# agreement, with the saliency-benchmark metrics {cite:p}`bylinskii2019metrics` added.
#
# The paper's recordings are not public. **Every gaze sample, fixation and annotator in this
# chapter is simulated** (`rbdm_core.data.annotators`): synthetic people with habits of their own
# who look at the eyes and at the facial regions that define each image's class. With
# `profile="paper"` the images are the real CK+ frames, but the annotators stay synthetic, unless
# the profile names a gaze recording (`roots: {gaze: FILE}`, a fixation table or raw samples,
# `rbdm_core.gaze.recordings`): then its participants replace the simulated annotators here and in
# chapters 5 and 6, the captions below say "recorded", and the first cell prints what was read
# and which rows were dropped.

# %% tags=["parameters", "remove-cell"]
profile = "quick"  # "quick": synthetic stand-ins; "paper": the real corpora (give the roots below)
run_dir = None  # run folder (None: $RBDM_RUN_DIR or ./runs)
seed = 0  # seed of the synthetic corpora and the simulated annotators
method = None  # relevance method of the model heatmaps (None: the profile's, deep Taylor)
fwhm_fraction = 0.4  # FWHM of the heatmap's Gaussian as a share of the visual span (Blignaut: 40 %)
cutoff = "radius"  # where a fixation's Gaussian is cut to 0: "radius" or "diameter" of the span, or image px
example_image = None  # gaze-study image of Figure 7 (None: a typical one, see below)
n_missed = 2  # images in Figure 13, picked by the rule stated there
ferplus_root = None  # folder with fer2013.csv and fer2013new.csv
affectnet_root = None  # AffectNet folder (Manually_Annotated_file_lists/ and the images)
ckplus_root = None  # CK+ folder (cohn-kanade-images/ and Emotion/)

# %% tags=["hide-input"]
import numpy as np
import pandas as pd

from rbdm_core import agreement, gaze, metrics, statistics, viz
from rbdm_core.pipeline import Pipeline, get_profile
from rbdm_core.ranking import pseudo_fixations

pipe = Pipeline(get_profile(profile), run_dir=run_dir, seed=seed,
                roots={"ferplus": ferplus_root, "affectnet": affectnet_root, "ckplus": ckplus_root})
images = pipe.gaze_images
study = pipe.gaze_study
geo = study.geometry
n_img, (side, _, channels) = len(images), images.shape
kind = "SYNTHETIC" if images.is_synthetic else "real"
# the annotators are simulated on either data; on real images they are labelled as such
gaze_kind = "SYNTHETIC" if images.is_synthetic else "SIMULATED"
display(viz.prose(f"gaze-study images: {n_img} {kind} CK+{'-like' if images.is_synthetic else ''} images of "
                  f"{side}x{side}x{channels}"))
who, tag = ("recorded", "RECORDED") if study.recorded else ("simulated", gaze_kind)
if study.recorded:
    display(viz.prose(study.describe()))
    display(viz.table(study.drop_report(), caption=f"Gaze recording {study.params['file']}: rows read and dropped"))
    if study.params["reader"].startswith("Eye Tribe"):  # both fixation detectors, the sidecar's marked
        from rbdm_core.gaze.recordings import eyetribe_detectors

        display(viz.table(eyetribe_detectors(study.params["file"], images), float_format="{:.3g}",
                          caption="The Eye Tribe recording's fixations by either detector (used: the sidecar's)"))
else:
    display(viz.prose(f"simulated annotators: {len(study.annotators)}, {len(study.fixations)} fixations, "
                      f"{len(study.samples)} gaze samples at {geo.sample_rate_hz:g} Hz ({gaze_kind})"))

# %% [markdown]
# ## The study's geometry
#
# The annotators sat 70 cm from a 27-inch monitor at 2560x1440 pixels, and each image filled a
# 1200x1200 pixel square in the middle of the screen. Blignaut's visual span is what a viewer
# takes in around a fixation, 5 degrees of visual angle, about the parafoveal area. A cone of full
# aperture θ cuts a disc of diameter 2 d tan(θ/2) out of a screen at distance d; divided by the
# pixel pitch it gives the span in screen pixels. Whether "span" means that disc's diameter or its
# radius is a convention the paper leaves open: `rbdm_core.gaze` takes the **diameter** (the width
# of the perceived area) and feeds it to the Gaussian, whose full width at half maximum is 40 % of
# the span. The images reach the network at a much smaller size, so every length is rescaled from
# the 1200 px display to the image side.
#
# A Gaussian never reaches zero, yet the perceptive mask of chapter 5 removes pixels "where the
# heatmap is zero", so the kernel must be cut off somewhere. The library's default, used here and
# by the perceptive masks, keeps a fixation's contribution within the span's **radius** (the disc
# of 5 degrees around the fixation) and sets it to 0 beyond; the parameter `cutoff` of this chapter
# changes it for this chapter's heatmaps only.
#
# What the next cell computes (`gaze.pixel_pitch_cm`, `gaze.visual_span_px`, `gaze.span_in_image_px`,
# `gaze.sigma_from_span`, `gaze.kernel_for_image`; names as in the code): the pixel pitch of the
# screen, the span (`convention="diameter"`; `"radius"` halves it), the span on the image and the
# Gaussian's sigma and cut-off there:
#
# $$
# \text{pitch} = \frac{2.54\,\mathtt{diagonal\_in}}{\sqrt{W_s^2 + H_s^2}}\ \text{cm},
# \qquad
# s = \frac{2\,\mathtt{distance\_cm}\,\tan(\mathtt{angle\_deg}/2)}{\text{pitch}}
# $$
#
# $$
# s_\text{img} = s\,\frac{\mathtt{image\_px}}{\mathtt{display\_px}},
# \qquad
# \sigma = \frac{\mathtt{fwhm\_fraction}\cdot s_\text{img}}{2\sqrt{2\ln 2}}
# $$
#
# $$
# r = \begin{cases} s_\text{img}/2 & \mathtt{cutoff} = \text{“radius” (default)}\\
#                    s_\text{img} & \mathtt{cutoff} = \text{“diameter”}\\
#                    \mathtt{cutoff} & \text{if a number of image px} \end{cases}
# $$
#
# in screen pixels, with `diagonal_in` = 27, $W_s \times H_s$ = 2560 x 1440, `distance_cm` = 70, `angle_deg` = 5,
# `display_px` = 1200, `image_px` = the image side and `fwhm_fraction` = 0.4. The paper's "c" is
# $\sigma$. The sigma comes from the 5-degree visual span, not from the 2-degree fovea, which
# only draws a ring in Figure 6. A fixation at screen point $(x_s, y_s)$ lands on the image at
# (`gaze.screen_to_image`, image pixel-centre coordinates, x = column, y = row)
#
# $$
# x = (x_s - x_0)\,\frac{W}{\mathtt{display\_px}} - \frac12, \qquad
# y = (y_s - y_0)\,\frac{H}{\mathtt{display\_px}} - \frac12
# $$
#
# $$
# x_0 = \frac{W_s - \mathtt{display\_px}}{2}, \qquad y_0 = \frac{H_s - \mathtt{display\_px}}{2}
# $$

# %% tags=["computes"]
pitch = gaze.pixel_pitch_cm()
span_d = gaze.visual_span_px(convention="diameter")
span_r = gaze.visual_span_px(convention="radius")
sigma_screen = gaze.sigma_from_span(span_d, fwhm_fraction)
paper_kernel = gaze.kernel_for_image(side, fwhm_fraction=fwhm_fraction, cutoff=cutoff)
geometry_rows = [
    ("pixel pitch of the 27-inch 2560x1440 screen", pitch * 10, "mm", "diagonal 68.58 cm / diagonal in px"),
    ("one degree of visual angle at 70 cm", geo.px_per_degree, "screen px", "2 d tan(0.5°) / pitch"),
    ("visual span 5°, diameter convention", span_d, "screen px", "2 d tan(2.5°) / pitch"),
    ("visual span 5°, radius convention", span_r, "screen px", "d tan(2.5°) / pitch"),
    ("Gaussian sigma (c) from the diameter", sigma_screen, "screen px", f"{fwhm_fraction:g} x span / 2.3548"),
    ("span as a share of the 1200 px display", span_d / gaze.DISPLAY_PX, "", "span / 1200"),
    (f"span on the {side} px image", paper_kernel.span, "image px", f"span x {side} / 1200"),
    (f"sigma on the {side} px image", paper_kernel.sigma, "image px", f"{fwhm_fraction:g} x span / 2.3548"),
    (f"cut-off on the {side} px image ({cutoff})", paper_kernel.cutoff, "image px", "contribution 0 beyond it"),
    ("cut-off in units of sigma", paper_kernel.cutoff / paper_kernel.sigma, "sigma", "value of the Gaussian there: "
     f"{np.exp(-0.5 * (paper_kernel.cutoff / paper_kernel.sigma) ** 2):.3g}"),
]
display(viz.table(pd.DataFrame(geometry_rows, columns=["quantity", "value", "unit", "how"]), float_format="{:.4g}",
                  caption="The paper's eye-tracking set-up worked through (rbdm_core.gaze)"))

# the kernel this chapter's heatmaps use: the study's own set-up (a recording's sidecar; the
# simulated annotators have the paper's)
kernel = gaze.kernel_for_geometry(geo, side, fwhm_fraction=fwhm_fraction, cutoff=cutoff)
display(viz.prose(gaze.describe_kernel(kernel, geo, side, study.params.get("sidecar_fields")
                                       if study.recorded else None)))

# %% [markdown]
# ## Foveal, parafoveal and peripheral vision (Figure 6)
#
# Around a fixation, acuity falls off from the fovea (about 2 degrees across) through the
# parafoveal area (up to the 5-degree span) to the periphery. The paper's Figure 6 draws these
# areas on a face; here the rings are computed from the geometry above for the first fixation of
# annotator 0 on an image that lands on the face rather than on the fixation cross. The shaded
# disc is the Gaussian that fixation adds to the heatmap, cut at the chosen cut-off.

# %% tags=["hide-input"]
fx = study.fixations
shape = (side, side)
field = gaze.visual_field(fx, shape, geo, kernel)  # annotator 0's first fixation off the cross
img0 = field.image_index
fig = viz.visual_field_figure(images.images[img0], field,
                              title=f"Areas of vision around one fixation<br><sup>image {img0} ({kind}), {who} "
                                    "fixation; shaded: its cut Gaussian</sup>")
viz.show(fig, "fig6-visual-field")

# %% [markdown]
# ## Simulated annotators: samples, fixations and their detection
#
# The tracker samples gaze 60 times a second. Fixations, the steady phases between saccades, are
# what heatmaps are built from, so they must first be found in the samples. The simulation knows
# the fixations that generated its samples, which lets us check a detector: the dispersion-threshold
# algorithm I-DT {cite:p}`salvucci2000identifying` (`gaze.detect_fixations_idt`) declares a
# fixation wherever the samples of at least 100 ms stay within a box whose width plus height is
# below a threshold.
#
# The threshold should sit just above the spread that tracker noise alone produces during one
# fixation. The simulated noise is about 0.3 degrees RMS; converted to screen pixels with the
# geometry above, the spread (width + height) of a typical fixation's samples under such noise has
# the 95th percentile computed below (`gaze.dispersion_threshold_px`, for independent
# Gaussian noise over a median-length fixation; the simulated noise drifts, which spreads less, so
# the threshold errs on the generous side).

# %% tags=["computes"]
if study.recorded:  # no generating fixations to check a detector against
    display(viz.prose(f"Recorded gaze ({study.params['reader']}): the fixations are the recording's, so the "
                      "check of I-DT against generating fixations below applies to simulated annotators only "
                      "and is skipped."))
else:
    jitter_deg = float(study.params["jitter_deg"])
    win = int(round(fx.duration_ms.median() * geo.sample_rate_hz / 1000))
    threshold = gaze.dispersion_threshold_px(jitter_deg, geo.px_per_degree, win, quantile=0.95, seed=seed)
    display(viz.prose([f"jitter {jitter_deg:g} deg RMS = {jitter_deg * geo.px_per_degree:.1f} screen px; median "
                       f"fixation {fx.duration_ms.median():.0f} ms = {win} samples",
                       f"I-DT dispersion threshold: {threshold:.1f} screen px = {threshold / geo.px_per_degree:.2f} deg"]))

# %% [markdown]
# One scanpath, annotator 0 on the image of Figure 6: the raw samples (grey dots, lost samples and
# blinks left out), the fixations that generated them (numbered circles, area proportional to
# duration) and the fixations I-DT recovers from the samples (crosses).

# %% tags=["hide-input"]
if not study.recorded:
    path = gaze.scanpath(study.samples, fx, field.annotator, img0, shape, geo, dispersion_px=threshold)
    fig = viz.scanpath_figure(images.images[img0], path,
                              title=f"A simulated scanpath<br><sup>{len(path.fixations_xy)} generating vs "
                                    f"{len(path.detected_xy)} detected fixations (annotator {field.annotator}, "
                                    f"image {img0})</sup>")
    viz.show(fig, "scanpath")

# %% [markdown]
# Over the whole study, each detected fixation is paired with at most one generating fixation
# (closest pairs first, at most one threshold apart; `gaze.match_fixations`). Halving and
# doubling the threshold shows why it matters: too tight, and noise splits fixations (more detected
# than generated); too loose, and neighbouring fixations merge.

# %% tags=["computes"]
# the table is the cell's value (shown), with a recording there is none
detection = (gaze.detection_sweep(study.samples, fx, threshold, geo.px_per_degree, factors=(0.5, 1.0, 2.0))
             if not study.recorded else None)
(viz.table(detection, float_format="{:.3g}",
           caption=f"I-DT against the generating fixations, whole study ({gaze_kind} samples)")
 if not study.recorded else None)

# %% [markdown]
# The heatmaps below use the generating fixations themselves (the detector's output would serve
# as well, as the table shows); the paper used the fixations its tracker software reported.
#
# ## Human and model heatmaps
#
# Each annotator's heatmap of an image sums the cut Gaussians of their fixations on it
# (`gaze.fixation_heatmaps`, which calls `gaze.heatmap` per annotator and image). At the pixel in
# column $x$ and row $y$, for fixations $(x_k, y_k)$, $k = 1 \dots K$, on the image:
#
# $$
# I(x, y) = \sum_{k=1}^{K} w_k \exp\!\left(-\frac{(x - x_k)^2 + (y - y_k)^2}{2\sigma^2}\right)
#           \mathbb{1}\!\left[(x - x_k)^2 + (y - y_k)^2 \le r^2\right]
# $$
#
# with $\sigma$ and $r$ = `kernel.sigma` and `kernel.cutoff` from above (`cutoff=None` drops the
# indicator: the uncut sum used for the benchmark metrics further down) and $w_k = 1$ (`weights=None`;
# the code can weight by duration, this chapter does not). Fixations off the image are dropped
# first; an image without fixations has $I = 0$. The code does **not** normalise $I$: it is the raw
# sum, so a pixel near $m$ fixations can exceed 1, and each metric below normalises as it needs
# (Spearman and cosine distance do not depend on the scale; SIM and KL divide by the sum; NSS
# standardises). The paper's heatmap {cite:p}`schiller2020relevance` is this sum without the
# indicator; the cut-off is this project's addition, needed because the perceptive mask removes "where the heatmap is 0".
#
# The model's heatmap is the same construction with the Trainer's `n`
# most relevant pixels as fixations, `n` being the mean number of fixations per image and
# annotator in the study (a simulated study in the quick profile, so `n` reflects the simulator's
# setting rather than human viewing), exactly the pseudo-fixations of the perceptive mask
# (`gaze.model_heatmaps`): $(x_k, y_k)$ runs over $T_n(R)$, the centres of the $n$ pixels with the
# largest relevance $R$ (ties by the lower row-major index), $n$ = `round(pipe.mean_fixations())`. The relevance maps are the Trainer's on the gaze-study images,
# a domain it never saw in training (posed, gray CK+-like faces against the AffectNet-like
# training images), as in the paper, where a Trainer trained on AffectNet looked at CK+.
#
# As a floor, the same heatmap from `n` random pixels per image shows what agreement chance alone
# gives; as a ceiling, the two annotators are compared with each other.

# %% tags=["computes"]
n_fix = pipe.perceptive_n()
relevance = pipe.relevance(images=images.images, method=method)
human = gaze.fixation_heatmaps(fx, n_img, shape, kernel.sigma, kernel.cutoff, geometry=geo)
model = gaze.model_heatmaps(relevance, n_fix, kernel.sigma, kernel.cutoff)
chance = gaze.random_heatmaps(n_img, shape, n_fix, kernel.sigma, kernel.cutoff, seed=seed)
valid = human.n_fixations > 0
per_annotator = pd.DataFrame({"annotator": human.annotators,
                              "mean fixations per image": human.n_fixations.mean(axis=1),
                              "fixations off the image": human.n_dropped.sum(axis=1),
                              "images with a heatmap": valid.sum(axis=1)})
if study.recorded:  # the participants' own names beside the annotator numbers
    per_annotator.insert(1, "participant", study.annotators.set_index("annotator").participant[human.annotators].to_numpy())
display(viz.prose(f"n = {n_fix} pseudo-fixations per image (mean fixations per image and annotator: "
                  f"{pipe.mean_fixations():.2f}); relevance method: {method or pipe.profile.relevance_method}"))
viz.table(per_annotator, float_format="{:.3g}", caption=f"{who.capitalize()} annotators ({tag})")

# %% [markdown]
# ## Table 1: how far do model and annotators agree?
#
# Per image: the **overlap** of the heatmaps' supports (the masks inside their contours,
# intersection over union), the **Spearman** rank correlation and the **cosine distance** of the
# two heatmaps (0 = proportional maps, 1 = nothing in common), then the mean over images with a 95 %
# confidence interval (`agreement.table1_scores`, `statistics.summarise`). With $s$ the model's (or
# the random pixels', or the first annotator's) cut heatmap and $h$ the annotator's, both flattened
# over the $P$ pixels of the image (`metrics.overlap`, `metrics.spearman`, `metrics.cosine_distance`):
#
# $$
# \text{overlap} = \frac{|\{i : s_i > 0\} \cap \{i : h_i > 0\}|}{|\{i : s_i > 0\} \cup \{i : h_i > 0\}|}
# $$
#
# $$
# \rho_\text{Spearman} = \operatorname{corr}\big(\operatorname{rank}(s), \operatorname{rank}(h)\big),
# \qquad
# d_\text{cos} = 1 - \frac{\sum_i s_i h_i}{\sqrt{\sum_i s_i^2}\,\sqrt{\sum_i h_i^2}}
# $$
#
# where corr is Pearson's correlation and tied values share their average rank. Each is NaN when
# it is undefined (both supports empty, a constant map, an all-zero map) and then left out of the
# mean and counted.

# %% tags=["computes"]
scores = agreement.table1_scores(model, chance, human.maps, human.annotators, valid=valid)
table1 = statistics.summarise(scores, by=["comparison", "metric"], sort=False)  # rows in the scores' order
order = list(dict.fromkeys(scores.comparison))
viz.table(statistics.pivot_intervals(table1, row="comparison", column="metric", columns=metrics.TABLE1_METRICS),
          caption=f"Table 1 (this run, {tag} annotators): mean [95% CI] over images")

# %% [markdown]
# The paper's Table 1 did not survive in the text available to us, so its numbers cannot be set
# beside ours cell by cell. What its text states: the heatmaps of each annotator and of the model
# share roughly 40 % of their pixels, and Spearman correlation and cosine distance indicate a
# medium agreement. The next cell checks our overlap against that figure.

# %% tags=["computes"]
ov = table1[(table1.metric == "overlap") & table1.comparison.str.startswith("model")]
paper_vs_ours = pd.DataFrame({
    "comparison": ov.comparison,
    "the paper (text, quoted)": "overlap about 0.40; Spearman and cosine: medium agreement",
    "overlap, this run": [statistics.format_interval(m, lo, hi) for m, lo, hi in zip(ov["mean"], ov.ci_low, ov.ci_high)],
    "0.40 inside the 95% CI": [bool(lo <= 0.40 <= hi) for lo, hi in zip(ov.ci_low, ov.ci_high)],
    "difference from 0.40": ov["mean"] - 0.40,
})
viz.table(paper_vs_ours, float_format="{:+.3f}", caption="Overlap of model and annotator heatmaps: the paper's text vs this run")

# %% [markdown]
# ## Saliency-benchmark metrics
#
# Saliency research scores a predicted map against where people actually fixated with a standard
# set of metrics {cite:p}`bylinskii2019metrics`: **NSS** (the standardised map's mean value at the
# fixated pixels; 0 = chance), **AUC-Judd** (how well the map's values separate fixated from other
# pixels; 0.5 = chance), and, against the human fixation density, **CC** (linear correlation),
# **SIM** (histogram intersection, 1 = identical distributions) and **KL** (divergence of the
# model's distribution from the human one; lower is better). These need maps that are positive
# everywhere, so here both the model's and the annotators' heatmaps are the uncut Gaussian sums
# (same sigma, no cut-off). Besides the model, each annotator is also predicted by the other
# annotator's heatmap (the inter-observer reference) and by random pixels
# (`agreement.benchmark_scores`).
#
# As `rbdm_core.metrics` computes them, with $s$ the predicting map, $h$ the annotator's uncut
# heatmap and $F$ the annotator's fixated pixels (the pixel holding each fixation,
# `gaze.study_fixation_maps`), over the $P$ pixels of an image:
#
# $$
# \text{NSS} = \frac{1}{|F|}\sum_{i \in F} \frac{s_i - \bar s}{\operatorname{sd}(s)},
# \qquad
# \text{CC} = \operatorname{corr}(s, h)
# $$
#
# $$
# \text{SIM} = \sum_i \min(\hat s_i, \hat h_i),
# \qquad
# \hat a_i = \frac{a_i - \min a}{\sum_j (a_j - \min a)}
# $$
#
# $$
# \text{KL} = \sum_i \tilde h_i \log\!\left(\epsilon + \frac{\tilde h_i}{\tilde s_i + \epsilon}\right),
# \qquad \tilde a_i = \frac{a_i}{\sum_j a_j},\quad \epsilon = 2.22 \cdot 10^{-16}
# $$
#
# $$
# \text{AUC-Judd} = \sum_{j=0}^{|F|} \frac{(\text{FPR}_{j+1} - \text{FPR}_j)\,(\text{TPR}_{j+1} + \text{TPR}_j)}{2}
# $$
#
# (sd with ddof 0; $\hat a$ is the min-max rescaling followed by division by the sum). For AUC-Judd the
# thresholds $t_1 \ge \dots \ge t_{|F|}$ are the values of $s$ at the fixated pixels,
# $\text{TPR}_j = j / |F|$ and $\text{FPR}_j = (|\{i : s_i \ge t_j\}| - j) / (P - |F|)$ for
# $j = 1 \dots |F|$, and the curve is closed by $(\text{FPR}, \text{TPR}) = (0, 0)$ at $j = 0$ and
# $(1, 1)$ at $j = |F| + 1$ (the benchmark's version without its random jitter, so it is
# deterministic).

# %% tags=["computes"]
human_full = gaze.fixation_heatmaps(fx, n_img, shape, kernel.sigma, None, geometry=geo)
model_full = gaze.model_heatmaps(relevance, n_fix, kernel.sigma, None)
chance_full = gaze.random_heatmaps(n_img, shape, n_fix, kernel.sigma, None, seed=seed)
ids, fixmaps = gaze.study_fixation_maps(fx, n_img, shape, geo)
bench = agreement.benchmark_scores(model_full, chance_full, human_full.maps, fixmaps, ids, valid=valid)
bench_sum = statistics.summarise(bench, by=["comparison", "metric"], sort=False)
viz.table(statistics.pivot_intervals(bench_sum, row="comparison", column="metric", columns=agreement.BENCHMARK_METRICS),
          caption=f"Saliency-benchmark metrics, predictor -> annotator's fixations ({tag} annotators): mean [95% CI]")

# %% [markdown]
# KL divergence punishes a predicted map that is nearly zero where a person looked: a heatmap of
# `n` cut-free Gaussians of sigma below two pixels is almost zero away from its points, so one
# fixation outside them costs a lot. NSS, AUC-Judd and CC are the more robust readings here.

# %% tags=["computes"]
med = bench_sum.pivot(index="comparison", columns="metric", values="mean")
readout = pd.DataFrame([
    {"annotator": a,
     **{f"{m} {p}": med[m].get(f"{p} -> annotator {a}", np.nan) for m in ("nss", "auc_judd")  # NaN: no image shared
        for p in ("model", "other annotator", "random pixels")}}
    for a in ids])
viz.table(readout, float_format="{:.3f}", caption="NSS and AUC-Judd side by side: model, other annotator, random pixels")

# %% [markdown]
# ## Figure 7: two annotators and the model on one image
#
# The paper's Figure 7 sets the two annotators' heatmaps beside the model's for one CK+ image.
# Unless `example_image` is given, the image shown here is a typical one: the image whose mean
# overlap between the model and the annotators lies closest to the mean over all images.

# %% tags=["hide-input"]
ex = int(example_image) if example_image is not None else agreement.typical_image(scores, "overlap", "model")
if not 0 <= ex < n_img:
    raise ValueError(f"example_image: expected 0 <= example_image < {n_img}, got {example_image!r}")
label = images.class_names[images.labels[ex]]
fig = viz.heatmaps_figure(images.images[ex], human.maps[:, ex], human.annotators,
                          gaze.annotator_points(fx, ex, human.annotators, shape, geo),
                          model[ex], pseudo_fixations(relevance[ex:ex + 1], n_fix)[0],
                          title=f"Heatmaps on image {ex}<br><sup>{label}, {kind} image; {who} annotators and the "
                                "model; dots: (pseudo-)fixations</sup>")
viz.show(fig, "fig7-heatmaps")
viz.table(scores[scores.image_index == ex].pivot(index="comparison", columns="metric", values="value").loc[
    [c for c in order if c in set(scores[scores.image_index == ex].comparison)]].reset_index(), float_format="{:.3f}",
          caption=f"scores on this image (image {ex})")

# %% [markdown]
# ## Figure 13: the annotators fixate what the Trainer misses
#
# The paper's Figure 13 shows a CK+ image of disgust that the Trainer called anger: the annotator
# looked mainly at the wrinkled nose, which defines disgust, while the Trainer's most relevant
# pixels lay on the mouth, nose and eyes. Here the images are chosen by a rule computed in code
# (`gaze.region_shares`, `gaze.select_missed_cues`) from the Trainer's predictions on the
# gaze-study images, the simulated fixations and the images' ground-truth regions $G$ (the facial
# parts that define the class; for neutral faces, eyes and mouth by the generator's convention).
# Per image, with $F$ the counted fixations of all annotators (each annotator's first fixation,
# the one on the central fixation cross, left out) and $T_n(R)$ the Trainer's $n$ most relevant
# pixels, the same $n$ pseudo-fixations as the model heatmaps above:
#
# $$
# \text{fixation share} = \frac{|\{f \in F : \operatorname{pix}(f) \in G\}|}{|F|},
# \qquad
# \text{relevance share} = \frac{|T_n(R) \cap G|}{n}
# $$
#
# $$
# \text{gap} = \text{fixation share} - \text{relevance share}
# $$
#
# where $\operatorname{pix}(f)$ is the pixel holding fixation $f$. The rule, printed by the next cell,
# takes the misclassified images with the largest gap. The annotators are **simulated**: they are
# built to look at the ground-truth regions, so a large fixation share is by construction, and the
# figure shows where the Trainer's relevance falls short of them, not how real people looked.

# %% tags=["computes"]
bundle = pipe.trainer.bundle
if images.regions is None:
    missed = None
    display(viz.prose("No ground-truth regions on these images (real corpus): Figure 13's rule needs them; skipped."))
else:
    true_cls = np.asarray(images.class_names, dtype=object)[images.labels]
    pred_cls = np.asarray(bundle.class_names, dtype=object)[bundle.predict(images.images)]
    shares = gaze.region_shares(fx, images.regions, relevance, n_fix, true_cls, pred_cls, geometry=geo)
    missed = gaze.select_missed_cues(shares, k=n_missed)
    display(viz.prose("Rule: " + missed.rule,
                      f"Trainer correct on {int(shares.correct.sum())} of {n_img} gaze-study images ({kind}).",
                      missed.sentence))
    cols = {"image_index": "image", "true": "true class", "predicted": "predicted class",
            "fixations": "counted fixations", "fixation_share": "fixation share in region",
            "top_pixels_in_region": f"top-{n_fix} pixels in region", "relevance_share": "relevance share in region",
            "gap": "gap"}
    display(viz.table(missed.chosen[list(cols)].rename(columns=cols), float_format="{:.3f}",
                      caption=f"Figure 13's images by the rule ({who.upper()} annotators, {kind} images)"))

# %% [markdown]
# Per chosen image, left: the image with its ground-truth region tinted red and the annotators'
# fixations, numbered in viewing order per annotator (annotator 0 blue, annotator 1 orange; the
# grey 0 is the uncounted fixation on the cross). Right: the model's heatmap of the section above
# (cut Gaussians around the $n$ pseudo-fixations) and its $n$ most relevant pixels as white dots
# (hover for their rank, 1 = most relevant).

# %% tags=["hide-input"]
if missed is not None and len(missed.chosen):
    chosen = missed.chosen.image_index.to_numpy()
    fig = viz.missed_cues_figure(missed.chosen, images.images[chosen], images.regions[chosen],
                                 gaze.numbered_fixations(fx, chosen, human.annotators, shape, geo), human.annotators,
                                 model[chosen], gaze.ranked_top_pixels(relevance[chosen], n_fix),
                                 title=("Figure 13: fixated, yet missed by the Trainer" if missed.qualified else
                                        "Figure 13: no misclassified image qualifies, the closest case(s)")
                                 + f"<br><sup>{kind} images, {who.upper()} annotators; red: ground-truth region</sup>")
    viz.show(fig, "fig13-missed-cues")

# %% [markdown]
# ## Summary
#
# - The study's geometry fixes the heatmap kernel: a 5-degree span is about 262 screen pixels
#   across, 22 % of the 1200 px display, so about a fifth of a 48 px image; its Gaussian has a
#   sigma of 40 % of that over 2.35, and the perceptive masks cut it at the span's radius.
# - I-DT with a dispersion threshold derived from the tracker noise recovers the simulated
#   fixations; halving or doubling the threshold splits or merges them.
# - The Trainer's heatmaps agree with the simulated annotators far above the random-pixel floor,
#   at a level the tables above put beside the annotators' agreement with each other and the
#   paper's reported overlap of about 40 %. The annotators here are simulated to look at the
#   ground-truth regions of each class, so these numbers say that the Trainer's relevance falls
#   on those regions, not how real people look at real faces.
# - Figure 13's images are picked by a stated rule: among the images the Trainer misclassifies,
#   those where the simulated annotators' fixations fall in the class-defining region most and the
#   Trainer's most relevant pixels least; the table above gives the numbers of this run.

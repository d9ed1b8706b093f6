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
# # 8. Beyond the paper
#
# The paper {cite:p}`schiller2020relevance` closes its discussion with three openings that it does
# not test: the method is not tied to one Trainer and could pool the knowledge of several; its
# perceptive mask imitates human gaze and could be fed by real fixations instead; and, implicitly,
# everything rests on the relevance maps marking pixels that matter. This chapter tries all three
# on this run's data, with the library functions in `rbdm_core.masking` and `rbdm_core.roar`:
#
# 1. **several Trainers**: masks from every Trainer candidate of chapter 2, and from their
#    relevance maps combined, scored against the ground-truth regions;
# 2. **human fixations as the mask source**: the perceptive mask built from the annotators'
#    fixations (simulated, or recorded when the profile names a recording) next to the one built
#    from the model's most relevant pixels, and a
#    Trainee trained on fixation masks beside the one trained on relevance masks;
# 3. **a ROAR-style check** {cite:p}`hooker2019roar`: retrain the Trainee on images with the most
#    relevant pixels removed, and with as many random pixels removed; if the ranking means
#    anything, the first should hurt more.
#
# None of this is in the paper, so there are no paper numbers to compare with. **All numbers in this
# chapter are synthetic** unless the profile is `paper`; with the synthetic corpora, ground-truth
# regions exist, which real corpora do not have.

# %% tags=["parameters"]
profile = "quick"  # "quick": synthetic stand-ins; "paper": the real corpora (give the roots below)
run_dir = None  # run folder (None: $RBDM_RUN_DIR or ./runs)
seed = 0  # seed of the synthetic corpora
mask_type = "mean"  # mask compared across Trainers: "mean", "negative" or "perceptive"
trainers_split = "PublicTest"  # target-corpus split whose images the several-Trainers section masks
roar_fractions = [0.1, 0.3, 0.5]  # shares of pixels removed in the ROAR check
roar_epochs = 3  # Trainee epochs per ROAR run
roar_seed = 0  # Trainee seed (and seed of the random removal) in the ROAR check
fixation_trainee = True  # train Trainees on masks from (simulated) fixations on their training images
workers = 1  # processes training the fixation Trainee runs at once (the results are the same)
ferplus_root = None  # folder with fer2013.csv and fer2013new.csv (paper profile)
affectnet_root = None  # AffectNet folder (paper profile)
ckplus_root = None  # CK+ folder (paper profile)

# %%
import numpy as np
import pandas as pd
import plotly.graph_objects as go

import textwrap

from rbdm_core import beyond, masking, statistics, viz
from rbdm_core.roar import pipeline_roar
from rbdm_core.pipeline import Pipeline, get_profile

pipe = Pipeline(get_profile(profile), run_dir=run_dir, roots={"ferplus": ferplus_root, "affectnet": affectnet_root,
                                                              "ckplus": ckplus_root}, seed=seed)
data_kind = "SYNTHETIC" if pipe.target.is_synthetic else "real"

print(f"profile {pipe.profile.name}: {data_kind} data; selected Trainer {pipe.trainer_architecture}")

# %% [markdown]
# ## 1. Masks from several Trainers
#
# Chapter 2 trained every Trainer candidate and kept the best. The others have been trained all
# the same, and each can explain the target images. Their relevance maps live on different scales
# (each explains its own logit), so before combining them every map is divided by the sum of its
# absolute values; the combination is then their mean, with equal weights or weighted by each
# Trainer's validation F1. A mask is built from each map as in chapter 5. Two more combinations
# work on the masks instead of the maps: the union (keep what any Trainer keeps) and the
# intersection (keep what all keep).

# %%
cands = pipe.trainer_candidates()
display(viz.table(cands, float_format="{:.3f}", caption="Trainer candidates (chapter 2): validation F1"))
target_split = pipe.target.select_split(trainers_split)
images, regions = target_split.images, target_split.regions
params = pipe.mask_params(mask_type, images.shape[1])
maps = {a: pipe.relevance(images, architecture=a) for a in cands.architecture}
masks = {a: masking.make_masks(m, mask_type, **params) for a, m in maps.items()}
f1 = cands.set_index("architecture").best_f1
combined = {
    "maps averaged (equal weights)": masking.combine_relevance(list(maps.values())),
    "maps averaged (F1 weights)": masking.combine_relevance(list(maps.values()), weights=[max(f1[a], 0) for a in maps]),
}
sources = {f"{a} alone": m for a, m in masks.items()}
sources.update({k: masking.make_masks(v, mask_type, **params) for k, v in combined.items()})
sources["union of the masks"] = masking.combine_masks(list(masks.values()), "union")
sources["intersection of the masks"] = masking.combine_masks(list(masks.values()), "intersection")
arch = list(masks)
agree = masking.mask_iou(masks[arch[0]], masks[arch[-1]])
print(f"{len(images)} {trainers_split} images, {mask_type} masks ({params or 'no parameters'})\n"
      f"IoU of the masks of {arch[0]} and {arch[-1]}: mean {np.nanmean(agree):.3f}")

# %%
if regions is None:
    print("These images carry no ground-truth regions (real data): the precision table is skipped.")
else:
    prec = masking.mask_precision(sources, regions)
    display(viz.table(statistics.format_columns(prec, ["precision"]), float_format="{:.3f}",
                      caption=f"{mask_type} masks by source, {trainers_split} ({data_kind.lower()}): kept share, "
                              "precision (kept pixels inside the ground-truth regions, mean [95% CI]), recall"))
    singles = [f"{a} alone" for a in arch]
    print("\n".join(beyond.combination_lines(sources, regions, singles,
                                             list(combined) + ["union of the masks", "intersection of the masks"])))
    print(textwrap.fill(beyond.dilution_sentence(sources, regions, singles, *combined), 100))

# %% [markdown]
# Each line above compares a combination with the best single Trainer image by image: "higher" or
# "lower" only when the 95% interval of the paired difference in precision lies wholly on that
# side of zero, "cannot tell" when it contains zero. Precision alone rewards keeping little: the
# intersection keeps fewer pixels than any single Trainer, so read it with the kept fraction and
# the recall beside it. A weaker Trainer (see the F1s above) produces maps that say less about the
# class and can dilute an equal-weight average; the sentence after the lines says whether it did
# here, and whether the F1 weights did better.

# %%
idx = np.arange(3)
rows_img, removed, titles = [], [], []
for i in idx:
    for name, m in sources.items():
        rows_img.append(images[i])
        removed.append(~m[i])
        titles.append(name.replace(" (", "<br>(").replace(" of the", "<br>of the").replace(" alone", "<br>alone"))
# removed pixels washed out in white, kept pixels as they are
fig = viz.image_grid(np.stack(rows_img), titles, overlays=np.stack(removed), cols=len(sources), cell_px=125,
                     overlay_color=(255, 255, 255), overlay_opacity=0.85,
                     title=f"{mask_type} masks of {len(idx)} {trainers_split} images by source ({data_kind.lower()}): "
                           "removed pixels washed out")
viz.show(fig, "several-trainers-masks")

# %% [markdown]
# ## 2. Human fixations as the mask source
#
# The perceptive mask (chapter 5) keeps the pixels within the visual span of a fixation; for the
# Trainer it takes the *n* most relevant pixels as pseudo-fixations, *n* being the mean number of
# fixations per image in the gaze study. The paper suggests using real human fixations instead. On
# the gaze study's images both are available: each annotator's fixations give a mask directly (the
# support of the cut gaze heatmap, same kernel and cut-off), the Trainer's relevance gives the other.
#
# Whether these annotators are simulated or recorded (a profile that names a `gaze` root replaces
# the simulated annotators by its recording, as in chapter 4) is printed first below, with what
# that means for the numbers.

# %%
gz = pipe.gaze_images
study = pipe.gaze_study
print(textwrap.fill(beyond.gaze_caution(study), 100) + "\n")
k = pipe.gaze_kernel(gz.images.shape[1])
n = pipe.perceptive_n()
human = masking.human_masks(study.fixations, len(gz), gz.images.shape[1:3], k.sigma, k.cutoff, geometry=study.geometry)
model_maps = pipe.relevance(images=gz.images)
model_masks = masking.make_masks(model_maps, "perceptive", n=n, sigma=k.sigma, cutoff=k.cutoff)
hv = masking.human_vs_model(human, model_masks, gz.regions)
long = hv.melt(id_vars=["annotator", "image_index"], var_name="measure", value_name="value")
tab = statistics.summarise(long, by=["annotator", "measure"])
print(f"{len(gz)} gaze images ({data_kind.lower()}), {len(human.annotators)} annotators\n"
      f"n = {n} pseudo-fixations, sigma {k.sigma:.2f} px, cut-off {k.cutoff:.2f} px")
shown = statistics.format_columns(tab.rename(columns={"mean": "v_mean", "ci_low": "v_ci_low", "ci_high": "v_ci_high"}), ["v"])
shown = shown.pivot(index="measure", columns="annotator", values="v")
shown.columns = [f"annotator {a}" for a in shown.columns]
viz.table(shown.reset_index(),
          caption=f"Human (fixations) vs model (top-{n} pixels) perceptive masks: IoU, kept shares"
                  + (", ground-truth precision" if gz.regions is not None else " (no ground-truth regions: real data)")
                  + f" (mean [95% CI] over {len(gz)} images)")

# %%
human_union = masking.combine_masks(list(human.masks), "union")
gaze_sources = {f"annotator {a}": human.masks[i] for i, a in enumerate(human.annotators)}
gaze_sources["annotators' union"] = human_union
gaze_sources["model: n most relevant pixels"] = model_masks
if gz.regions is None:
    print("These images carry no ground-truth regions (real data): the precision table is skipped.")
else:
    display(viz.table(statistics.format_columns(masking.mask_precision(gaze_sources, gz.regions), ["precision"]),
              float_format="{:.3f}",
              caption=f"Perceptive masks on the gaze images by source ({data_kind.lower()}), precision, mean [95% CI]"))

# %%
show_idx = np.flatnonzero(human.n_fixations.min(axis=0) > 0)[:4]
imgs, titles, overlays = [], [], []
for i in show_idx:
    for name, m in (("annotators", human_union[i]), ("model", model_masks[i])):
        imgs.append(gz.images[i])
        overlays.append(m)
        titles.append(f"{gz.class_names[gz.labels[i]]}<br>{name}")
fig = viz.image_grid(np.stack(imgs), titles, overlays=np.stack(overlays), cols=4,
                     title=f"Perceptive masks (kept area in red)<br><sup>annotators' fixations vs the model's "
                           f"top-{n} pixels, {data_kind.lower()}</sup>")
viz.show(fig, "human-vs-model-masks")

# %% [markdown]
# ### A Trainee taught by fixations
#
# The paper's proposed next step goes one further: let human fixations, not the Trainer's
# relevance, decide what the Trainee sees. That needs fixations on the Trainee's own training
# images. No one has recorded gaze on FERPlus, so here the simulated annotators of chapter 4 (the
# simulator, even when the gaze images above have a recording) view
# every training and validation image of the synthetic target corpus (`Pipeline.fixation_masks`):
# a pixel is kept when at least one annotator perceives it (the support of their cut gaze heatmap,
# as above). Two variants are trained with the chapter 6 recipe and seeds, `fixations` (masked
# throughout) and `fixations-then-unmasked` (switching at the same epoch), and set beside the
# perceptive variants, whose masks come from the Trainer's top pixels through the same kernel, and
# beside no mask. The verdict lines compare them seed by seed, with the rules of chapter 6.

# %%
from rbdm_core import curves, verdicts
from rbdm_core.training import all_curves

if fixation_trainee and pipe.target.is_synthetic:
    fix = pipe.fixation_masks("Training")
    per = pipe.masks("perceptive")
    print(f"kept share of the training images ({data_kind.lower()}): fixation masks {fix.mean():.3f}, "
          f"perceptive (relevance) masks {per.mean():.3f}; images no annotator looked at: "
          f"{int((fix.sum(axis=(1, 2)) == 0).sum())} of {len(fix)}")
    names = ["no-mask", "perceptive", "fixations", "perceptive-then-unmasked", "fixations-then-unmasked"]
    fix_runs = pipe.trainee_runs(names, workers=workers)
    fix_curves = all_curves(fix_runs)
    fix_summary = curves.trainee_summary(fix_curves, reference="no-mask",
                                         early_step=int(pipe.profile.switch_epoch * fix_runs[0].steps
                                                        / pipe.profile.trainee_epochs))
    shown = statistics.format_columns(fix_summary.table, ["early_f1", "best_f1", "final_f1"])
    masked_final = statistics.summarise(curves.final_values(fix_curves).dropna(), by=["variant"],
                                        value="validation-masked", sort=False)
    shown = shown.merge(statistics.format_columns(masked_final.rename(columns={
        "mean": "m_mean", "ci_low": "m_ci_low", "ci_high": "m_ci_high"}), ["m"])[["variant", "m"]],
        on="variant", how="left").fillna({"m": ""})
    display(viz.table(shown[["variant", "early_f1", "best_f1", "final_f1", "m"]].rename(columns={
        "early_f1": "F1 at the switch", "best_f1": "best F1", "final_f1": "final F1",
        "m": "final F1 on masked images"}),
        caption=f"Fixation masks vs relevance (perceptive) masks ({data_kind.lower()}, simulated annotators): "
                f"validation macro-F1, mean [95% CI] over {len(pipe.profile.seeds)} seeds"))
    runs = fix_summary.runs
    fix_claims = [
        verdicts.higher(runs, "fixations", "perceptive", "final_f1",
                        "fixation masks train a better Trainee than relevance masks (throughout)", "proposed"),
        verdicts.higher(runs, "fixations-then-unmasked", "perceptive-then-unmasked", "final_f1",
                        "...and when switching to plain images", "proposed"),
        verdicts.sooner(runs, "fixations-then-unmasked", "no-mask",
                        "fixations-then-unmasked reaches the target F1 sooner than no mask", "proposed"),
    ]
    for v in fix_claims:
        print(f"{v.claim}: {v.sentence}")
else:
    print("no fixation Trainee: " + ("fixation_trainee is False" if not fixation_trainee else
                                     "no gaze was recorded on the real Trainee corpus"))

# %% [markdown]
# ## 3. Does the relevance ranking matter? A ROAR-style check
#
# Hooker et al. {cite:p}`hooker2019roar` proposed *RemOve And Retrain*: remove the pixels an
# explanation ranks highest, retrain a model from scratch on the modified images, and compare its
# test accuracy with that of a model trained on images with as many **random** pixels removed.
# Retraining matters: a model trained on full images would fail on any removal simply because the
# images look unfamiliar. If the ranked removal hurts more than the random one, the ranking found
# information the model needs; if not, the explanation is no better than chance at this job.
#
# Here: the Trainee architecture, trained for `roar_epochs` epochs on the target corpus's training
# split with a share k of each image's pixels set to zero, most relevant first (the negative mask
# of chapter 5 with fraction k) or at random; its validation images are masked the same way (with
# their own relevance maps), as ROAR evaluates on the modified test set. One caveat of ROAR also
# applies: the *shape* of the removed area can itself carry class information, so a ranked removal
# may hurt less than expected.

# %%
roar = pipeline_roar(pipe, fractions=roar_fractions, epochs=roar_epochs, seed=roar_seed,
                                mask_seed=roar_seed)
viz.table(roar, float_format="{:.3f}",
          caption=f"ROAR ({data_kind.lower()}): validation macro-F1 after {roar_epochs} epochs on images with a share of pixels removed")

# %%
base_f1 = float(roar[roar.removal == "none"].final_f1.iloc[0])
fig = go.Figure()
for removal, name in (("relevance", "most relevant pixels removed"), ("random", "random pixels removed")):
    sub = roar[roar.removal == removal]
    fig.add_trace(go.Scatter(x=[0.0, *sub.fraction], y=[base_f1, *sub.final_f1], mode="lines+markers", name=name))
fig.update_layout(title=f"ROAR: final validation F1 vs share of pixels removed<br><sup>{data_kind.lower()}, "
                        f"seed {roar_seed}, {roar_epochs} epochs</sup>",
                  xaxis_title="share of pixels removed (k)", yaxis_title="validation macro-F1", height=440,
                  legend={"orientation": "h", "y": -0.2})
viz.show(fig, "roar")

# %%
piv = roar[roar.removal != "none"].pivot(index="fraction", columns="removal", values="final_f1")
worse = piv.relevance < piv.random
above = piv.relevance > base_f1
print(f"ranked removal hurts more than random removal at {int(worse.sum())} of {len(piv)} fractions "
      f"({', '.join(f'k={f:g}' for f in piv.index[worse]) or 'none'})")
print(f"ranked removal scores above the unmasked baseline ({base_f1:.3f}) at {int(above.sum())} of {len(piv)} "
      f"fractions ({', '.join(f'k={f:g}' for f in piv.index[above]) or 'none'})\none seed: small gaps are noise")

# %% [markdown]
# How to read the outcome. ROAR's logic expects the ranked curve *below* the random one. Two things
# can turn that around here, and the second line above tells whether they do:
#
# - **The removed shape is information.** The relevance maps explain the Trainer's *predicted*
#   class, and their most relevant pixels sit on the features that define it; a hole punched there
#   outlines the eyes, brows or mouth of that class on every training *and* validation image. A
#   Trainee can learn from the outline itself, so a ranked removal that scores above the unmasked
#   baseline is a sign of this leak (and the same mechanism the paper offers for its negative mask
#   doing well: the zeroed pixels act as a highlight). ROAR's verdict on the explanation is then
#   not clean.
# - **Few epochs measure speed, not content.** With `roar_epochs` this small, a model that has not
#   yet left its initial plateau scores at chance whatever its images still contain; scattered
#   random holes are a noisier input for a small CNN, which can delay its start. Longer training
#   (`-p roar_epochs 10`) separates the two.

# %% [markdown]
# ## Summary
#
# - Combining Trainers is a one-line change of the mask source (`masking.combine_relevance`,
#   `masking.combine_masks`); whether it helps depends on how good each Trainer is, which the
#   precision table shows on the synthetic ground truth.
# - Fixations can replace pseudo-fixations in the perceptive mask without any other change
#   (`masking.human_masks`); the line printed at the start of section 2 says whether the
#   annotators were recorded or simulated, and so whether the comparison is a finding about people
#   or a demonstration of the plumbing.
# - The ROAR check asks whether the Trainer's relevance ranking carries information a fresh model
#   needs. With class-dependent masks on the test images too, it also lets the mask's shape leak
#   the Trainer's prediction; with one seed and a few epochs, raise `roar_epochs` or repeat with
#   other `roar_seed` values before drawing conclusions.

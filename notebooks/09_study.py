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
# # 9. When does masking help? A controlled study
#
# Chapter 6 trains every Trainee variant on the quick profile, and it cannot tell most of them
# apart: a few hundred steps and three seeds leave intervals wider than the differences. It also
# runs in a world with little to remove. The paper's argument {cite:p}`schiller2020relevance` is
# that a Trainer's relevance shows a new network where the expression is, so that it wastes less
# time on everything else. The embedded faces differ in the action-unit regions and in little
# else, so hiding the rest hides almost nothing that could slow learning down.
#
# This chapter changes both conditions. It does something the paper could not do with its corpora:
# it sets the amount of distraction by hand and measures, with intervals over seeds, whether
# masking helps more as there is more to ignore.
#
# **The world.** The synthetic generator takes a *nuisance* level from 0 (the faces of the other
# chapters, byte for byte) to 1. Five factors grow with it: background clutter, more varied
# identities, harsher lighting, occluders over the face, and a *spurious cue*. The spurious cue is
# a corner patch whose grey level gives away the class in the training images only. A network
# that reads the patch looks perfect in training and fails on held-out images; one that reads the
# face does not. The cue sits in another corner, with another palette, in the Trainer's corpus than
# in the Trainee's, as shortcuts do in real data sets. One seed gives the same people, expressions
# and splits at every level. Only the nuisance changes, and the ground-truth regions follow it
# exactly (an occluder removes what it hides).
#
# **The study.** The `standard` profile trains a Trainer at each of several nuisance levels, then
# every Trainee variant with every seed of the profile. The seven variants use the paper's zero
# fill, and the six masked ones run again with the leak-free fill of chapter 6. The corpora are
# larger than the quick profile's, with enough validation images in every class for a per-class
# F1 to mean something. The whole study takes more than an hour on two CPU cores (the measured
# time is printed below), too long for every continuous-integration run. This chapter therefore
# reads the study's results: from this run folder when `rbdm study` has written them there,
# otherwise from the small results folder committed with rbdm, written by the same command. The
# command and its measured run time are printed with the results, and every number below is
# computed from those files.
#
# **All numbers in this chapter are synthetic.** The paper's own experiments use FERPlus and
# AffectNet and do not vary nuisance, so no paper number is comparable to the ones here.

# %% tags=["parameters"]
study_dir = None  # a study folder written by `rbdm study` (None: this run folder's, else the committed one)
run_dir = None  # run folder (None: $RBDM_RUN_DIR or ./runs)
reach_fraction = 0.9  # the target F1: this fraction of no mask's final F1 at each level
confidence = 0.95  # confidence of the intervals (the verdicts make the masked variants one family)
examples = 8  # faces shown per nuisance level

# %%
from pathlib import Path

import numpy as np
import pandas as pd

from rbdm_core import dose_response as dr
from rbdm_core import statistics, study, viz
from rbdm_core.data import nuisance
from rbdm_core.data.synthetic import make_domain
from rbdm_core.profiles import VARIANTS

path, origin = (Path(study_dir), "given") if study_dir else study.locate(run_dir)
res = study.load(path)
meta, prof = res.meta, res.meta["profile"]
levels = [float(x) for x in meta["levels"]]
fills = list(meta["fills"])
curves = res.curves
steps_per_epoch = int(round(float(np.median(
    (curves.step / curves.epoch.where(curves.epoch > 0)).dropna()))))
switch_step = prof["switch_epoch"] * steps_per_epoch
table = dr.table(curves, switch_step=switch_step, fraction=reach_fraction)

print(f"SYNTHETIC study: results from the {origin} study folder\n"
      f"made by: {meta['command']}\n"
      f"measured: {meta['runs']} Trainee runs (and {len(levels)} Trainers) in {meta['seconds'] / 60:.0f} min "
      f"with {meta['workers']} worker processes of one TensorFlow thread each, on {meta['cpu_count']} CPU cores\n"
      f"profile {prof['name']}: {prof['target_n']} target images, {prof['trainee']} Trainee, {prof['trainee_epochs']} "
      f"epochs ({steps_per_epoch} steps each; the *-then-unmasked variants switch after epoch {prof['switch_epoch']}, "
      f"step {switch_step}), seeds {prof['seeds']}, at least {prof['min_per_class']} validation images per class\n"
      f"nuisance levels {levels}; fills {fills}")

# %% [markdown]
# ## The nuisance factors
#
# The same faces at each level: the first row is the world of the other chapters. The table says
# what each factor does at level 1. At level *x* a factor is drawn *x* times as strongly, or in a
# share *x* of the images.

# %%
display(viz.table(pd.DataFrame({"factor": list(nuisance.FACTORS),
                                "at level 1": [nuisance.DESCRIPTIONS[f] for f in nuisance.FACTORS]}),
                  caption="The nuisance factors (rbdm_core.data.nuisance)"))
shown = [make_domain("ferplus_like", n=64, seed=1, nuisance=lv) for lv in levels]
idx = np.arange(examples)
names = shown[0].class_names
fig = viz.image_grid(np.concatenate([d.images[idx] for d in shown]),
                     [f"{lv:g}: {names[d.labels[i]]}" for lv, d in zip(levels, shown) for i in idx],
                     cols=examples, cell_px=110)
viz.show(fig, "nuisance-levels")

# %% [markdown]
# ## The premise: does nuisance slow plain training, and where does the Trainer look?
#
# Before asking whether masks help against nuisance, two things must hold. First, nuisance must
# cost the plain (no-mask) Trainee something; otherwise there is nothing for a mask to win back.
# Second, the Trainer's relevance must still fall on the face: on the class regions more than their
# share of the image, and not on the Trainee corpus's spurious patch. The table gives, per level,
# the Trainer's validation F1, the share of its positive relevance that falls inside the class
# regions and on the patch corner (each next to that area's share of the image), and the share of
# the patch corner each mask keeps (next to the share of the image it keeps).

# %%
pre = res.premise.copy()
cols = {"level": "nuisance", "trainer_f1": "Trainer F1", "relevance_in_regions": "relevance in regions",
        "regions_area": "regions' area", "relevance_on_patch": "relevance on patch corner",
        "patch_area": "patch corner's area"}
for m in study.MASK_TYPES:
    cols[f"{m}_kept"] = f"{m}: kept"
    cols[f"{m}_kept_on_patch"] = f"{m}: kept of patch"
display(viz.table(pre[list(cols)].rename(columns=cols), float_format="{:.3f}",
                  caption="The Trainer and its masks at each nuisance level (SYNTHETIC)"))
for sentence in dr.trainer_sentences(pre):
    print(sentence)
prem = dr.premise(table, confidence)
prem_show = pd.DataFrame({
    "nuisance": prem.level,
    "no mask: final F1": [statistics.format_interval(a, b, c) for a, b, c in prem[["final_f1", "final_f1_low", "final_f1_high"]].to_numpy()],
    f"vs nuisance {levels[0]:g}": [statistics.format_interval(a, b, c) if i else "" for i, (a, b, c) in
                                   enumerate(prem[["vs_lowest", "vs_lowest_low", "vs_lowest_high"]].to_numpy())],
    "seeds reaching the nuisance-free target": [f"{r} of {s}" for r, s in prem[["reached", "seeds"]].to_numpy()],
    "median steps to it": prem.steps_median.map(lambda v: "never (censored)" if np.isnan(v) else f"{v:.0f}"),
})
display(viz.table(prem_show, caption=f"No mask at each level, {int(confidence * 100)} % intervals over seeds (SYNTHETIC)"))
print(dr.verdict(table, confidence)[0])

# %% [markdown]
# How to read these lines: the method can only pass on what the Trainer knows. A lift near 1 means
# the Trainer's relevance falls on the class regions no more often than chance would put it there.
# A mask that keeps more of the patch corner than of the image as a whole hands the Trainee the
# shortcut instead of hiding it. Both depend on how well the Trainer itself learned the nuisance-laden
# source corpus: a mask can hide distraction only where the Trainer's relevance points at the
# expression. Whether hiding it then helps the Trainee is what the dose-response below measures.
#
# The no-mask curves themselves show whether the study trains long enough: a curve still climbing
# at its last epoch would make every final-F1 comparison a comparison of speeds. The gain over the
# last epoch is printed under the figure.

# %%
nm = curves[(curves.variant == "no-mask") & (curves.split == "validation")].copy()
nm["nuisance"] = nm.level.map(lambda v: f"nuisance {v:g}")
fig = viz.line_band(nm, "step", "value", "nuisance", title="No mask: validation macro-F1 over training (SYNTHETIC)",
                    xlabel="training step", ylabel="macro-F1")
viz.show(fig, "no-mask-by-level")
last = nm.step.max()
for lv in levels:
    g = nm[nm.level == lv].set_index(["seed", "step"]).value.unstack("step")
    before = g.loc[:, g.columns[g.columns <= last - steps_per_epoch].max()]
    gain = statistics.interval(g[last] - before, confidence)
    print(f"nuisance {lv:g}: F1 gain over the last epoch {gain}")

# %% [markdown]
# ## Dose-response
#
# For each masked variant, both fills and each level, the figure compares the variant with no mask
# seed by seed:
#
# - **top**, the speed-up: the training steps saved on the way to the level's target F1
#   (the parameter `reach_fraction` of no mask's final F1). A run that never reaches the target is counted
#   at the end of its training. That can only shrink a saving or a loss, so the number is a
#   conservative bound.
# - **bottom**, the cost or gain at the end: final macro-F1 minus no mask's.
#
# The error bars are intervals over the seeds. A bar that crosses the dotted zero line means the
# study cannot tell that variant from no mask at that level.

# %%
eff = dr.effects(table, confidence)
order = {v: i for i, v in enumerate(VARIANTS)}
eff = eff.sort_values(["level", "fill", "variant"], kind="stable",
                      key=lambda c: c.map(fills.index) if c.name == "fill" else c.map(order) if c.name == "variant" else c)
fig = viz.dose_response(eff, fills=fills, order=[v for v in VARIANTS if v != "no-mask"])
viz.show(fig, "dose-response")
show = pd.DataFrame({
    "nuisance": eff.level, "fill": eff.fill, "variant": eff.variant,
    "final F1 - no mask": [statistics.format_interval(a, b, c) for a, b, c in eff[["final_diff", "final_diff_low", "final_diff_high"]].to_numpy()],
    "F1 at the switch - no mask": [statistics.format_interval(a, b, c) for a, b, c in eff[["early_diff", "early_diff_low", "early_diff_high"]].to_numpy()],
    "steps saved (bound)": [statistics.format_interval(a, b, c, fmt="{:.0f}") for a, b, c in eff[["steps_saved", "steps_saved_low", "steps_saved_high"]].to_numpy()],
    "sooner / later / tied": [f"{a} / {b} / {c}" for a, b, c in eff[["sooner", "later", "ties"]].to_numpy()],
    "final F1 on masked images": eff.final_masked.map(lambda v: f"{v:.3f}"),
})
display(viz.table(show, caption=f"Each masked variant against no mask, {int(confidence * 100)} % intervals over "
                                f"seeds (SYNTHETIC)"))

# %% [markdown]
# ## Verdict
#
# The sentences below are generated from the table above. They follow the rules of chapter 6,
# with one change. All masked variants are compared with no mask at each level, so a variant counts
# as differing from no mask only when its interval excludes zero with all of them made
# simultaneous at the stated confidence (Bonferroni; the per-interval level is printed). Without
# that correction, intervals at 95 % each would exclude zero by chance alone about once in twenty.

# %%
conf_family = dr.family_confidence(table, confidence)
n_masked = len([v for v in pd.unique(table.variant) if v != "no-mask"])
print(f"simultaneous intervals: {conf_family * 100:.2f} % each, {confidence * 100:.0f} % for the {n_masked} together")
for sentence in dr.verdict(table, confidence)[1:]:
    print(sentence)
tr = dr.trends(table, conf_family)
display(viz.table(pd.DataFrame({
    "fill": tr.fill, "variant": tr.variant,
    f"change of (final F1 - no mask) from nuisance {levels[0]:g} to {levels[-1]:g}":
        [statistics.format_interval(a, b, c) for a, b, c in tr[["change", "low", "high"]].to_numpy()],
    "direction": tr.side}), caption=f"Dose-response per variant, simultaneous intervals (SYNTHETIC)"))

# %% [markdown]
# ## Re-running the study
#
# `rbdm study --profile standard` re-creates the results shown here (the command printed at the
# top, with its measured time). Every Trainer, mask and Trainee run is cached in the run folder, so
# an interrupted study resumes, and this chapter then reads that folder instead of the committed
# one. Options: `--levels` for other nuisance levels, `--fill` for another leak-free fill,
# `--workers` for more processes on a larger machine. The study's numbers depend on the worker
# setting (one TensorFlow thread per process, portable CPU kernels), which is recorded in
# `meta.json`. The chapter's parameters change the analysis, not the runs: `reach_fraction` moves
# the target F1, and `confidence` the intervals.

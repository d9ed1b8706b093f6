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
# :::{container} rbdm-evidence
# The answer, generated from the study's effects (the evidence: {ref}`one paragraph per condition <study-answer>` and {ref}`every comparison <study-comparisons>`):
# :::
#
# ```{glue:any} study-answer
# ```
#
# The paper {cite:p}`schiller2020relevance` argues that a Trainer's relevance maps show a new
# network where the expression is, so that it learns faster and is distracted less. Chapter 6
# re-runs the paper's experiment at a small scale and cannot decide most of its claims. This
# chapter asks a question the paper's corpora cannot answer: **in which conditions can masking
# help at all, and how much of that possible help does the paper's method deliver?**
#
# A study can only answer that where the method's premises hold, so this one is built around them.
#
# - **A Trainer that is a teacher.** Each Trainer learns on its own large AffectNet-like source
#   corpus with no nuisance at all, so it never sees the Trainee's shortcut. Its quality is an
#   input of the study, reported per world below (F1 on the Trainee's test images, and where its
#   relevance falls), and there are two of them, a strong and a weak one.
# - **The Trainee's world, one factor at a time.** The FERPlus-like Trainee corpus is drawn in
#   several worlds: a *spurious* corner patch whose grey level gives away the class in every
#   training image (held-out images have no patch: a decoy, as in Ross et al.'s decoy MNIST
#   {cite:p}`ross2017right`), background *clutter*, *occluders* over the face, and all five
#   nuisance factors together. Training sets are class-balanced and nested (the 20 images per
#   class are among the 200), and the ground-truth regions follow every world exactly.
# - **Controls.** Beside no mask and the paper's masks, every condition has the **oracle**, a
#   mask no Trainer could beat (the union of every expression region drawn on the face at rest,
#   less what occluders hide, so its outline says nothing about the class) and a **random** mask
#   that keeps as many pixels as the mean mask, image by image. The oracle is the positive
#   control: where even it does not help, the condition leaves the method no room to show
#   anything, and answers nothing. The random mask is the negative control: a relevance mask that
#   is no better than it transfers nothing. Where the oracle helps most, a
#   **dial** blends the Trainer's ranking into the oracle, and the weak Trainer's masks run too.
# - **Honest measures.** The reported F1 is on PrivateTest, plain images, with the last step's
#   weights; PublicTest is used for model selection, the learning curves and the choice of where
#   the dial runs, and never reported as a result. A *cue-flipped* copy of PrivateTest (the patch
#   shows another class's grey) measures how much a Trainee reads the patch. Learning speed is the
#   area under the PublicTest curve.
#
# **One multiplicity rule**, used by every figure and every sentence below: in each condition the
# comparisons with no mask are one family per measure, and each interval is a paired Student-t
# interval over the seeds at the Bonferroni-adjusted confidence, so the verdicts of a condition
# hold together at the stated confidence. A verdict says *higher* or *lower* only when the whole
# interval lies on one side of zero.
#
# The study takes too long to run in every build, so this chapter reads its committed results
# (`rbdm study --profile standard` writes them; the command and its measured time are printed
# below). **Everything in this chapter is synthetic**: no paper number is comparable to these.

# %% tags=["parameters", "remove-cell"]
study_dir = None  # a study folder written by `rbdm study` (None: this run folder's, else the committed one)
run_dir = None  # run folder (None: $RBDM_RUN_DIR or ./runs)
metric = "final_f1_test"  # the measure the answer is given in (a metric of effects.csv)
examples = 6  # faces shown per world

# %% tags=["hide-input"]
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import display
from myst_nb import glue

from rbdm_core import dose_response as dr
from rbdm_core import study, viz
from rbdm_core.data.worlds import WORLDS, make_world

path, origin = (Path(study_dir), "given") if study_dir else study.locate(run_dir)
res = study.load(path)
meta, design = res.meta, res.meta["design"]
where = meta["phase_two"]
conf = design["confidence"]
display(viz.prose(
    f"SYNTHETIC study, read from the {origin} study folder. Made by `{meta['command']}`: {meta['runs']} Trainee "
    f"runs in {meta['seconds'] / 60:.0f} min with {meta['workers']} worker processes of one TensorFlow thread each, "
    f"on {meta['cpu_count']} CPU cores. Trainee `{design['trainee']}`, {design['steps']} steps of "
    f"{design['batch']} images, validated every {design['eval_every']} steps; "
    f"{len(design['seeds'])} seeds; the *-then-unmasked variants switch to plain images after "
    f"{design['switch_fraction']:.0%} of their epochs."))

# %% [markdown]
# (study-answer)=
# ## The answer
#
# In short (`dose_response.answer`, the paragraph this page opens with), then one paragraph per
# condition, generated from the effects table (the measure is the parameter `metric`; the
# intervals are the family-wise ones described above).

# %% tags=["computes"]
glue("study-answer", viz.prose(dr.answer(res.effects, design["primary"], metric), kind="answer"))
viz.prose(*dr.helps(res.effects, res.premise, design["primary"], metric))

# %% [markdown]
# ## The worlds
#
# The same test faces in each world, then the cue-flipped copy of the spurious world and the
# oracle mask of the last world (white: kept).

# %% tags=["hide-input"]
shown = {w: make_world(w, max_per_class=2, val_per_class=1, test_per_class=1) for w in WORLDS}
idx = np.arange(examples)
names = shown["spurious"].test.class_names
rows = [(w, shown[w].test.images[idx]) for w in WORLDS]
rows.append(("spurious, flipped", shown["spurious"].flipped.images[idx]))
rows.append(("oracle mask", (shown["all"].oracle_test[idx, ..., None] * 255).astype(np.uint8)))
fig = viz.image_grid(np.concatenate([r for _, r in rows]),
                     [f"{w}: {names[shown['spurious'].test.labels[i]]}" for w, _ in rows for i in idx],
                     cols=examples, cell_px=100)
viz.show(fig, "study-worlds")

# %% [markdown]
# ## The Trainers
#
# Per world and Trainer: F1 on the world's PrivateTest images, the share of its positive relevance
# that falls in the ground-truth regions divided by their share of the image (the lift: 1 is
# chance), the same for the spurious patch's corner, and what each mask keeps of the image.

# %% tags=["hide-input"]
pre = res.premise
cols = {"world": "world", "trainer": "Trainer", "trainer_f1_test": "F1 on the target", "lift": "lift on regions",
        "patch_lift": "lift on patch corner", "negative_kept": "negative: kept", "mean_kept": "mean: kept",
        "perceptive_kept": "perceptive: kept", "oracle_kept": "oracle: kept"}
display(viz.table(pre[list(cols)].rename(columns=cols), float_format="{:.3f}",
                  caption="The Trainers in each world (SYNTHETIC)"))
display(viz.prose(dr.trainer_summary(pre)))

# %% [markdown]
# (study-comparisons)=
# ## Every comparison
#
# Each point is a variant's mean difference from no mask over the seeds, with the family-wise
# interval of its verdict; green is the oracle, grey the random control. The table gives the same
# intervals for the final F1, the learning speed (area under the validation curve) and the
# cue-flipped F1.

# %% tags=["hide-input"]
viz.show(viz.effects_figure(res.effects, metric, title=f"{metric} − no mask (SYNTHETIC)"), "study-effects")
display(viz.table(dr.summary_table(res.effects), caption="Each variant against no mask, family-wise intervals "
                                                         f"at {conf:.0%} per condition (SYNTHETIC)"))

# %% [markdown]
# ## The shortcut
#
# How much each Trainee reads the patch: its F1 on the cue-flipped test images minus its F1 on the
# plain ones (95 % intervals over seeds; no family correction: this is a description, not a
# verdict). In worlds without the patch there is nothing to flip.

# %% tags=["computes"]
sc = dr.shortcut(res.runs[res.runs.world.isin(["spurious", "all"])], 0.95)
display(viz.table(pd.DataFrame({
    "world": sc.world, "per class": sc.train_per_class, "variant": sc.variant, "fill": sc.fill, "Trainer": sc.trainer,
    "flipped − plain F1": [f"{a:+.3f} [{b:+.3f}, {c:+.3f}]" for a, b, c in sc[["flip_cost", "low", "high"]].to_numpy()],
    "verdict": sc.verdict}), badges=["verdict"], caption="Cost of a flipped patch (SYNTHETIC)"))

# %% [markdown]
# ## Mask quality and the teacher
#
# In the condition where the oracle's benefit on the validation split was largest (chosen by the
# study before anything was scored on PrivateTest), the dial keeps as many pixels as the oracle
# and takes a share of them from the oracle region; the x-axis is the measured share of kept
# pixels inside the oracle region. The weak Trainer's mask runs there too.

# %% tags=["hide-input"]
display(viz.prose(f"Phase two ran in **{where['world']}, {where['train_per_class']} per class**, with the "
                 f"{dr.schedule_name(where['schedule'])} schedule and the {where['fill']} fill."))
viz.show(viz.dial_figure(res.effects, res.runs, where["world"], where["train_per_class"], metric,
                                   title="Benefit against mask quality (SYNTHETIC)"), "study-dial")
display(viz.prose(dr.teacher_sentence(res.effects, res.premise, where, design["primary"], metric)))

# %% [markdown]
# ## What the design left out, and re-running it
#
# The standard design keeps the schedule and fill in which a pilot showed the oracle helping
# (masked, then plain images; the noisy linear fill), with the paper's zero fill beside it, in
# four conditions. The masked-throughout schedule runs in the `quick` design only (a machinery
# check), and the random control is the mean mask's. The cost of the full factorial:

# %%
viz.prose(dr.cost_sentence(meta))

# %% [markdown]
# `rbdm study --profile standard` re-creates the results; every Trainer, mask set and run is
# cached in the run folder, so an interrupted study resumes, and this chapter then reads that
# folder.

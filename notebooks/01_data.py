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
# # 1. The data
#
# The paper {cite:p}`schiller2020relevance` uses three facial-expression corpora, each for its own
# job: a large one to train the *Trainer*, a mid-sized one on which the *Trainee* is trained with and
# without masks, and a small posed one for the eye-tracking study. This chapter introduces them,
# puts the paper's image counts next to the data this run actually used, and shows example images.
#
# The real corpora are licensed by their owners and do not ship with this book. By default
# (profile `quick`) every chapter runs on an **embedded synthetic stand-in**: faces drawn
# procedurally from facial action units, one generator per corpus, imitating its image format,
# splits and class balance. Because the generator decides which action units express a class, it
# also knows, for every image, the facial regions that define its class: the *ground-truth regions*
# later chapters compare relevance maps and masks against. Real data never has such a ground truth.

# %% tags=["parameters", "remove-cell"]
profile = "quick"  # "quick": synthetic stand-ins; "paper": the real corpora (give the roots below)
run_dir = None  # run folder (None: $RBDM_RUN_DIR or ./runs)
seed = 0  # seed of the synthetic corpora (the same seed makes the same images)
n_affectnet = None  # images in the AffectNet-like corpus (None: the profile's size)
n_ferplus = None  # images in the FERPlus-like corpus (None: the profile's size)
n_ckplus = None  # images in the CK+-like corpus, two per sequence (None: the profile's size)
ferplus_root = None  # folder with fer2013.csv and fer2013new.csv
affectnet_root = None  # AffectNet folder (Manually_Annotated_file_lists/ and the images)
ckplus_root = None  # CK+ folder (cohn-kanade-images/ and Emotion/)

# %% tags=["hide-input"]
from rbdm_core import viz
from rbdm_core.data import FERPLUS_CLASSES
from rbdm_core.data import synthetic
from rbdm_core.data.summary import PAPER_N, counts_table, paper_counts_table, sequence_pairs, share_table
from rbdm_core.pipeline import Pipeline, get_profile
from rbdm_core.viz.corpora import class_examples_figure, counts_figure, sequence_pairs_figure

run_prof = get_profile(profile)  # the profile the later chapters run with
synthetic_run = run_prof.synthetic and not (run_prof.roots or {}).get("folder")
if synthetic_run:  # the stand-ins always have the quick profile's sizes
    prof = get_profile("quick", source_n=n_affectnet, target_n=n_ferplus, gaze_n=n_ckplus)
    pipe = Pipeline(prof, run_dir=run_dir, seed=seed)
    names = {"source": "AffectNet-like", "target": "FERPlus-like", "gaze": "CK+-like"}
else:  # the real corpora, read as the later chapters read them (roots: the profile's or given here)
    prof = run_prof
    pipe = Pipeline(prof, run_dir=run_dir, seed=seed,
                    roots={"ferplus": ferplus_root, "affectnet": affectnet_root, "ckplus": ckplus_root})
    like = {True: "-like", False: ""}
    names = {"source": "AffectNet" + like[pipe.source.is_synthetic],
             "target": "image folder" if "folder" in pipe.roots else "FERPlus" + like[pipe.target.is_synthetic],
             "gaze": "CK+" + like[pipe.gaze_images.is_synthetic]}
corpora = {
    names["source"]: pipe.source,  # the Trainer's corpus
    names["target"]: pipe.target,  # the Trainee's corpus
    names["gaze"]: pipe.gaze_images,  # the gaze study's images
}
lines = []
for name, ds in corpora.items():
    kind = "SYNTHETIC" if ds.is_synthetic else "real"
    h, w, c = ds.shape
    lines.append(f"{name} {kind}: {len(ds)} images of {h}x{w}x{c}, splits {', '.join(ds.splits)}")
viz.prose(lines)

# %% [markdown]
# ## The method at a glance (the paper's Figure 1)
#
# The paper's method moves knowledge from one network to another through the data. A *Trainer*
# is trained on the large source corpus and the best of several candidate architectures is kept
# (chapter 2). It classifies each image of the target corpus, and deep Taylor decomposition turns
# that decision into a relevance map, one value per pixel (chapter 3). Each map becomes a binary
# mask in three ways (chapter 5): the *negative* mask hides the most relevant pixels, the *mean*
# mask hides the pixels less relevant than the map's average, and the *perceptive* mask keeps what
# a viewer fixating the most relevant pixels would see. The number of such pseudo-fixations comes
# from an eye-tracking study, in which the annotators' gaze heatmaps on the posed images are also
# compared with heatmaps built from the Trainer's relevance (chapter 4). Finally a *Trainee* learns
# on the masked images, in some variants only for the first epochs and then on the full images, and
# is always validated on unmasked images (chapter 6). The diagram is drawn by
# `rbdm_core.viz.method_diagram` from this run's profile: its boxes name the profile's Trainer
# candidates, relevance method, masks, Trainee and switch epoch.

# %% tags=["hide-input"]
from rbdm_core.masking import PAPER_MASK_TYPES

source, target, gaze_images = corpora  # the names above: the stand-ins', or the corpora read
fig = viz.method_diagram(
    trainer_candidates=run_prof.trainer_candidates, relevance_method=run_prof.relevance_method,
    mask_types=PAPER_MASK_TYPES, trainee=run_prof.trainee, switch_epoch=run_prof.switch_epoch,
    source=source, target=target, gaze_images=gaze_images, title=f"The method, as profile {run_prof.name!r} runs it")
viz.show(fig, "method")

# %% [markdown]
# ## The three corpora in the paper
#
# **AffectNet** {cite:p}`mollahosseini2017affectnet` was collected by querying web search engines
# with emotion-related keywords; trained annotators labelled each face with one of eleven
# categories (the eight emotions used throughout this book plus *none*, *uncertain* and
# *non-face*) and with valence and arousal. The paper removes images that occur repeatedly with
# conflicting labels (keeping one copy of each) and the three non-emotion categories, and keeps the
# authors' training/validation split; the validation set serves as test set, as the official test
# set was not released. It trains the Trainer.
#
# **FERPlus** {cite:p}`barsoum2016ferplus` re-labels the 48x48 grayscale faces of FER2013: ten
# crowd workers voted on each image among the same eight emotions plus *unknown* and *not a face*.
# The paper takes the majority vote as the label, drops images whose majority is *unknown* or *not
# a face*, and keeps the official Training / PublicTest / PrivateTest assignment. The Trainee
# learns on it, masked and unmasked.
#
# **CK+** {cite:p}`lucey2010ckplus` holds posed expression sequences recorded in the lab, each
# going from a neutral face to the apex of one expression, with emotion labels validated against
# the action units shown. The paper takes the last frame of each labelled sequence as an example
# of its emotion and the first frame as an example of *neutral*. Annotators' gaze was recorded on
# these images (chapter 4).
#
# The counts below are the paper's, after its cleaning, beside the sizes of this run.

# %% tags=["computes"]
# the paper's counts are quoted in rbdm_core.data.summary.PAPER_CORPORA
viz.table(paper_counts_table(corpora, synthetic_run), caption="Corpus sizes: the paper's (quoted) beside this run's")

# %% [markdown]
# ## Counts per class and split
#
# Each stand-in draws its labels with the class proportions of the corpus it imitates (FERPlus's
# majority-vote proportions, AffectNet's training-set imbalance with a class-balanced validation
# split, CK+'s labelled sequences plus one neutral first frame per sequence) and the same split
# names. Rare classes get at least a few images per split, so that no class vanishes from a small
# synthetic split. **These counts are synthetic** unless the line above says *real*.

# %% tags=["computes"]
for name, ds in corpora.items():
    display(viz.table(counts_table(ds), caption=f"{name} ({'synthetic' if ds.is_synthetic else 'real'}): images per class and split"))

# %% tags=["hide-input"]
fig = counts_figure(corpora, title=f"Images per class and split ({'synthetic stand-ins' if synthetic_run else 'real corpora'})")
viz.show(fig, "counts-per-class")

# %% [markdown]
# How close do the stand-ins come to the class balance they imitate? The reference shares are the
# ones the generator targets (FERPlus majority labels, AffectNet's manually annotated training set,
# CK+'s labelled sequences); the synthetic shares are counted from the data above.

# %% tags=["computes"]
kind_of_run = "synthetic" if synthetic_run else "this run"
shares = {
    f"{names['target']}, Training": share_table(corpora[names["target"]], "Training", synthetic.FERPLUS_PROPORTIONS,
                                                label=kind_of_run),
    f"{names['source']}, training": share_table(corpora[names["source"]], "training", synthetic.AFFECTNET_TRAINING_COUNTS,
                                                label=kind_of_run),
}
for title, t in shares.items():
    display(viz.table(t, float_format="{:.3f}", caption=f"{title}: class shares ({kind_of_run} vs the real corpus)"))

# %% [markdown]
# In small synthetic sets the rarest classes (disgust and contempt in FERPlus) sit slightly above
# their reference share because of the per-split minimum; with thousands of images the shares
# converge to the reference.
#
# ## What the images look like
#
# One training image per class from each stand-in, with its **ground-truth regions** tinted red:
# the facial regions (brows, eyes, nose, cheeks, mouth) whose action units express the class. A
# relevance map that "looks at the right places" puts its mass inside these regions; chapters 3
# and 5 measure exactly that.

# %% tags=["hide-input"]
for key, (name, split) in {"affectnet": (names["source"], "training"),
                           "ferplus": (names["target"], "Training")}.items():
    ds = corpora[name]
    about = "(synthetic)" if ds.regions is not None else "(real)"
    fig = class_examples_figure(ds, split, title=f"{name} {about}: one {split} image per class"
                                + (", ground truth in red" if ds.regions is not None else " (no ground truth: real data)"))
    viz.show(fig, f"examples-{key}")

# %% [markdown]
# The CK+-like corpus comes in pairs, like the paper's selection from CK+: the first frame of a
# posed sequence (neutral) and its last frame (the apex of the expression).

# %% tags=["hide-input"]
ck = corpora[names["gaze"]]
pairs = sequence_pairs(ck.ids, 4)  # first frame, last frame of the first four sequences
fig = sequence_pairs_figure(ck, pairs, title=f"{names['gaze']} ({'synthetic' if ck.is_synthetic else 'real'}): "
                            "first and last frame of four sequences")
viz.show(fig, "examples-ckplus")

# %% [markdown]
# ## Running the book on the real corpora
#
# Give the chapter the folders of the corpora as distributed by their owners, e.g.
# `rbdm run 01 -p ferplus_root /data/ferplus -p affectnet_root /data/AffectNet -p ckplus_root /data/CK+`
# (any subset). For each root given, the cell below reads the corpus with its reader in
# `rbdm_core.data` (FERPlus: `fer2013.csv` with the votes in `fer2013new.csv`, majority rule as in the
# paper; AffectNet: the manually annotated lists and images; CK+: the first and last frame of every
# labelled sequence) and shows its counts next to the paper's. Data folders are only read.
#
# With a profile that reads the real corpora (`rbdm book --profile my.yml`, a profile file with
# `base: paper` and `roots:`; see {doc}`/rerun`), the chapter above already shows them, and the table
# below says what each reader did: the rows the FERPlus vote rule kept and dropped, the AffectNet
# rows cleaned away and the images cropped to their face box, the CK+ sequences whose first and last
# frames were read. An image folder given as root `folder` stands in for FERPlus as the Trainee's
# corpus.

# %% tags=["computes"]
from pathlib import Path

from rbdm_core.data.provenance import provenance_table

real = {} if synthetic_run else {k: v for k, v in corpora.items() if not v.is_synthetic}  # read above
if synthetic_run and ferplus_root is not None:
    from rbdm_core.data.ferplus import read_ferplus

    real["FERPlus"] = read_ferplus(Path(ferplus_root) / "fer2013.csv", Path(ferplus_root) / "fer2013new.csv", rule="paper")
if synthetic_run and affectnet_root is not None:
    from rbdm_core.data.affectnet import read_affectnet

    real["AffectNet"] = read_affectnet(affectnet_root, size=prof.source_size)
if synthetic_run and ckplus_root is not None:
    from rbdm_core.data.ckplus import read_ckplus

    real["CK+"] = read_ckplus(ckplus_root, size=48)
if not real:
    display(viz.prose("No real corpus given: every number in this chapter is SYNTHETIC."))
for name, ds in real.items():
    display(viz.prose(f"{name} (real): {len(ds)} images"
                      + (f"; the paper reports {PAPER_N[name]:,}" if name in PAPER_N else "")))
    if synthetic_run:  # a real profile showed the counts above
        display(viz.table(counts_table(ds), caption=f"{name} (real): images per class and split"))
if real:
    display(viz.table(provenance_table(real), caption="What the readers did (real corpora)"))

# %% [markdown]
# ## Summary
#
# - Chapter 2 trains Trainer candidates on the AffectNet-like corpus, chapter 6 trains the Trainee
#   variants on the FERPlus-like corpus and chapter 4 simulates annotators' gaze on the CK+-like
#   images; all read the same data through `rbdm_core.pipeline.Pipeline`, so the sizes above are the
#   sizes used throughout this run.
# - The stand-ins imitate the format, splits and class balance of the real corpora, not their
#   difficulty: numbers obtained on them say whether the method behaves as the paper describes, not
#   what it achieves on real faces.

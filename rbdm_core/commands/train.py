"""`rbdm train`: train a variant over several seeds and print the final and best validation F1.

Data sources (--data):
  synthetic:DOMAIN   the embedded generator (rbdm_core.data.synthetic.make_domain), e.g.
                     synthetic:ferplus_like (with --n, --data-seed)
  ferplus:ROOT       ROOT/fer2013.csv + ROOT/fer2013new.csv (rbdm_core.data.ferplus.read_ferplus)
  affectnet:ROOT     rbdm_core.data.affectnet.read_affectnet (with --size)
  folder:ROOT        an image folder, ROOT/<label>/* or ROOT/<split>/<label>/*
                     (rbdm_core.data.folder.read_folder, with --size, default 48)
  npz:FILE           arrays images (N,H,W,C) uint8, labels (N,), split (N,) str [, class_names]
Default: the profile's Trainee corpus (a profile file's `folder` root; FERPlus from its `ferplus`
root when the profile reads the real corpora; else synthetic:ferplus_like).
Splits: --train-split / --val-split (default Training/PublicTest, or training/validation).
Masks for masked variants (--masks): `trainer` (the default) makes them from the profile's Trainer
(trained or reused from the run folder, `rbdm_core.pipeline`): its deep Taylor relevance maps of the
training images, masked with the profile's parameters; FILE.npz with an array `masks` (N_train, H, W)
bool; or `regions` for the synthetic data's ground-truth regions. --fill: what removed pixels become
(zero, the paper's and the default; mean, blur, noise, noisy_linear: see rbdm_core.masking.fills).
A --config YAML/JSON file may hold any of the long option names (architecture, data, variant,
seeds, epochs, profile, out, switch_epoch, masks, ..., and `recipe: {lr: ..., eval_every: ...}`);
flags given on the command line win. Output: OUT/<variant>/seed-<s>/{checkpoint.npz, curves.csv,
result.json, model/} and OUT/summary.csv.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from rbdm_core.artifacts import atomic_write_text, default_run_dir, param_key
from rbdm_core.profiles import get_profile

KEYS = ("architecture", "data", "variant", "seeds", "epochs", "profile", "out", "switch_epoch", "masks", "fill",
        "train_split", "val_split", "n", "data_seed", "size", "input_size", "eval_every", "batch_size",
        "max_steps_per_epoch", "recipe")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("train", help="train a model variant over seeds", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="YAML or JSON file with any of the options below")
    p.add_argument("--profile", metavar="NAME_OR_FILE", help="quick, paper, standard or a profile file (YAML): defaults for architecture, epochs, sizes "
                   "and --data (a profile file's roots: folder, else ferplus for a real-corpus profile; default quick)")
    p.add_argument("--architecture", help="xception, inception_v3, mobilenet_v2, vgg_face, mobilenet_v2_small, "
                   "small_cnn, small_resnet (default: the profile's)")
    p.add_argument("--data", help="synthetic:DOMAIN | ferplus:ROOT | affectnet:ROOT | folder:ROOT | npz:FILE "
                   "(default synthetic:ferplus_like)")
    p.add_argument("--variant", help="no-mask, negative, mean, perceptive, *-then-unmasked (default no-mask)")
    p.add_argument("--switch-epoch", dest="switch_epoch", type=int, help="epoch of the switch to unmasked data")
    p.add_argument("--masks", help="'trainer' (default: from the profile's Trainer via the pipeline), "
                   "FILE.npz (array masks) or 'regions' (synthetic ground truth)")
    p.add_argument("--fill", help="what masked pixels become: zero (the paper's, default), mean, blur, noise, "
                   "noisy_linear (ROAD's noisy linear imputation; shrinks the mask outline's leak, does not remove it)")
    p.add_argument("--seeds", type=int, nargs="+", help="seeds (default 0)")
    p.add_argument("--epochs", type=int, help="epochs (default: the profile's)")
    p.add_argument("--eval-every", dest="eval_every", type=int, help="evaluate every K steps")
    p.add_argument("--batch-size", dest="batch_size", type=int, help="batch size (default 32)")
    p.add_argument("--max-steps-per-epoch", dest="max_steps_per_epoch", type=int)
    p.add_argument("--input-size", dest="input_size", help="model input side: int, 'min' or 'paper'")
    p.add_argument("--train-split", dest="train_split")
    p.add_argument("--val-split", dest="val_split")
    p.add_argument("--n", type=int, help="synthetic: number of images")
    p.add_argument("--data-seed", dest="data_seed", type=int, help="synthetic: generator seed (default 0)")
    p.add_argument("--size", type=int, help="image side: affectnet (default 96), folder (default 48)")
    p.add_argument("--out", help="output folder (default $RBDM_RUN_DIR/train/<key of the settings>)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def _read_config(path: str) -> dict:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"--config {p}: no such file")
    text = p.read_text()
    try:
        if p.suffix.lower() == ".json":
            cfg = json.loads(text)
        else:
            cfg = yaml.safe_load(text)
    except Exception as exc:  # yaml.YAMLError / json.JSONDecodeError
        raise ValueError(f"--config {p}: could not be parsed ({exc})") from None
    if not isinstance(cfg, dict):
        raise ValueError(f"--config {p}: expected a mapping of option names to values")
    unknown = sorted(set(k.replace("-", "_") for k in cfg) - set(KEYS))
    if unknown:
        raise ValueError(f"--config {p}: unknown key(s) {unknown}; expected some of {list(KEYS)}")
    return {k.replace("-", "_"): v for k, v in cfg.items()}


def settings(args: argparse.Namespace) -> dict:
    """Profile defaults < config file < command-line flags."""
    cfg = _read_config(args.config) if args.config else {}
    cli = {k: getattr(args, k) for k in KEYS if getattr(args, k, None) is not None}
    merged = {**cfg, **cli}
    prof = get_profile(merged.get("profile", "quick"))  # the Trainee's settings of that profile
    s = {"profile": prof.name, "architecture": prof.trainee,
         "data": profile_data(prof), "variant": "no-mask", "seeds": [0], "switch_epoch": prof.switch_epoch,
         "fill": prof.fill,
         "input_size": prof.input_size, "masks": None, "train_split": None, "val_split": None, "n": None,
         "data_seed": 0, "size": None, "out": None}
    recipe = {"epochs": prof.trainee_epochs, "eval_every": prof.eval_every, "augment": prof.augment,
              "class_weighted": prof.class_weighted}
    recipe.update(merged.pop("recipe", None) or {})
    for k in ("epochs", "eval_every", "batch_size", "max_steps_per_epoch"):
        if k in merged:
            recipe[k] = merged.pop(k)
    s.update(merged)
    s["recipe"] = recipe
    if isinstance(s["seeds"], int):
        s["seeds"] = [s["seeds"]]
    if isinstance(s["input_size"], str) and s["input_size"].isdigit():
        s["input_size"] = int(s["input_size"])
    return s


def profile_data(prof) -> str:
    """The --data default of a profile: its Trainee corpus (an image folder given as root `folder`;
    FERPlus from its root, or $RBDM_FERPLUS_ROOT, when the profile reads the real corpora; else the
    synthetic FERPlus-like domain)."""
    from rbdm_core.data.sources import DATA_SOURCES  # deferred: keeps `rbdm --help` fast: data.sources loads the readers, PIL and tqdm

    roots = dict(prof.roots or {})
    env = DATA_SOURCES["ferplus"].env
    if roots.get("folder"):
        return f"folder:{roots['folder']}"
    if not prof.synthetic and (roots.get("ferplus") or os.environ.get(env)):
        return f"ferplus:{roots.get('ferplus') or os.environ[env]}"
    return "synthetic:ferplus_like"


#: the sources `--data NAME:...` accepts, each with its reader's options taken from the settings
#: (`data.sources.DATA_SOURCES` loads them)
DATA_OPTIONS = {
    "synthetic": lambda s: {"n": s.get("n"), "seed": int(s.get("data_seed") or 0)},
    "ferplus": lambda s: {"progress": not s.get("quiet")},
    "affectnet": lambda s: {"size": int(s.get("size") or 96)},
    "folder": lambda s: {"size": int(s.get("size") or 48), "progress": not s.get("quiet")},
    "npz": lambda s: {},
}


def load_data(spec: str, s: dict):
    """The Dataset named by --data."""
    from rbdm_core.data.sources import DATA_SOURCES, load_source, one_of  # deferred: keeps `rbdm --help` fast: data.sources loads the readers, PIL and tqdm

    kind, _, arg = str(spec).partition(":")
    if not arg:
        forms = one_of(f"{k}:{DATA_SOURCES[k].metavar}" for k in DATA_OPTIONS)
        raise ValueError(f"--data {spec!r}: expected {forms}")
    if kind not in DATA_OPTIONS:
        raise ValueError(f"--data {spec!r}: unknown source {kind!r}; expected {one_of(DATA_OPTIONS)}")
    return load_source(kind, arg, **DATA_OPTIONS[kind](s))


def pick_splits(ds, train_split, val_split):
    if train_split is None or val_split is None:
        for a, b in (("Training", "PublicTest"), ("training", "validation"), ("train", "val"), ("train", "validation"),
                     ("train", "test")):
            if a in ds.splits and b in ds.splits:
                train_split, val_split = train_split or a, val_split or b
                break
        else:
            raise ValueError(f"--train-split/--val-split: the data have splits {ds.splits}; name the two to use")
    return ds.select_split(train_split), ds.select_split(val_split)


def load_masks(spec, train, mask_type: str | None = None, profile: str = "quick"):
    """The (N_train, H, W) bool masks named by --masks (None/'trainer': made by the profile's Trainer)."""
    if spec is None or spec == "trainer":
        from rbdm_core.pipeline import Pipeline  # deferred: keeps `rbdm --help` fast: pipeline loads the data readers, PIL and tqdm

        print(f"rbdm train: {mask_type} masks from the {profile} profile's Trainer (cached in the run folder)",
              flush=True)
        return Pipeline(profile).masks(mask_type, images=train.images)
    if spec == "regions":
        if train.regions is None:
            raise ValueError("--masks regions: these data have no ground-truth regions (synthetic data only)")
        return train.regions
    p = Path(spec)
    if not p.exists():
        raise FileNotFoundError(f"--masks {p}: no such file")
    with np.load(p, allow_pickle=False) as z:
        if "masks" not in z.files:
            raise ValueError(f"--masks {p}: expected an array named 'masks', found {z.files}")
        return z["masks"]


def run(args: argparse.Namespace) -> int:
    from rbdm_core.training import Recipe, all_curves, preset, train_seeds  # deferred: keeps `rbdm --help` fast: training loads scipy (through masking)

    s = settings(args)
    recipe = Recipe.from_dict(s["recipe"])
    variant = preset(s["variant"], switch_epoch=int(s["switch_epoch"]), fill=str(s["fill"]))
    ds = load_data(s["data"], {**s, "quiet": args.quiet})
    tr, va = pick_splits(ds, s["train_split"], s["val_split"])
    masks = load_masks(s["masks"], tr, variant.mask_type, s["profile"]) if variant.masked else None
    out = Path(s["out"]) if s["out"] else default_run_dir() / "train" / param_key(
        {k: v for k, v in s.items() if k not in ("out", "seeds", "variant")})
    print(f"rbdm train: {s['architecture']} on {s['data']} ({len(tr)} train / {len(va)} val images), "
          f"variant {variant.name}, seeds {s['seeds']}, {recipe.epochs} epochs -> {out}", flush=True)
    results = train_seeds(s["architecture"], tr, va, recipe, variant, masks, seeds=s["seeds"],
                          out_dir=out / variant.name, input_size=s["input_size"], verbose=0 if args.quiet else 1)
    table = pd.DataFrame([r.summary() for r in results])[["variant", "seed", "steps", "best_f1", "best_step",
                                                           "final_f1", "weights_sha256"]]
    atomic_write_text(out / "summary.csv", table.to_csv(index=False))
    atomic_write_text(out / variant.name / "curves.csv", all_curves(results).to_csv(index=False))
    print("\nvariant,seed,best_f1,best_step,final_f1")
    for r in results:
        print(f"{r.variant.name},{r.seed},{r.best_f1:.4f},{r.best_step},{r.final_f1:.4f}")
    if len(results) > 1:
        print(f"mean over {len(results)} seeds: best F1 {table.best_f1.mean():.4f}, "
              f"final F1 {table.final_f1.mean():.4f}")
    return 0

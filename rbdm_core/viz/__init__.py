"""Plotly figures for the book, one module per kind of thing a reader looks at; every public name
is re-exported here (`from rbdm_core import viz; viz.image_grid(...)`).

- `render`: `show(fig, name)` (stable div ids, offline HTML; see its docstring for the mime
  bundle), `figure_html`, `bundle`, `TEMPLATE`, `FIGURE_MIME_ENV`, `PLOTLY_MIME`;
- `images`: `image_grid`, `png_data_uri`, `overlay_rgba`, `reverse_y` (an image's y axis, row 0
  at the top), and relevance maps' shared colour scale `robust_limits` (±p99.5 of |R|,
  `relevance_overlay.robust_scale`'s rule) with `scale_caption`;
- `gaze`: chapter 4's figures, `visual_field_figure`, `scanpath_figure`, `heatmaps_figure`,
  `missed_cues_figure`; an image with points on it is `images.add_image` + `images.image_axes`;
- `relevance`: chapter 3's figures, `decomposition_figure`, `layers_figure`, `per_class_figures`,
  `regions_figure`, `border_figure`, `methods_figure`, `conservation_figure`, with
  `percent_of_max` and `compact_heatmaps`;
- `curves`: `line_band` (mean and confidence band per group), `band_table`, `metric_bounds`;
- `matrices`: `confusion`;
- `tables`: `table` -> `Table` (stable HTML tables that fit their column, badges, stacked rows);
- `sentences`: `prose` -> `Prose` and `prose_lines` (generated sentences as wrapping HTML paragraphs and lists; the
  `kind="answer"` box a page opens with);
- `explorers`: the mask explorers, `explorer` (static HTML) and `live_explorer` (ipywidgets),
  `drop_overlay`, `EXPLORER_ROWS`;
- `diagram`: `method_diagram` (the paper's Figure 1), `METHOD_CHAPTERS`;
- `roar`: chapter 8's `roar_figure` (ranked and random removal per fill, and their paired
  difference) and `asymmetric_error` (plotly error bars from an interval);
- `study`: chapter 9's study, `effects_figure` (every comparison with no mask and its interval) and
  `dial_figure` (benefit against mask quality).

Every figure passes through `figure_fit.fit` when rendered. (Submodules are named so that none
shares its name with a function re-exported here.)
"""

from .curves import band_table, line_band, metric_bounds
from .diagram import METHOD_CHAPTERS, method_diagram
from .explorers import EXPLORER_ROWS, drop_overlay, explorer, live_explorer
from .gaze import heatmaps_figure, missed_cues_figure, scanpath_figure, visual_field_figure
from .images import (ROBUST_PERCENTILE, add_image, image_axes, image_grid, overlay_rgba, png_data_uri, reverse_y,
                     robust_limits, scale_caption)
from .matrices import confusion
from .relevance import (border_figure, compact_heatmaps, conservation_figure, decomposition_figure, layers_figure,
                        methods_figure, per_class_figures, percent_of_max, regions_figure)
from .study import dial_figure, effects_figure
from .roar import asymmetric_error, roar_figure
from .render import FIGURE_MIME_ENV, PLOTLY_MIME, TEMPLATE, bundle, figure_html, show
from .tables import Table, table
from .sentences import Prose, prose, prose_lines
from .. import timing as _timing

# the book benchmark charges the time spent building and rendering figures and tables to one
# activity (rbdm_core.timing; nothing is recorded unless $RBDM_TIMING is set)
for _name in ("border_figure", "confusion", "conservation_figure", "decomposition_figure", "dial_figure",
              "effects_figure", "explorer", "heatmaps_figure", "image_grid", "layers_figure", "line_band", "live_explorer",
              "method_diagram", "methods_figure", "missed_cues_figure", "per_class_figures", "regions_figure",
              "roar_figure", "scanpath_figure", "show", "table", "visual_field_figure"):
    globals()[_name] = _timing.timed("figures and tables")(globals()[_name])
del _name

__all__ = [
    "EXPLORER_ROWS", "FIGURE_MIME_ENV", "METHOD_CHAPTERS", "PLOTLY_MIME", "Prose", "ROBUST_PERCENTILE", "TEMPLATE", "Table",
    "add_image", "asymmetric_error", "band_table", "border_figure", "bundle", "compact_heatmaps", "confusion",
    "conservation_figure", "decomposition_figure", "dial_figure", "effects_figure", "drop_overlay", "explorer",
    "figure_html", "heatmaps_figure", "image_axes", "image_grid", "layers_figure", "line_band", "live_explorer",
    "method_diagram", "methods_figure", "metric_bounds", "missed_cues_figure", "overlay_rgba", "per_class_figures",
    "percent_of_max", "png_data_uri", "prose", "prose_lines", "regions_figure", "reverse_y", "roar_figure", "robust_limits", "scale_caption",
    "scanpath_figure", "show", "table", "visual_field_figure",
]

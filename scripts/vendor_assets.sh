#!/usr/bin/env bash
# Vendor the JavaScript the offline book needs, so that no built page loads anything from the
# internet: pinned npm packages (book/package.json + book/package-lock.json, installed with
# `npm ci`) into the gitignored book/_vendor/, then a small curated tree book/_vendor/dist/:
#   dist/require.js                  requirejs (used by the ipywidgets HTML manager)
#   dist/html-manager/embed-amd.js   @jupyter-widgets/html-manager (+ its font files)
#   dist/mathjax/                    MathJax 3 (tex-mml-chtml component, TeX input, CHTML fonts, and
#                                    the speech rule engine's English locale, sre/mathmaps/, that the
#                                    accessibility explorer loads); the book build also pre-renders
#                                    each formula with node_modules/mathjax/es5/node-main.js
#   dist/plotly-cartesian.min.js     plotly.js-cartesian-dist-min: the trace types the book uses
#                                    (scatter, bar, box, violin, heatmap, image), 1.5 MB instead of the
#                                    full 4.8 MB bundle; its version is the one in the plotly Python
#                                    package (book/_ext/rbdm_offline.py checks it at build time)
# Idempotent: a stamp holds the lock file's hash. Needs `npm` (Node >= 18) and the npm registry
# on the first run only.
set -euo pipefail
cd "$(dirname "$0")/.."

src=book
dest=book/_vendor
stamp="$dest/.stamp"
want=$(cat "$src/package.json" "$src/package-lock.json" scripts/vendor_assets.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && [ -f "$dest/dist/mathjax/tex-mml-chtml.js" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "vendor_assets: npm not found; install Node.js >= 18 (apt-get install -y nodejs npm)" >&2
  exit 1
fi

echo "vendor_assets: installing pinned requirejs, @jupyter-widgets/html-manager, mathjax, plotly.js-cartesian-dist-min into $dest"
mkdir -p "$dest"
cp "$src/package.json" "$src/package-lock.json" "$dest/"
(cd "$dest" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)

nm="$dest/node_modules"
tmp="$dest/dist.tmp"
rm -rf "$tmp"
mkdir -p "$tmp/html-manager" "$tmp/mathjax/output"
cp "$nm/requirejs/require.js" "$tmp/require.js"
hm="$nm/@jupyter-widgets/html-manager/dist"
cp "$hm/embed-amd.js" "$tmp/html-manager/"
find "$hm" -maxdepth 1 -type f \( -name '*.woff' -o -name '*.woff2' -o -name '*.ttf' -o -name '*.eot' -o -name '*.svg' \) \
  -exec cp {} "$tmp/html-manager/" \;
mj="$nm/mathjax/es5"
cp "$mj/tex-mml-chtml.js" "$tmp/mathjax/"
cp -r "$mj/input" "$mj/a11y" "$mj/ui" "$tmp/mathjax/"
cp -r "$mj/output/chtml" "$tmp/mathjax/output/"
cp "$mj/output/chtml.js" "$tmp/mathjax/output/"
mkdir -p "$tmp/mathjax/sre/mathmaps"
cp "$mj/sre/mathmaps/base.json" "$mj/sre/mathmaps/en.json" "$mj/sre/mathmaps/nemeth.json" "$tmp/mathjax/sre/mathmaps/"
cp "$nm/plotly.js-cartesian-dist-min/plotly-cartesian.min.js" "$tmp/plotly-cartesian.min.js"
for lic in "$nm/requirejs/LICENSE" "$nm/@jupyter-widgets/html-manager/LICENSE" "$nm/mathjax/LICENSE" "$nm/plotly.js-cartesian-dist-min/LICENSE"; do
  [ -f "$lic" ] && cp "$lic" "$tmp/LICENSE.$(basename "$(dirname "$lic")")" || true
done
rm -rf "$dest/dist"
mv "$tmp" "$dest/dist"
echo "$want" > "$stamp"
echo "vendor_assets: ready ($(du -sh "$dest/dist" | cut -f1) in $dest/dist)"

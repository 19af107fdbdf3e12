#!/usr/bin/env bash
# Bundle MathJax 3 (npm package `mathjax`) into book/_static/mathjax so that the built book renders its
# equations offline (workshops, trains). Skipped when already present; without npm the book falls back to
# unrendered TeX, and this script says so.
set -euo pipefail
VERSION=${MATHJAX_VERSION:-3.2.2}
DEST=book/_static/mathjax
mkdir -p book/_static  # the book's html_static_path must exist even without MathJax
[ -f "$DEST/tex-chtml.js" ] && exit 0
if ! command -v npm >/dev/null 2>&1; then
    echo "[mathjax] npm not found: equations will show as TeX in the built book (install Node.js/npm to bundle MathJax)"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && npm pack -q "mathjax@$VERSION" >/dev/null 2>&1 && tar xzf "mathjax-$VERSION.tgz"); then
    echo "[mathjax] could not fetch mathjax@$VERSION with npm (offline?): equations will show as TeX in the built book"
    exit 0
fi
mkdir -p "$DEST"
src="$tmp/package/es5"
cp -r "$src/tex-chtml.js" "$src/output" "$src/input" "$src/ui" "$src/a11y" "$src/adaptors" "$DEST/"
cp "$tmp/package/LICENSE" "$DEST/LICENSE"
echo "[mathjax] bundled MathJax $VERSION into $DEST"

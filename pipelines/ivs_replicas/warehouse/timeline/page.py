"""The chart as files: one HTML page that works offline, and a PNG, both without a browser here.

The page inlines Vega, Vega-Lite and Vega-Embed (bundled by vl-convert), so it opens
from a file or a mail attachment with no network. Once drawn, it writes what it drew into
data attributes of <body> (`data-period`, `data-mark`, …: item counts per layer, and
`data-status`), where a headless browser reads them; an error is shown on the page.
"""

from __future__ import annotations

import html
import json
import os
from contextlib import suppress
from importlib.metadata import version
from pathlib import Path
from typing import Any

from ivs_replicas.errors import BadInputError
from ivs_replicas.warehouse.timeline.chart import CERTAIN_BAR, MARK, PERIOD, UNSEEN_BAR

INSTALL_HINT = "pip install 'ivs-replicas[timeline]' (or: make install)"

# The layers whose drawn items the page counts (Vega names a Vega-Lite mark `{name}_marks`).
COUNTED_LAYERS = (PERIOD, CERTAIN_BAR, UNSEEN_BAR, MARK)

# What the bundle exposes: only vegaEmbed, which carries Vega and Vega-Lite.
BUNDLE_SNIPPET = "window.vegaEmbed = vegaEmbed;"

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<script>
  // errors before or while drawing are shown on the page and kept for checks
  window.timelineErrors = [];
  window.addEventListener("error", (event) => window.timelineErrors.push(String(event.message)));
</script>
<style>
  body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 16px 24px;
         color: #222; }}
  p.help {{ max-width: 72em; color: #555; font-size: 13px; line-height: 1.45; margin: 0 0 8px; }}
  #failure {{ color: #b00020; white-space: pre-wrap; }}
  #timeline.vega-embed {{ display: block; }}
</style>
<script>
{bundle}
</script>
</head>
<body data-status="loading">
<p class="help">{help}</p>
<p id="failure" hidden></p>
<div id="timeline"></div>
<script>
  const spec = {spec};
  const counted = {counted};
  function drawn(mark, name) {{
    // items of the marks named `name`, anywhere in the scene graph (facets nest them)
    let count = mark.name === name ? mark.items.length : 0;
    for (const item of mark.items || []) {{
      for (const child of item.items || []) count += drawn(child, name);
    }}
    return count;
  }}
  vegaEmbed("#timeline", spec, {{
    mode: "vega",
    renderer: "svg",
    actions: {{ export: true, source: false, compiled: false, editor: false }},
  }}).then((result) => {{
    const root = result.view.scenegraph().root;
    for (const name of counted) document.body.dataset[name] = drawn(root, name + "_marks");
    document.body.dataset.status = window.timelineErrors.length ? "failed" : "drawn";
  }}).catch((error) => {{
    window.timelineErrors.push(String(error));
    document.body.dataset.status = "failed";
    const failure = document.getElementById("failure");
    failure.textContent = "The timeline could not be drawn: " + error;
    failure.hidden = false;
    console.error(error);
  }});
</script>
</body>
</html>
"""

HELP = (
    "One row per source participant and destination stage, one bar per replication period "
    "(whatever the destination session). Solid: certainly replicating, between exact event "
    "times or the first and last scans that saw it ACTIVE. Light: it may have started or "
    "stopped there, between two scans. Green: ongoing, drawn to now (the dashed line); amber "
    "if the participant has no recent successful scan. Hover for details; drag or scroll to "
    "pan and zoom in time, double-click to reset. Times in UTC."
)


def vega_lite_version() -> str:
    """The Vega-Lite version of Altair's spec, as vl-convert names it (`v6_4`)."""
    import altair as alt
    import vl_convert as vlc

    version = ".".join(alt.SCHEMA_VERSION.removeprefix("v").split(".")[:2])
    if version not in vlc.get_vegalite_versions():
        raise BadInputError(
            f"vl-convert cannot draw Vega-Lite {alt.SCHEMA_VERSION} (Altair's): "
            f"upgrade both with {INSTALL_HINT}"
        )
    return "v" + version.replace(".", "_")


def require_plotting() -> None:
    """Fail with how to install them when Altair or vl-convert are missing."""
    try:
        import altair  # noqa: F401
        import vl_convert  # noqa: F401
    except ImportError as error:
        raise BadInputError(
            f"the timeline needs the optional plotting libraries ({error.name} is missing): "
            f"{INSTALL_HINT}"
        ) from None


def script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element."""
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c")


def compiled(spec: dict[str, Any]) -> dict[str, Any]:
    """The Vega-Lite spec compiled to Vega, once, for the page and the PNG alike."""
    import vl_convert as vlc

    vega: dict[str, Any] = vlc.vegalite_to_vega(spec, vl_version=vega_lite_version())
    return vega


def vega_bundle(vl_version: str) -> str:
    """Vega, Vega-Lite and Vega-Embed as one script, cached: vl-convert takes seconds to bundle."""
    import vl_convert as vlc

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ivs-replicas"
    path = cache / f"vega-embed-{version('vl-convert-python')}-{vl_version}-1.js"
    with suppress(OSError):
        return path.read_text(encoding="utf-8")
    bundle = vlc.javascript_bundle(BUNDLE_SNIPPET, vl_version=vl_version)
    with suppress(OSError):
        cache.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(bundle, encoding="utf-8")
        partial.replace(path)
    return bundle


def write_html(vega: dict[str, Any], title: str, path: Path) -> None:
    """Write the page: the chart, the libraries inlined, no network needed."""
    page = PAGE.format(
        title=html.escape(title),
        help=html.escape(HELP),
        bundle=vega_bundle(vega_lite_version()),
        spec=script_json(vega),
        counted=script_json(list(COUNTED_LAYERS)),
    )
    path.write_text(page, encoding="utf-8")


def write_png(vega: dict[str, Any], path: Path, scale: float = 2.0) -> None:
    """Write the chart as a PNG, drawn by vl-convert (no browser)."""
    import vl_convert as vlc

    path.write_bytes(vlc.vega_to_png(vega, scale=scale))

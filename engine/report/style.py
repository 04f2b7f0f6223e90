"""The report's stylesheet: one readable column, light and dark themes (prefers-color-scheme),
and print rules so "Print to PDF" from a browser gives clean pages.

The data colours are the window's (engine/report/palette.py): CSS classes ``train``, ``valid``, ``batch``,
``s0``..``s7`` (layer k) and ``r0``..``r7`` (run k); the dark theme draws the same hues lighter."""

from engine.report import palette

SERIES = 8  # colours --s0 .. --s7 (layers) and --r0 .. --r7 (runs); series k is drawn in colour k % SERIES

_SERIES = ("train", "valid", "batch", *(f"s{k}" for k in range(SERIES)), *(f"r{k}" for k in range(SERIES)))
_CHROME = {  # the page itself: light, dark, print
    "light": "--bg: #ffffff; --fg: #1d232b; --muted: #5a6472; --rule: #d9dee5; --panel: #f4f6f9; --link: #1f6fc5; "
             "--accent: #d2581b; --good: #1e7e34; --bad: #b02a1a;",
    "dark": "--bg: #15191f; --fg: #e6e9ee; --muted: #a3adba; --rule: #343c47; --panel: #1e242c; --link: #5aa9ff; "
            "--accent: #ff9a5c; --good: #5fd38d; --bad: #ff8a7a;",
    "print": "--bg: #fff; --fg: #000; --muted: #444; --rule: #bbb; --panel: #f2f2f2; --link: #1f6fc5; "
             "--accent: #d2581b;",
}


def _variables(theme: str = "light") -> str:
    """``:root { ... }`` for one theme: the chrome, then the palette's data colours."""
    shade = palette.on_dark if theme == "dark" else (lambda c: c)
    data = {"train": palette.TRAIN, "valid": palette.VALID, "batch": palette.BATCH,
            **{f"s{k}": palette.layer_color(k) for k in range(SERIES)},
            **{f"r{k}": palette.run_color(k) for k in range(SERIES)}}
    colors = " ".join(f"--{name}: {shade(c)};" for name, c in data.items())
    heat = ", ".join(map(str, palette.rgb(shade(palette.CORRECT))))
    err = ", ".join(map(str, palette.rgb(shade(palette.WRONG))))
    scheme = "color-scheme: light dark; " if theme == "light" else ""
    return f":root {{ {scheme}{_CHROME[theme]} {colors} --heat: {heat}; --err: {err}; }}"


CSS = """
""" + _variables() + """
@media (prefers-color-scheme: dark) { """ + _variables("dark") + """ }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 1.7em; line-height: 1.25; margin: 0 0 .3em; }
h2 { font-size: 1.3em; margin: 2em 0 .5em; padding-bottom: .2em; border-bottom: 1px solid var(--rule); }
h3 { font-size: 1.05em; margin: 1.2em 0 .4em; }
p.outcome { font-size: 1.15em; margin: .2em 0 1em; }
p.meta, .muted, figcaption, .missing { color: var(--muted); }
.missing { font-style: italic; }
nav { font-size: .92em; margin: 0 0 1em; }
nav a { color: var(--link); margin-right: .9em; text-decoration: none; white-space: nowrap; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
table.kv th { font-weight: 600; color: var(--muted); width: 10em; }
table.kv td, table.kv th { padding: 2px 10px; }
.cols { display: flex; flex-wrap: wrap; gap: 12px 36px; }
.cols > * { flex: 1 1 420px; min-width: 0; }
figure { margin: .5em 0 1em; break-inside: avoid; }
figure.plot svg { width: 100%; height: auto; display: block; }
figcaption { font-size: .9em; }
.key { margin-right: 1.2em; white-space: nowrap; }
.swatch { display: inline-block; width: 1.4em; height: 3px; vertical-align: middle; margin-right: .4em; }
svg.chart { font-size: 13px; }
svg .line.faint { stroke-width: 1; opacity: .5; }
svg .grid { stroke: var(--rule); stroke-width: 1; }
svg .axis { stroke: var(--muted); stroke-width: 1; }
svg .tick, svg .label { fill: var(--muted); }
svg .line { fill: none; stroke-width: 2; stroke-linejoin: round; }
svg .band { stroke: none; opacity: .14; }
img.pix { image-rendering: pixelated; image-rendering: crisp-edges; border: 1px solid var(--rule); background: #fff; }
.tiles { display: flex; flex-wrap: wrap; gap: 18px; }
.tiles figure { flex: 0 1 300px; }
.tiles img { width: 100%; max-width: 300px; }
ul.findings li { margin: .3em 0; }
.callout { background: var(--panel); border-left: 4px solid var(--accent); padding: .6em 1em; margin: .8em 0; }
table.confusion { font-size: 11px; }
table.confusion th, table.confusion td { padding: 0; width: 22px; height: 20px; text-align: center; border: 1px solid var(--rule); }
table.confusion td.zero { color: transparent; }
table.confusion td.hot { color: #fff; }
.scroll { overflow-x: auto; }
.pair { display: flex; align-items: center; gap: 14px; margin: .4em 0; break-inside: avoid; }
.pair .what { flex: 0 0 16em; }
.pair img { height: 48px; }
.pair figure.why { display: flex; align-items: center; gap: 8px; margin: 0; }
.pair figure.why img { width: 48px; }
.recon img { width: 100%; max-width: 720px; }
@media print {
  """ + _variables("print") + """
  body { font-size: 11pt; } main { max-width: none; padding: 0; } nav { display: none; }
  h2 { break-after: avoid; } section { break-inside: auto; } .scroll { overflow: visible; }
  .cols { gap: 8px 20px; } .cols > * { flex: 1 1 300px; }
  .tiles figure { flex: 0 1 31%; } .recon img { max-width: 520px; }
  table.confusion { font-size: 8px; }
  table.confusion th, table.confusion td { width: 16px; height: 15px; }
  a { color: inherit; text-decoration: none; }
}
""" + "".join(f".{name} {{ stroke: var(--{name}); fill: var(--{name}); background: var(--{name}); }}\n"
               f"svg .line.{name} {{ fill: none; }}\n" for name in _SERIES)

"""The report's stylesheet: one readable column, light and dark themes (prefers-color-scheme),
and print rules so "Print to PDF" from a browser gives clean pages."""

SERIES = 8  # colours --s0 .. --s7; series k is drawn in colour k % SERIES

CSS = """
:root { color-scheme: light dark;
  --bg: #ffffff; --fg: #1d232b; --muted: #5a6472; --rule: #d9dee5; --panel: #f4f6f9;
  --s0: #1f6fc5; --s1: #d2581b; --s2: #2e8b57; --s3: #8e44ad; --s4: #b8860b; --s5: #c0392b;
  --s6: #16a085; --s7: #7f8c8d; --heat: 31,111,197; --err: 210,60,40; --good: #1e7e34; --bad: #b02a1a; }
@media (prefers-color-scheme: dark) { :root {
  --bg: #15191f; --fg: #e6e9ee; --muted: #a3adba; --rule: #343c47; --panel: #1e242c;
  --s0: #5aa9ff; --s1: #ff9a5c; --s2: #5fd38d; --s3: #c792ea; --s4: #f2c94c; --s5: #ff6b6b;
  --s6: #4fd1c5; --s7: #b0b8c2; --heat: 90,169,255; --err: 255,107,107; --good: #5fd38d; --bad: #ff8a7a; } }
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
nav a { color: var(--s0); margin-right: .9em; text-decoration: none; white-space: nowrap; }
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
.callout { background: var(--panel); border-left: 4px solid var(--s1); padding: .6em 1em; margin: .8em 0; }
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
  :root { --bg: #fff; --fg: #000; --muted: #444; --rule: #bbb; --panel: #f2f2f2;
    --s0: #1f6fc5; --s1: #d2581b; --s2: #2e8b57; --s3: #8e44ad; --s4: #b8860b; --s5: #c0392b;
    --s6: #16a085; --s7: #7f8c8d; --heat: 31,111,197; --err: 210,60,40; }
  body { font-size: 11pt; } main { max-width: none; padding: 0; } nav { display: none; }
  h2 { break-after: avoid; } section { break-inside: auto; } .scroll { overflow: visible; }
  .cols { gap: 8px 20px; } .cols > * { flex: 1 1 300px; }
  .tiles figure { flex: 0 1 31%; } .recon img { max-width: 520px; }
  table.confusion { font-size: 8px; }
  table.confusion th, table.confusion td { width: 16px; height: 15px; }
  a { color: inherit; text-decoration: none; }
}
""" + "".join(f".s{k} {{ stroke: var(--s{k}); fill: var(--s{k}); background: var(--s{k}); }}\n"
               f"svg .line.s{k} {{ fill: none; }}\n" for k in range(SERIES))

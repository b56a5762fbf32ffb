/**
 * Figures to SVG and PNG, on the server side: Vega-Lite specs are compiled to Vega and rendered with a
 * headless view (`renderer: 'none'`), image grids become an SVG of embedded PNGs, and every SVG becomes a
 * PNG through resvg. Nothing is fetched: a spec that names a data URL is rejected.
 */
import { Resvg } from '@resvg/resvg-js';
import { PNG } from 'pngjs';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Figure, ImageFigure } from './types.js';

/** Pixels per side that an image panel is scaled up to at least (nearest neighbour: pixels stay sharp). */
const PANEL_MIN_SIDE = 72;
const PANEL_GAP = 8;
const LABEL_HEIGHT = 16;
const GRID_COLUMNS = 8;

export async function renderChartSvg(spec: TopLevelSpec, figureId = 'chart'): Promise<string> {
  rejectUrlData(spec, figureId);
  const vegaSpec = compile(spec).spec;
  const view = new View(parse(vegaSpec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function rejectUrlData(value: unknown, figureId: string): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const item of value) rejectUrlData(item, figureId);
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    if (key === 'url')
      throw new Error(`figure ${figureId}: Vega-Lite data must be inline (values), not a url: ${String(item)}`);
    rejectUrlData(item, figureId);
  }
}

/** Scales a PNG up by the smallest integer factor that makes its longer side ≥ `minSide`. */
export function upscalePng(png: Uint8Array, minSide = PANEL_MIN_SIDE): { png: Buffer; width: number; height: number } {
  const image = PNG.sync.read(Buffer.from(png));
  const factor = Math.max(1, Math.ceil(minSide / Math.max(image.width, image.height)));
  if (factor === 1) return { png: Buffer.from(png), width: image.width, height: image.height };
  const out = new PNG({ width: image.width * factor, height: image.height * factor });
  for (let y = 0; y < out.height; y++) {
    for (let x = 0; x < out.width; x++) {
      const from = ((Math.floor(y / factor) * image.width + Math.floor(x / factor)) * 4) | 0;
      const to = (y * out.width + x) * 4;
      for (let c = 0; c < 4; c++) out.data[to + c] = image.data[from + c]!;
    }
  }
  return { png: PNG.sync.write(out), width: out.width, height: out.height };
}

export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!,
  );
}

/** A labelled grid of the figure's PNG panels as one SVG with the images embedded as data URIs. */
export function imageGridSvg(figure: ImageFigure): string {
  if (figure.panels.length === 0) throw new Error(`figure ${figure.id}: an image figure needs at least one panel`);
  const panels = figure.panels.map((panel) => ({ label: panel.label, ...upscalePng(panel.png) }));
  const cellWidth = Math.max(...panels.map((p) => p.width), 60);
  const cellHeight = Math.max(...panels.map((p) => p.height)) + LABEL_HEIGHT;
  const columns = Math.min(GRID_COLUMNS, panels.length);
  const rows = Math.ceil(panels.length / columns);
  const width = columns * cellWidth + (columns + 1) * PANEL_GAP;
  const height = rows * cellHeight + (rows + 1) * PANEL_GAP;
  const parts = panels.map((panel, i) => {
    const x = PANEL_GAP + (i % columns) * (cellWidth + PANEL_GAP);
    const y = PANEL_GAP + Math.floor(i / columns) * (cellHeight + PANEL_GAP);
    const href = `data:image/png;base64,${panel.png.toString('base64')}`;
    return (
      `<image x="${x}" y="${y}" width="${panel.width}" height="${panel.height}" href="${href}"/>` +
      `<text x="${x}" y="${y + panel.height + 12}" font-family="sans-serif" font-size="11">${escapeXml(panel.label)}</text>`
    );
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<rect width="${width}" height="${height}" fill="white"/>${parts.join('')}</svg>`
  );
}

export async function figureSvg(figure: Figure): Promise<string> {
  return figure.kind === 'chart' ? renderChartSvg(figure.spec, figure.id) : imageGridSvg(figure);
}

export function svgToPng(svg: string): Buffer {
  return new Resvg(svg, { background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } })
    .render()
    .asPng();
}

/** Inline SVG for an HTML5 page: the XML namespace declarations are implied there and would be the page's only URLs. */
export function svgForHtml(svg: string): string {
  return svg.replace(/\s+xmlns(:xlink)?="[^"]*"/g, '').replace(/xlink:href=/g, 'href=');
}

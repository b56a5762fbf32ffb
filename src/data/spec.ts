/**
 * Dataset spec strings, as the CLI and experiment configs write them:
 *
 *   cifar10
 *   cifar100[,labels=fine|coarse]
 *   imagefolder:<path>,size=<pixels>[,classes=<name>+<name>...]
 *   gaussian:diag(<items>)[,n=<samples>][,seed=<seed>]
 *
 * Options follow the source after commas; commas inside parentheses belong to the value.
 * `diag(...)` items are numbers or inclusive ranges `start:stop:step`, e.g. `diag(0.1:3.0:0.1)`
 * (variances 0.1, 0.2, …, 3.0) or `diag(1, 1.1, 1.2)`. See docs/data.md.
 */

export type DatasetSpec =
  | { readonly kind: 'cifar10' }
  | { readonly kind: 'cifar100'; readonly labels: 'fine' | 'coarse' }
  | { readonly kind: 'imagefolder'; readonly path: string; readonly size: number; readonly classes?: readonly string[] }
  | {
      readonly kind: 'gaussian';
      /** The `diag(...)` text as written, kept for the canonical spec string. */
      readonly diag: string;
      readonly variances: readonly number[];
      readonly n: number;
      readonly seed: number;
    };

export const GAUSSIAN_DEFAULT_N = 10_000;
export const GAUSSIAN_DEFAULT_SEED = 0;

export function parseDatasetSpec(text: string): DatasetSpec {
  const [head, ...optionTexts] = splitTopLevel(text.trim(), ',');
  if (head === undefined || head === '') throw specError(text, 'it is empty');
  const colon = head.indexOf(':');
  const kind = colon < 0 ? head : head.slice(0, colon);
  const arg = colon < 0 ? undefined : head.slice(colon + 1);
  const options = parseOptions(text, optionTexts);
  switch (kind) {
    case 'cifar10':
      rejectArg(text, kind, arg);
      rejectUnknownOptions(text, options, []);
      return { kind };
    case 'cifar100': {
      rejectArg(text, kind, arg);
      rejectUnknownOptions(text, options, ['labels']);
      const labels = options.get('labels') ?? 'fine';
      if (labels !== 'fine' && labels !== 'coarse')
        throw specError(text, `labels must be fine or coarse, got '${labels}'`);
      return { kind, labels };
    }
    case 'imagefolder': {
      if (arg === undefined || arg === '')
        throw specError(text, 'imagefolder needs a path: imagefolder:<path>,size=<pixels>');
      rejectUnknownOptions(text, options, ['size', 'classes']);
      const sizeText = options.get('size');
      if (sizeText === undefined)
        throw specError(text, `imagefolder needs size=<pixels>, e.g. imagefolder:${arg},size=64`);
      const size = parseInteger(text, 'size', sizeText, 1);
      const classesText = options.get('classes');
      const classes = classesText === undefined ? undefined : parseClassList(text, classesText);
      return classes === undefined ? { kind, path: arg, size } : { kind, path: arg, size, classes };
    }
    case 'gaussian': {
      if (arg === undefined || arg === '')
        throw specError(text, 'gaussian needs a covariance: gaussian:diag(0.1:3.0:0.1)');
      rejectUnknownOptions(text, options, ['n', 'seed']);
      const variances = parseDiag(text, arg);
      const n = parseInteger(text, 'n', options.get('n') ?? String(GAUSSIAN_DEFAULT_N), 1);
      const seed = parseInteger(text, 'seed', options.get('seed') ?? String(GAUSSIAN_DEFAULT_SEED), 0);
      return { kind, diag: arg, variances, n, seed };
    }
    default:
      throw specError(
        text,
        `unknown dataset '${kind}' (expected cifar10, cifar100, imagefolder:<path>, gaussian:diag(...))`,
      );
  }
}

/** The canonical string of a spec: parsing it gives the same spec back. */
export function formatDatasetSpec(spec: DatasetSpec): string {
  switch (spec.kind) {
    case 'cifar10':
      return 'cifar10';
    case 'cifar100':
      return spec.labels === 'fine' ? 'cifar100' : 'cifar100,labels=coarse';
    case 'imagefolder':
      return `imagefolder:${spec.path},size=${spec.size}${spec.classes ? `,classes=${spec.classes.join('+')}` : ''}`;
    case 'gaussian':
      return `gaussian:${spec.diag},n=${spec.n},seed=${spec.seed}`;
  }
}

/**
 * Variances from `diag(...)`: comma-separated numbers or inclusive ranges `start:stop:step`.
 * Range values are rounded to 12 significant digits so 0.1:3.0:0.1 gives exactly 0.3, not 0.30000000000000004.
 */
export function parseDiag(spec: string, text: string): number[] {
  const match = /^diag\((.*)\)$/s.exec(text.trim());
  if (!match) throw specError(spec, `covariance must be diag(...), got '${text}'`);
  const items = splitTopLevel(match[1]!, ',').map((item) => item.trim());
  if (items.length === 0 || items.some((item) => item === ''))
    throw specError(spec, `diag(...) has an empty item in '${text}'`);
  const variances: number[] = [];
  for (const item of items) {
    const parts = item.split(':');
    if (parts.length === 1) variances.push(parseNumber(spec, item));
    else if (parts.length === 3)
      variances.push(
        ...expandRange(
          spec,
          item,
          parts.map((part) => parseNumber(spec, part)),
        ),
      );
    else throw specError(spec, `diag item '${item}' must be a number or start:stop:step`);
  }
  for (const variance of variances) {
    if (!(variance > 0)) throw specError(spec, `variances must be positive, got ${variance}`);
  }
  return variances;
}

function expandRange(spec: string, item: string, [start, stop, step]: number[]): number[] {
  if (!(step! > 0)) throw specError(spec, `range '${item}' needs a positive step`);
  if (stop! < start!) throw specError(spec, `range '${item}' ends before it starts`);
  const count = Math.round((stop! - start!) / step!) + 1;
  const last = start! + (count - 1) * step!;
  if (Math.abs(last - stop!) > 1e-9 * Math.max(1, Math.abs(stop!))) {
    throw specError(spec, `range '${item}' does not reach its stop value with that step`);
  }
  return Array.from({ length: count }, (_, i) => Number((start! + i * step!).toPrecision(12)));
}

function parseOptions(spec: string, optionTexts: string[]): Map<string, string> {
  const options = new Map<string, string>();
  for (const optionText of optionTexts) {
    const eq = optionText.indexOf('=');
    if (eq <= 0) throw specError(spec, `option '${optionText}' must be key=value`);
    const key = optionText.slice(0, eq).trim();
    if (options.has(key)) throw specError(spec, `option ${key} is given twice`);
    options.set(key, optionText.slice(eq + 1).trim());
  }
  return options;
}

function rejectArg(spec: string, kind: string, arg: string | undefined): void {
  if (arg !== undefined) throw specError(spec, `${kind} takes no ':' argument`);
}

function rejectUnknownOptions(spec: string, options: Map<string, string>, known: string[]): void {
  for (const key of options.keys()) {
    if (!known.includes(key)) {
      throw specError(
        spec,
        `unknown option '${key}'${known.length ? ` (known: ${known.join(', ')})` : ' (this dataset takes none)'}`,
      );
    }
  }
}

function parseClassList(spec: string, text: string): string[] {
  const names = text.split('+').map((name) => name.trim());
  if (names.some((name) => name === '')) throw specError(spec, `classes must be names joined by '+', got '${text}'`);
  if (new Set(names).size !== names.length) throw specError(spec, `classes lists a class twice: '${text}'`);
  return names;
}

function parseInteger(spec: string, key: string, text: string, min: number): number {
  const value = Number(text);
  if (text === '' || !Number.isSafeInteger(value) || value < min) {
    throw specError(spec, `${key} must be an integer ≥ ${min}, got '${text}'`);
  }
  return value;
}

function parseNumber(spec: string, text: string): number {
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(value)) throw specError(spec, `'${text}' is not a number`);
  return value;
}

/** Splits on `separator` outside parentheses. */
function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === separator && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return text === '' ? [] : parts;
}

function specError(spec: string, what: string): Error {
  return new Error(`Bad dataset spec '${spec}': ${what}`);
}

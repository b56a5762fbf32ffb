/**
 * What `randlab serve` shows: the run stores and experiment folders under the folders it was given,
 * found again on every look (an experiment started after the server shows up), each store opened
 * read-only once. A served folder is an experiment folder (experiment.json), a run store
 * (index.sqlite), or a folder of experiment folders (experiments-out/); one that does not exist yet
 * is looked for again later.
 *
 * Runs are named `<source>/<run-id>`: the same run id may live in two experiments' stores.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { readManifest, type Manifest } from '../experiments/experiment.js';
import { RunStore, type RunRecord } from '../runs/store.js';

const MANIFEST = 'experiment.json';
const INDEX = 'index.sqlite';

/** One run store the server reads, and the experiment it belongs to (if any). */
export interface Source {
  /** URL-safe, unique among the sources: the experiment folder's or the store's folder name. */
  readonly name: string;
  readonly store: RunStore;
  /** The experiment folder holding the store, if the store is an experiment's. */
  readonly experimentDir?: string;
}

/** A folder name as a source name: letters, digits, '.', '_' and '-' only. */
function sourceName(dir: string): string {
  return (
    basename(dir)
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^[._-]+/, '') || 'store'
  );
}

/** The folders to open under one served folder: experiment folders and plain stores. */
function discover(dir: string): { store: string; experimentDir?: string }[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  if (existsSync(join(dir, MANIFEST))) return [{ store: join(dir, 'store'), experimentDir: dir }];
  if (existsSync(join(dir, INDEX))) return [{ store: dir }];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, MANIFEST)))
    .map((entry) => ({ store: join(dir, entry.name, 'store'), experimentDir: join(dir, entry.name) }))
    .sort((a, b) => a.store.localeCompare(b.store));
}

export class Catalog {
  readonly dirs: readonly string[];
  private readonly sources = new Map<string, Source>();
  /** Source name by store folder, so a source keeps its name once given. */
  private readonly nameByStore = new Map<string, string>();

  constructor(dirs: readonly string[]) {
    this.dirs = dirs.map((dir) => resolve(dir));
  }

  /** Every source, after looking for new ones. */
  list(): Source[] {
    this.refresh();
    return [...this.sources.values()];
  }

  get(name: string): Source | undefined {
    return this.sources.get(name) ?? (this.refresh(), this.sources.get(name));
  }

  /** The run `id` of source `name`, or undefined when either is unknown. */
  run(name: string, id: string): { source: Source; run: RunRecord } | undefined {
    const source = this.get(name);
    const run = source?.store.getRun(id);
    return source && run ? { source, run } : undefined;
  }

  /** The experiment folders among the sources, with their manifests. */
  experiments(): { source: Source; dir: string; manifest: Manifest }[] {
    return this.list().flatMap((source) =>
      source.experimentDir ? [{ source, dir: source.experimentDir, manifest: readManifest(source.experimentDir) }] : [],
    );
  }

  close(): void {
    for (const source of this.sources.values()) source.store.close();
    this.sources.clear();
  }

  private refresh(): void {
    for (const dir of this.dirs) {
      for (const found of discover(dir)) {
        if (this.nameByStore.has(found.store) || !existsSync(join(found.store, INDEX))) continue;
        const name = this.uniqueName(sourceName(found.experimentDir ?? found.store));
        const store = RunStore.openReadOnly(found.store);
        this.nameByStore.set(found.store, name);
        this.sources.set(name, { name, store, ...(found.experimentDir ? { experimentDir: found.experimentDir } : {}) });
      }
    }
  }

  private uniqueName(base: string): string {
    let name = base;
    for (let i = 2; this.sources.has(name); i++) name = `${base}-${i}`;
    return name;
  }
}

/**
 * The tensor engine's files import each other without cycles (type-only imports aside), so any of
 * them may be imported first under ESM: a cycle would leave one file's exports uninitialised
 * while the other evaluates, depending on which file the program happened to import first.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', 'src', 'tensor');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

/** The files under src/tensor that `file` imports for their values (erased `import type`s excluded). */
function valueImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022);
  const imports: string[] = [];
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) && !ts.isExportDeclaration(statement)) continue;
    const specifier = statement.moduleSpecifier;
    if (!specifier || !ts.isStringLiteral(specifier) || !specifier.text.startsWith('.')) continue;
    if (isErased(statement)) continue;
    const target = resolve(dirname(file), specifier.text.replace(/\.js$/, '.ts'));
    if (target.startsWith(ROOT)) imports.push(target);
  }
  return imports;
}

/** Whether the compiler drops the statement: `import type`, or only `type` specifiers. */
function isErased(statement: ts.ImportDeclaration | ts.ExportDeclaration): boolean {
  if (ts.isExportDeclaration(statement)) {
    const clause = statement.exportClause;
    return (
      statement.isTypeOnly ||
      (clause !== undefined && ts.isNamedExports(clause) && clause.elements.every((e) => e.isTypeOnly))
    );
  }
  const clause = statement.importClause;
  if (!clause) return false; // a side-effect import
  if (clause.isTypeOnly) return true;
  const bindings = clause.namedBindings;
  return clause.name === undefined && bindings !== undefined && ts.isNamedImports(bindings)
    ? bindings.elements.every((e) => e.isTypeOnly)
    : false;
}

/** A cycle of the graph as a list of files (the first repeated at the end), or null. */
function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): string[] | null => {
    if (state.get(file) === 'done') return null;
    if (state.get(file) === 'open') return [...path.slice(path.indexOf(file)), file];
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(file, 'done');
    return null;
  };
  for (const file of graph.keys()) {
    const cycle = visit(file);
    if (cycle) return cycle;
  }
  return null;
}

describe('src/tensor imports', () => {
  const graph = new Map(sourceFiles(ROOT).map((file) => [file, valueImports(file)]));

  it('form no cycle', () => {
    const cycle = findCycle(graph);
    expect(cycle?.map((file) => relative(ROOT, file)) ?? null).toBeNull();
  });

  it('are seen by the check (it would find a cycle if tensor.ts and autograd.ts imported each other)', () => {
    const tensor = join(ROOT, 'tensor.ts');
    const autograd = join(ROOT, 'autograd.ts');
    expect(graph.get(tensor)).toContain(autograd);
    expect(graph.get(autograd)).not.toContain(tensor); // a type-only import
    const withCycle = new Map(graph).set(autograd, [...graph.get(autograd)!, tensor]);
    expect(findCycle(withCycle)).toEqual(expect.arrayContaining([tensor, autograd]));
  });
});

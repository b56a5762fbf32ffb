import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { create as createTar } from 'tar';
import { loadCifar } from '../src/data/cifar.js';
import type { ProgressSink } from '../src/data/fetch.js';
import { fetchDataset } from '../src/data/fetch.js';
import { SMALL_CIFAR10, cifarFileBytes, makeTempDir } from './helpers/data-fixtures.js';

let work: string;
let dataRoot: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir: work, cleanup } = makeTempDir('fetch'));
  dataRoot = join(work, 'data');
});
afterEach(() => cleanup());

/** A tar.gz shaped like the official one: everything inside cifar-10-batches-bin/. */
async function buildArchive(omit: string[] = []): Promise<{ path: string; md5: string }> {
  const staging = join(work, 'staging', 'cifar-10-batches-bin');
  mkdirSync(staging, { recursive: true });
  for (const files of [SMALL_CIFAR10.splits.train, SMALL_CIFAR10.splits.test]) {
    files.forEach((file, k) => {
      if (!omit.includes(`${file.base}.bin`))
        writeFileSync(join(staging, `${file.base}.bin`), cifarFileBytes(SMALL_CIFAR10, file.records, k * file.records));
    });
  }
  writeFileSync(
    join(staging, 'batches.meta.txt'),
    ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'].join('\n'),
  );
  writeFileSync(join(staging, 'readme.html'), '<p>not needed</p>');
  const path = join(work, `archive-${omit.length}.tar.gz`);
  await createTar({ gzip: true, file: path, cwd: join(work, 'staging') }, ['cifar-10-batches-bin']);
  return { path, md5: createHash('md5').update(readFileSync(path)).digest('hex') };
}

function recordingProgress(): ProgressSink & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    start: (phase, total) => events.push(`start ${phase} ${total}`),
    update: () => events.push('update'),
    stop: () => events.push('stop'),
  };
}

const leftovers = () => (existsSync(dataRoot) ? readdirSync(dataRoot).filter((name) => name.startsWith('.')) : []);

describe('data fetch', () => {
  it('verifies the MD5, extracts with progress and installs the files flat (file: URL)', async () => {
    const archive = await buildArchive();
    const progress = recordingProgress();
    const result = await fetchDataset('cifar10', {
      dataDir: dataRoot,
      source: { url: pathToFileURL(archive.path).href, md5: archive.md5 },
      progress,
    });
    expect(result.fetched).toBe(true);
    expect(result.dir).toBe(join(dataRoot, 'cifar10'));
    expect(readdirSync(result.dir).sort()).toEqual([
      'batches.meta.txt',
      'data_batch_1.bin',
      'data_batch_2.bin',
      'data_batch_3.bin',
      'data_batch_4.bin',
      'data_batch_5.bin',
      'test_batch.bin',
    ]);
    expect(progress.events[0]).toBe(`start download ${readFileSync(archive.path).length}`);
    expect(progress.events).toContain(`start extract ${readFileSync(archive.path).length}`);
    expect(progress.events.filter((e) => e === 'update').length).toBeGreaterThanOrEqual(2);
    expect(leftovers()).toEqual([]);
    const train = await loadCifar(dataRoot, SMALL_CIFAR10, { split: 'train' });
    expect(train.n).toBe(30);
    expect(train.classNames?.[9]).toBe('truck');
  });

  it('streams through an injected fetch, and skips a dataset already present unless forced', async () => {
    const archive = await buildArchive();
    const urls: string[] = [];
    const fetchImpl = async (url: string): Promise<Response> => {
      urls.push(url);
      const bytes = readFileSync(archive.path);
      return new Response(new Blob([bytes]).stream(), { headers: { 'content-length': String(bytes.length) } });
    };
    const source = { url: 'https://example.invalid/cifar-10-binary.tar.gz', md5: archive.md5 };
    const first = await fetchDataset('cifar10', { dataDir: dataRoot, source, fetchImpl, progress: null });
    expect(first.fetched).toBe(true);
    const second = await fetchDataset('cifar10', { dataDir: dataRoot, source, fetchImpl, progress: null });
    expect(second.fetched).toBe(false);
    const forced = await fetchDataset('cifar10', { dataDir: dataRoot, source, fetchImpl, progress: null, force: true });
    expect(forced.fetched).toBe(true);
    expect(urls).toEqual([source.url, source.url]);
  });

  it('a checksum mismatch installs nothing and names both checksums', async () => {
    const archive = await buildArchive();
    const wrong = '0'.repeat(32);
    await expect(
      fetchDataset('cifar10', {
        dataDir: dataRoot,
        source: { url: pathToFileURL(archive.path).href, md5: wrong },
        progress: null,
      }),
    ).rejects.toThrow(`MD5 ${archive.md5}, expected ${wrong}`);
    expect(existsSync(join(dataRoot, 'cifar10'))).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it('an archive without every expected file installs nothing', async () => {
    const archive = await buildArchive(['data_batch_4.bin']);
    await expect(
      fetchDataset('cifar10', {
        dataDir: dataRoot,
        source: { url: pathToFileURL(archive.path).href, md5: archive.md5 },
        progress: null,
      }),
    ).rejects.toThrow(/lacks data_batch_4\.bin; nothing was installed/);
    expect(existsSync(join(dataRoot, 'cifar10'))).toBe(false);
  });

  it('a corrupt archive with a matching checksum is an extraction error', async () => {
    const bogus = join(work, 'bogus.tar.gz');
    writeFileSync(bogus, 'this is not a tarball');
    const md5 = createHash('md5').update('this is not a tarball').digest('hex');
    await expect(
      fetchDataset('cifar10', { dataDir: dataRoot, source: { url: pathToFileURL(bogus).href, md5 }, progress: null }),
    ).rejects.toThrow(/Cannot extract|lacks/);
    expect(existsSync(join(dataRoot, 'cifar10'))).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it('reports HTTP failures, network failures and unknown datasets', async () => {
    const source = { url: 'https://example.invalid/x.tar.gz', md5: '0'.repeat(32) };
    const notFound = async () => new Response('gone', { status: 404, statusText: 'Not Found' });
    await expect(
      fetchDataset('cifar10', { dataDir: dataRoot, source, fetchImpl: notFound, progress: null }),
    ).rejects.toThrow(/HTTP 404 Not Found/);
    const offline = async (): Promise<Response> => {
      throw new Error('getaddrinfo ENOTFOUND');
    };
    await expect(
      fetchDataset('cifar100', { dataDir: dataRoot, source, fetchImpl: offline, progress: null }),
    ).rejects.toThrow(/Cannot download .*ENOTFOUND/);
    await expect(fetchDataset('mnist', { dataDir: dataRoot })).rejects.toThrow(
      /known datasets are cifar10 and cifar100/,
    );
    expect(leftovers()).toEqual([]);
  });
});

/**
 * Fails when a vitest run skipped a test it was not allowed to skip. CI runs the suite with
 * `--reporter=json` and hands the report to this script, so that a suite which quietly skips itself
 * (a missing addon, data set or tool, a forgotten `.skip`) turns CI red instead of green.
 *
 *   node tools/check-skips.mjs vitest-report.json
 *
 * The only skips allowed are those in ALLOWED_SKIPS, each with the reason CI cannot run it. An entry
 * with `unlessEnv` is allowed only while that variable is not 1: the WebGPU suites may skip on a
 * machine without an adapter, but .ci/run sets RANDLAB_REQUIRE_WEBGPU=1, and there they must run
 * (test/global-setup.ts already stops the run when the adapter is missing; this is the second lock).
 * The queue suites likewise need redis-server: RANDLAB_REQUIRE_REDIS=1 (CI) fails them without it
 * (test/helpers/redis-server.ts), and this script fails a run in which they skipped.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

/**
 * @typedef {{ file: string, describe: string, reason: string, unlessEnv?: string }} AllowedSkip
 * @typedef {{ ancestorTitles: string[], title: string, status: string }} AssertionResult
 * @typedef {{ name: string, status: string, message: string, assertionResults: AssertionResult[] }} FileResult
 * @typedef {{ numTotalTests: number, testResults: FileResult[] }} VitestReport
 */

const NO_WEBGPU = 'no WebGPU adapter on this machine (docs/webgpu.md); CI installs SwiftShader and requires one';

const NO_REDIS = 'redis-server is not installed (apt-get install redis-server); CI installs it and requires it';

/** @type {AllowedSkip[]} */
const ALLOWED_SKIPS = [
  {
    file: 'test/queue.test.ts',
    describe: 'experiments on a Redis queue',
    reason: NO_REDIS,
    unlessEnv: 'RANDLAB_REQUIRE_REDIS',
  },
  {
    file: 'test/golden.test.ts',
    describe: 'PyTorch loads randlab checkpoints',
    reason: 'CI has no PyTorch; RANDLAB_REQUIRE_TORCH=1 runs these where it is installed',
  },
  {
    file: 'test/write-failures.test.ts',
    describe: 'on a full disk (1 MiB tmpfs)',
    reason: 'needs a mount namespace (unshare -m or -rm); the file-size-limit variant tests the same paths anywhere',
  },
  {
    file: 'test/webgpu-kernels.test.ts',
    describe: 'WebGPU kernels against the reference',
    reason: NO_WEBGPU,
    unlessEnv: 'RANDLAB_REQUIRE_WEBGPU',
  },
  {
    file: 'test/webgpu-layers.test.ts',
    describe: 'WebGPU layer kernels against the reference',
    reason: NO_WEBGPU,
    unlessEnv: 'RANDLAB_REQUIRE_WEBGPU',
  },
  {
    file: 'test/webgpu-runtime.test.ts',
    describe: 'WebGPU runtime',
    reason: NO_WEBGPU,
    unlessEnv: 'RANDLAB_REQUIRE_WEBGPU',
  },
  {
    file: 'test/serve-browser.test.ts',
    describe: 'the dashboard in Chromium',
    reason: "no Chromium at /usr/bin/chromium; CI installs Debian's chromium and requires it",
    unlessEnv: 'RANDLAB_REQUIRE_BROWSER',
  },
];

/** @param {string} file @param {AssertionResult} test */
function isAllowed(file, test) {
  return ALLOWED_SKIPS.some(
    (allowed) =>
      allowed.file === file &&
      test.ancestorTitles[0] === allowed.describe &&
      (allowed.unlessEnv === undefined || process.env[allowed.unlessEnv] !== '1'),
  );
}

/** @param {VitestReport} report @returns {string[]} one line per test skipped without leave */
export function unexpectedSkips(report) {
  const lines = [];
  for (const fileResult of report.testResults) {
    const file = relative(process.cwd(), fileResult.name);
    for (const test of fileResult.assertionResults) {
      if (test.status === 'passed' || test.status === 'failed') continue;
      if (isAllowed(file, test)) continue;
      lines.push(`${file}: ${[...test.ancestorTitles, test.title].join(' › ')} (${test.status})`);
    }
  }
  return lines;
}

const reportPath = process.argv[2];
if (reportPath === undefined) {
  console.error('usage: node tools/check-skips.mjs VITEST_JSON_REPORT');
  process.exit(2);
}
/** @param {string} path @returns {VitestReport} */
function readReport(path) {
  /** @type {unknown} */
  const parsed = JSON.parse(readFileSync(path, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray(Reflect.get(parsed, 'testResults'))) {
    throw new Error(`${path}: not a vitest JSON report (no testResults array)`);
  }
  return /** @type {VitestReport} */ (parsed);
}

const report = readReport(reportPath);
if (report.testResults.length === 0) {
  console.error(`check-skips: ${reportPath} lists no test files`);
  process.exit(1);
}
const skipped = unexpectedSkips(report);
if (skipped.length > 0) {
  console.error(`check-skips: ${skipped.length} tests did not run:\n  ${skipped.join('\n  ')}`);
  process.exit(1);
}
console.log(`check-skips: all ${report.numTotalTests} tests ran, apart from the allowed skips`);

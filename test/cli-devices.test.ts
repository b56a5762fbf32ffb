/**
 * `randlab devices`: the CPU backend the engine would use, and the WebGPU adapter or why there is
 * none. The adapter side is checked both ways: as this machine has it (the same answer as the
 * suite's own probe) and with VK_ICD_FILENAMES pointing at no driver, where it must say what it
 * tried and what to install, and still exit 0.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadNativeKernels } from '../src/kernels/native.js';
import { webgpuProbe } from './helpers/webgpu.js';

function devices(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'runs-cli-entry.ts'), 'devices', ...args],
    {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    },
  );
}

describe('randlab devices', () => {
  it('--json names the CPU backend and the same WebGPU adapter as the probe', () => {
    const result = devices(['--json']);
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    if (loadNativeKernels().addon) {
      expect(report.cpu).toMatchObject({ backend: 'native', simd: expect.any(String), gemmKernel: expect.any(String) });
      expect(report.cpu.threads).toBeGreaterThanOrEqual(1);
    } else {
      expect(report.cpu).toMatchObject({ backend: 'ts', reason: expect.any(String) });
    }
    expect(report.webgpu.ok).toBe(webgpuProbe.ok);
    if (webgpuProbe.ok) {
      expect(report.webgpu.adapter).toMatchObject({
        vendor: webgpuProbe.adapter.vendor,
        architecture: webgpuProbe.adapter.architecture,
        description: webgpuProbe.adapter.description,
        isFallbackAdapter: webgpuProbe.adapter.isFallbackAdapter,
      });
      expect(report.webgpu.adapter.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    }
  });

  it('says which backend RANDLAB_KERNELS=ts forces', () => {
    const result = devices([], { RANDLAB_KERNELS: 'ts' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^cpu {5}TypeScript reference kernels \(much slower\): RANDLAB_KERNELS=ts$/m);
  });

  it('without a usable driver, says what it tried and how to get an adapter, and exits 0', () => {
    const result = devices([], { VK_ICD_FILENAMES: '/nonexistent/no_icd.json' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /^webgpu {2}no WebGPU adapter: Dawn found none through VK_ICD_FILENAMES=\/nonexistent\/no_icd\.json\./m,
    );
    expect(result.stdout).toMatch(/install/);
    const json = JSON.parse(devices(['--json'], { VK_ICD_FILENAMES: '/nonexistent/no_icd.json' }).stdout);
    expect(json.webgpu).toEqual({ ok: false, reason: expect.stringMatching(/^no WebGPU adapter: /) });
  });
});

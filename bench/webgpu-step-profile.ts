/**
 * Where one training step's device time goes, per kernel, on the WebGPU adapter.
 *
 *   npx tsx bench/webgpu-step-profile.ts [--model cnn2] [--widths 32,32] [--batch 50]
 *
 * Builds the model as `randlab bench` does (SGD with momentum, random inputs), runs one warm-up
 * step (pipelines compile), records the dispatches of the next step, then runs each recorded
 * dispatch again on its own, waiting for it, and sums the wall and process CPU time per kernel.
 * Dispatches replayed one by one read whatever their arrays hold by then: the times are right,
 * the values are not used. Per-dispatch submission adds its overhead to every row.
 */
import { createModel } from '../src/models/index.js';
import { SGD } from '../src/optim/index.js';
import { crossEntropy, labels as labelTensor, Rng, tensor, tidy, useWebGpu } from '../src/tensor/index.js';
import type { DispatchSpec } from '../src/kernels/webgpu/runtime.js';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? String(process.argv[at + 1]) : fallback;
}

const model = option('model', 'cnn2');
const widths = option('widths', '').split(',').filter(Boolean).map(Number);
const batch = Number(option('batch', '50'));

const gpu = await useWebGpu();
const net = createModel(model, {
  numClasses: 10,
  inputShape: [3, 32, 32],
  ...(widths.length > 0 ? { widths } : {}),
  rng: new Rng(0, 'init'),
});
await net.to('webgpu');
const optimizer = new SGD(net.namedParameters(), { lr: 0.01, momentum: 0.9 });
const rng = new Rng(0, 'data');
const host = new Float32Array(batch * 3 * 32 * 32);
rng.fillNormal(host);
const x = await tensor(host, [batch, 3, 32, 32]).to('webgpu');
const y = await labelTensor(Int32Array.from({ length: batch }, () => rng.int(10))).to('webgpu');
const step = async (): Promise<void> => {
  optimizer.zeroGrad();
  tidy(() => optimizer.backwardAndStep(crossEntropy(net.call(x), y)));
  await gpu.flush();
};

await step();
const start = performance.now();
const cpuStart = process.cpuUsage();
await step();
const cpu = process.cpuUsage(cpuStart);
console.log(
  `one step: ${(performance.now() - start).toFixed(0)} ms wall, ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms cpu`,
);

const recorded: DispatchSpec[] = [];
const dispatch = gpu.dispatch.bind(gpu);
gpu.dispatch = (spec: DispatchSpec): void => {
  recorded.push(spec);
  dispatch(spec);
};
await step();
gpu.dispatch = dispatch;

const byKernel = new Map<string, { count: number; wallMs: number; cpuMs: number }>();
for (const spec of recorded) {
  const cpuBefore = process.cpuUsage();
  const before = performance.now();
  gpu.dispatch(spec);
  await gpu.flush();
  const used = process.cpuUsage(cpuBefore);
  const { m, n, k } = spec.params;
  const name = m === undefined ? spec.shader.name : `${spec.shader.name} ${m}×${n}×${k}`;
  const row = byKernel.get(name) ?? { count: 0, wallMs: 0, cpuMs: 0 };
  row.count++;
  row.wallMs += performance.now() - before;
  row.cpuMs += (used.user + used.system) / 1000;
  byKernel.set(name, row);
}
const rows = [...byKernel.entries()].sort((a, b) => b[1].wallMs - a[1].wallMs);
const total = rows.reduce((sum, [, r]) => sum + r.wallMs, 0);
console.log(`${recorded.length} dispatches, replayed one by one: ${total.toFixed(0)} ms wall`);
for (const [name, r] of rows)
  console.log(
    `${name.padEnd(48)} ×${String(r.count).padStart(3)}  ${r.wallMs.toFixed(0).padStart(7)} ms wall  ${r.cpuMs.toFixed(0).padStart(7)} ms cpu  ${((100 * r.wallMs) / total).toFixed(1)}%`,
  );
process.exit(0);

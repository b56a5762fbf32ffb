/**
 * The base class of every layer and model.
 *
 * Parameters, buffers and child modules are registered by name, so the dotted keys of
 * `namedParameters()`, `namedBuffers()` and `stateDict()` are exactly PyTorch's state_dict keys
 * (`features.0.weight`, `layer1.0.bn1.running_mean`, …): a model saved here loads into the
 * equivalent PyTorch module and the reverse. Each tensor's `.name` is kept equal to its key, so
 * error messages and hooks name it the way the analysis does.
 *
 * Modules are called with `call(x)`, which runs `forward(x)` and then the forward hooks; a
 * module composing others calls their `call`, never their `forward`, so hooks on any named
 * layer see its activations (and, through `registerOutputGradHook`, their gradients).
 */
import { formatShape, type Tensor } from '../tensor/tensor.js';
import type { Rng } from '../tensor/rng.js';
import { webgpuRuntime, type Device } from '../tensor/device.js';

export type StateDict = Map<string, Tensor>;

/** Called after a module's forward with its input and output. */
export type ForwardHook = (module: Module, input: Tensor, output: Tensor) => void;

/**
 * Called with relu(output) when a ReLU is applied to a module's output by `reluOnOutput` (fused with
 * the layer that way, and often computed in the output's own buffer). `activated`'s buffer is reused
 * once the enclosing tidy scope ends: copy what you keep.
 */
export type OutputReluHook = (module: Module, activated: Tensor) => void;

/** Called during backward with ∂L/∂output of a module. `grad` is the engine's buffer: copy it to keep it. */
export type OutputGradHook = (grad: Float32Array, module: Module, output: Tensor) => void;

export interface LoadStateDictOptions {
  /** Require the keys to match exactly (PyTorch's default). Shape and dtype mismatches always throw. */
  readonly strict?: boolean;
}

export interface LoadStateDictResult {
  readonly missingKeys: string[];
  readonly unexpectedKeys: string[];
}

/** Parameters and buffers live as long as their module: tensors outside every tidy scope. */
export { persistentTensor } from '../tensor/tensor.js';

/** Layer constructor arguments: throws naming the first one that is not a positive integer. */
export function checkPositiveInteger(layer: string, values: Record<string, number>): void {
  for (const [name, value] of Object.entries(values)) {
    if (!Number.isInteger(value) || value <= 0)
      throw new Error(`${layer}: ${name} must be a positive integer, got ${value}`);
  }
}

export abstract class Module {
  /** Training mode (batch statistics in BatchNorm, active Dropout); set with train()/eval(). */
  training = true;
  private readonly ownParameters = new Map<string, Tensor>();
  private readonly ownBuffers = new Map<string, Tensor>();
  private readonly ownChildren = new Map<string, Module>();
  private parentModule: Module | null = null;
  private nameInParent = '';
  private forwardHooks: ForwardHook[] = [];
  private outputReluHooks: OutputReluHook[] = [];

  abstract forward(x: Tensor): Tensor;

  /** Whether `call` runs anything besides `forward`. */
  get hasForwardHooks(): boolean {
    return this.forwardHooks.length > 0;
  }

  /** Run forward, then every forward hook (in registration order). */
  call(x: Tensor): Tensor {
    const output = this.forward(x);
    if (this.forwardHooks.length === 0) return output;
    for (const hook of [...this.forwardHooks]) hook(this, x, output);
    return output;
  }

  /** A short description of the layer's configuration, e.g. `Linear(20, 32, bias=true)`. */
  describe(): string {
    return this.constructor.name;
  }

  /** Dotted path of this module from the root of its tree ('' for the root). */
  get path(): string {
    if (!this.parentModule) return '';
    const parentPath = this.parentModule.path;
    return parentPath ? `${parentPath}.${this.nameInParent}` : this.nameInParent;
  }

  // --- registration -----------------------------------------------------------------------

  /** Register a trainable tensor (made a leaf that requires gradients). */
  protected registerParameter(name: string, tensor: Tensor): Tensor {
    this.checkNewName(name);
    if (tensor.dtype !== 'float32')
      throw new Error(`${this.describe()}: parameter '${name}' must be float32, got ${tensor.dtype}`);
    tensor.requireGrad();
    this.ownParameters.set(name, tensor);
    tensor.name = this.keyFor(name);
    return tensor;
  }

  /** Register a persistent non-trainable tensor (running statistics, counters). */
  protected registerBuffer(name: string, tensor: Tensor): Tensor {
    this.checkNewName(name);
    this.ownBuffers.set(name, tensor);
    tensor.name = this.keyFor(name);
    return tensor;
  }

  /** Register a child; its tensors are renamed to their keys in this tree. */
  protected registerModule<M extends Module>(name: string, module: M): M {
    this.checkNewName(name);
    if (name.includes('.') || name === '')
      throw new Error(`${this.describe()}: child module name '${name}' must be non-empty and contain no '.'`);
    if (module.parentModule)
      throw new Error(
        `${this.describe()}: module '${name}' (${module.describe()}) already belongs to '${module.path}' in another tree`,
      );
    if ((module as Module) === this || this.ancestors().includes(module))
      throw new Error(`${this.describe()}: registering '${name}' would make a cycle`);
    module.parentModule = this;
    module.nameInParent = name;
    this.ownChildren.set(name, module);
    module.renameTensors();
    return module;
  }

  private ancestors(): Module[] {
    const result: Module[] = [];
    for (let m = this.parentModule; m; m = m.parentModule) result.push(m);
    return result;
  }

  private checkNewName(name: string): void {
    if (this.ownParameters.has(name) || this.ownBuffers.has(name) || this.ownChildren.has(name)) {
      throw new Error(`${this.describe()}: '${name}' is already registered${this.path ? ` in '${this.path}'` : ''}`);
    }
  }

  private keyFor(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }

  private renameTensors(): void {
    for (const [name, t] of this.ownParameters) t.name = this.keyFor(name);
    for (const [name, t] of this.ownBuffers) t.name = this.keyFor(name);
    for (const child of this.ownChildren.values()) child.renameTensors();
  }

  // --- traversal ---------------------------------------------------------------------------

  /** Direct children, in registration order. */
  namedChildren(): Array<[string, Module]> {
    return [...this.ownChildren];
  }

  /** This module ('' or `prefix`) and every descendant, depth first, with dotted keys. */
  namedModules(prefix = ''): Array<[string, Module]> {
    const result: Array<[string, Module]> = [[prefix, this]];
    for (const [name, child] of this.ownChildren)
      result.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return result;
  }

  namedParameters(prefix = ''): Array<[string, Tensor]> {
    return this.collect(prefix, (m) => m.ownParameters);
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedBuffers(prefix = ''): Array<[string, Tensor]> {
    return this.collect(prefix, (m) => m.ownBuffers);
  }

  private collect(prefix: string, pick: (m: Module) => Map<string, Tensor>): Array<[string, Tensor]> {
    const result: Array<[string, Tensor]> = [];
    for (const [path, module] of this.namedModules(prefix)) {
      for (const [name, t] of pick(module)) result.push([path ? `${path}.${name}` : name, t]);
    }
    return result;
  }

  /** The descendant at a dotted path ('' is this module), e.g. `getSubmodule('layer1.0.conv1')`. */
  getSubmodule(path: string): Module {
    if (path === '') return this;
    const parts = path.split('.');
    return parts.reduce<Module>((module, part, depth) => {
      const child = module.ownChildren.get(part);
      if (child) return child;
      const where = depth > 0 ? `'${parts.slice(0, depth).join('.')}'` : 'the root';
      const available = [...module.ownChildren.keys()].join(', ') || 'none';
      throw new Error(
        `getSubmodule('${path}'): ${where} (${module.describe()}) has no child '${part}' (children: ${available})`,
      );
    }, this);
  }

  // --- state ---------------------------------------------------------------------------------

  /** Parameters then buffers of each module, depth first: PyTorch's state_dict keys and order. */
  stateDict(): StateDict {
    const dict: StateDict = new Map();
    for (const [path, module] of this.namedModules()) {
      for (const [name, t] of module.ownParameters) dict.set(path ? `${path}.${name}` : name, t);
      for (const [name, t] of module.ownBuffers) dict.set(path ? `${path}.${name}` : name, t);
    }
    return dict;
  }

  /**
   * Copy values from `source` into this module's parameters and buffers. Every problem is
   * reported at once: missing and unexpected keys (when strict), shape and dtype mismatches.
   */
  loadStateDict(
    source: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>,
    options: LoadStateDictOptions = {},
  ): LoadStateDictResult {
    const strict = options.strict ?? true;
    const entries: ReadonlyMap<string, Tensor> =
      source instanceof Map ? source : new Map(Object.entries(source as Readonly<Record<string, Tensor>>));
    const own = this.stateDict();
    const missingKeys = [...own.keys()].filter((k) => !entries.has(k));
    const unexpectedKeys = [...entries.keys()].filter((k) => !own.has(k));
    const problems: string[] = [];
    if (strict && missingKeys.length > 0) problems.push(`missing keys: ${missingKeys.join(', ')}`);
    if (strict && unexpectedKeys.length > 0) problems.push(`unexpected keys: ${unexpectedKeys.join(', ')}`);
    for (const [key, target] of own) {
      const value = entries.get(key);
      if (!value) continue;
      if (value.shape.length !== target.shape.length || value.shape.some((d, i) => d !== target.shape[i])) {
        problems.push(
          `'${key}': shape ${formatShape(value.shape)} in the state dict, ${formatShape(target.shape)} in the model`,
        );
      } else if (value.dtype !== target.dtype) {
        problems.push(`'${key}': dtype ${value.dtype} in the state dict, ${target.dtype} in the model`);
      }
    }
    if (problems.length > 0) throw new Error(`loadStateDict into ${this.describe()}: ${problems.join('; ')}`);
    for (const [key, target] of own) {
      const value = entries.get(key);
      if (!value || value === target) continue;
      writeValues(target, value);
    }
    return { missingKeys, unexpectedKeys };
  }

  /**
   * Move every parameter and buffer (and the parameters' gradients) to `device` in place: the
   * tensors keep their identity, so an optimiser built before the move updates them where they now
   * live. Initialise on the host first (the Philox streams), so a seed gives the same weights on every device.
   * Int32 buffers (BatchNorm's num_batches_tracked) are counters the host keeps: they stay on the cpu.
   */
  async to(device: Device): Promise<this> {
    for (const [, t] of this.stateDict()) if (t.dtype === 'float32') await t.moveTo(device);
    return this;
  }

  /** `stateDict` as host copies of the values, downloaded from whichever device holds them. */
  async readStateDict(): Promise<StateDict> {
    const copies: StateDict = new Map();
    for (const [key, t] of this.stateDict()) copies.set(key, await t.to('cpu'));
    return copies;
  }

  // --- modes and gradients ---------------------------------------------------------------------

  /** Set training mode on this module and every descendant. */
  train(mode = true): this {
    for (const [, module] of this.namedModules()) module.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Zero every parameter's accumulated gradient (the buffers are kept for reuse). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  /** Give every Dropout in the tree this generator (one shared stream, so one state to checkpoint). */
  setDropoutRng(rng: Rng): void {
    for (const [, module] of this.namedModules()) module.useDropoutRng(rng);
  }

  /** Overridden by modules that draw random numbers in forward. */
  protected useDropoutRng(_rng: Rng): void {}

  // --- hooks -------------------------------------------------------------------------------

  /** Run `hook(module, input, output)` after every forward; returns a function that removes it. */
  registerForwardHook(hook: ForwardHook): () => void {
    this.forwardHooks.push(hook);
    return () => {
      this.forwardHooks = this.forwardHooks.filter((h) => h !== hook);
    };
  }

  /**
   * Run `hook(module, relu(output))` after every ReLU that `reluOnOutput` applies to this module's
   * output: the ReLUs a forward hook cannot see, since models fuse them with the layer instead of
   * calling a ReLU module. Returns a function that removes it.
   */
  registerOutputReluHook(hook: OutputReluHook): () => void {
    this.outputReluHooks.push(hook);
    return () => {
      this.outputReluHooks = this.outputReluHooks.filter((h) => h !== hook);
    };
  }

  /** Called by `reluOnOutput` with the ReLU it applied to this module's output. */
  runOutputReluHooks(activated: Tensor): void {
    if (this.outputReluHooks.length === 0) return;
    for (const hook of [...this.outputReluHooks]) hook(this, activated);
  }

  /**
   * Receive ∂L/∂output of this module during each backward pass (outputs computed while
   * gradients are recorded only). Returns a function that removes it.
   */
  registerOutputGradHook(hook: OutputGradHook): () => void {
    let active = true;
    const removeForwardHook = this.registerForwardHook((module, _input, output) => {
      if (!output.requiresGrad) return;
      output.registerGradHook((grad) => {
        if (active) hook(grad, module, output);
      });
    });
    return () => {
      active = false; // also silences outputs of forwards that already ran
      removeForwardHook();
    };
  }
}

/** Copy value's values (on the host) into target, wherever target lives (webgpu: an upload). */
function writeValues(target: Tensor, value: Tensor): void {
  if (target.device === 'cpu') {
    if (target.dtype === 'int32') target.ints.set(value.ints);
    else target.data.set(value.data);
    return;
  }
  webgpuRuntime(target.describe()).writeArray(target.deviceArray, target.dtype === 'int32' ? value.ints : value.data);
}

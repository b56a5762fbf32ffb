/**
 * The paper's settings that the recipes use, each stated once with where docs/paper.md gives it. A recipe's
 * paper-scale preset takes its value from here; what a recipe chooses for itself (smaller sizes, a longer
 * run, a value the paper does not give) stays in the recipe with its reason. **[default]** marks randlab's
 * choice where the paper is silent, as docs/paper.md marks it.
 *
 * The optimiser's momentum and weight decay reach every run through the run config's defaults
 * (src/runs/config.ts), which no recipe overrides; test/experiments-framework.test.ts checks that every
 * planned run resolves to the values below.
 */
export const PAPER = {
  /** §3 Optimiser [default]: SGD with momentum 0.9. */
  momentum: 0.9,
  /** §3 Optimiser [default]: no weight decay. */
  weightDecay: 0,
  /** §3 Optimiser [default]: batch 256 (Fig. 2 states it too: ~195 iterations per epoch). */
  batchSize: 256,
  /** §3 Fig. 2: SGD lr 0.01, the rate Fig. 20's defaults use as well; constant (§3 Optimiser). */
  lr: 0.01,

  /** §3 Protocol for transfer: the 50k CIFAR-10 training images split into 20k upstream and 25k downstream. */
  transfer: { upstream: 20_000, downstream: 25_000 },

  /** §3 Fig. 2: the 2-layer CNN (conv 256 filters 3×3, FC 64), trained for 40 epochs. */
  cnn2: {
    widths: [256, 64],
    epochs: 40,
    /** §3 Init: He normal × init_scale, [default 0.3 for cnn2] (× 1 with momentum collapses to chance). */
    initScale: 0.3,
  },

  /** §3 Fig. 1: the VGG16 conv stack and the knob [default] between positive and negative transfer. */
  fig1: {
    vgg16Widths: [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512],
    /** "5 classes vs 50 classes, longer training" [default]. */
    positiveClasses: 5,
    negativeClasses: 50,
    /** "with the learning rate around 1e-3". */
    lr: 0.001,
  },

  /** §3 Fig. 3: WRN-28-4 (stem 16, groups 16·4, 32·4, 64·4) with a 5×5 first layer. */
  fig3: { widths: [16, 64, 128, 256], firstKernel: 5 },

  fig4: {
    /** §3 Fig. 4 centre/right: f after 5, 10, 20, 40 epochs. */
    epochs: [5, 10, 20, 40],
    /**
     * §3 Fig. 4: f is flat ≈0.002 at the smallest and largest σ. There the weights keep their initial
     * spread (f of an isotropic init is its std), so that is the std of the conv init.
     */
    flatF: 0.002,
    /** §3 Fig. 4 left: 5 seeds. */
    seeds: 5,
  },

  /** §3 Fig. 20: FC nets on Gaussian inputs, 10 output classes, random labels, 5 seeds each. */
  fig20: {
    /** Σ_x as a dataset `diag(from:to:step)` (docs/data.md): d = 10, diag(1, 1.1, …, 1.9). */
    left: { diag: 'diag(1:1.9:0.1)', widths: [2048, 256], samples: 10_000 },
    /** d = 30, diag(0.1, 0.2, …, 3.0); also the synthetic setting of Fig. 4 left. */
    middle: { diag: 'diag(0.1:3.0:0.1)', widths: [2048, 256], samples: 10_000 },
    right: { diag: 'diag(0.1:3.0:0.1)', widths: [256, 256], samples: 2_000 },
    classes: 10,
    /** "Defaults: init std 1/sqrt(fan_in), SGD lr 0.01, momentum 0.9, batch 128, 200 epochs." */
    batchSize: 128,
    epochs: 200,
    lr: 0.01,
    seeds: 5,
  },

  /** §3 Fig. 5: downstream train accuracy "at ~1000 / ~2000 iterations", so the downstream run is 2000 long. */
  fig5: { fixedIterations: [1_000, 2_000], downstreamIterations: 2_000 },

  /** §3 Specialisation: "Widening the later layers (×2, ×4) removes the negative transfer". */
  specialisation: { widthMultipliers: [1, 2, 4] },

  /** §3 ImageNet: disjoint halves of the train set, 1000 random classes upstream. */
  imagenet: { upstreamClasses: 1_000 },
} as const;

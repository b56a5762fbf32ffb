/** The part of vega-statistics (shipped without types) that randlab uses. */
declare module 'vega-statistics' {
  /** Φ((value − mean) / stdev), the normal CDF (defaults mean 0, stdev 1); double precision (Hart 1968, West 2005). */
  export function cumulativeNormal(value: number, mean?: number, stdev?: number): number;
}

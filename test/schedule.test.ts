import { describe, expect, it } from 'vitest';
import { dependantCounts, startOrder } from '../src/experiments/schedule.js';

const spec = (id: string, dependsOn: string[] = []) => ({ id, dependsOn });

describe('the start order of a job pool', () => {
  it('counts dependants through chains and shared dependencies once', () => {
    // upstream ← alignment ← claim; upstream ← downstream; both downstream and claim share nothing else.
    const plan = [
      spec('upstream'),
      spec('alignment', ['upstream']),
      spec('downstream', ['upstream']),
      spec('claim', ['alignment', 'downstream']),
      spec('alone'),
    ];
    expect(Object.fromEntries(dependantCounts(plan))).toEqual({
      upstream: 3,
      alignment: 1,
      downstream: 1,
      claim: 0,
      alone: 0,
    });
  });

  it('puts a later seed’s pre-training before an earlier seed’s leaf runs, keeping plan order otherwise', () => {
    const plan = [
      spec('scratch-s1'),
      spec('pretrained-s1'),
      spec('upstream-s2'),
      spec('scratch-s2'),
      spec('pretrained-s2', ['upstream-s2']),
      spec('covariance-s2', ['upstream-s2']),
    ];
    expect(startOrder(plan).map((s) => s.id)).toEqual([
      'upstream-s2',
      'scratch-s1',
      'pretrained-s1',
      'scratch-s2',
      'pretrained-s2',
      'covariance-s2',
    ]);
  });

  it('leaves a plan without dependencies in its order', () => {
    const plan = ['c', 'a', 'b'].map((id) => spec(id));
    expect(startOrder(plan).map((s) => s.id)).toEqual(['c', 'a', 'b']);
  });
});

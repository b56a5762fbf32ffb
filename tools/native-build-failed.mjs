/**
 * Runs when `node-gyp rebuild` fails during `npm install`/`npm ci`. A user without a C++ compiler still
 * gets a working randlab on the TypeScript kernels, after this warning; where the native kernels are
 * required (CI sets RANDLAB_REQUIRE_NATIVE=1), the install fails instead, so that no test run can pass
 * without the code it is meant to test.
 */
if (process.env.RANDLAB_REQUIRE_NATIVE === '1') {
  console.error('randlab: the native kernels failed to build (node-gyp output above), and RANDLAB_REQUIRE_NATIVE=1');
  process.exit(1);
}
console.warn('randlab: native kernels could not be built; the TypeScript kernels will be used');

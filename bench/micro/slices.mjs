// Interleaved A/B slices for the micro-benchmarks (connection-ab.mjs, broadcast-ab.mjs).

/**
 * Runs `slice(build)` for every build, `slices` times, in alternating order (A B, then B A, ...),
 * adding each slice's process CPU (user + system, us) to `build.cpu` (and to `build.slices`, if
 * the build has that array) and `units` (messages, deliveries) to `build.n`: a change in the
 * machine's speed hits every build alike.
 */
export async function interleavedSlices(builds, slices, slice, units) {
  for (let i = 0; i < slices; i++) {
    for (const b of i & 1 ? [...builds].reverse() : builds) {
      const c0 = process.cpuUsage();
      await slice(b);
      const c = process.cpuUsage(c0);
      b.cpu += c.user + c.system;
      b.n += units;
      b.slices?.push(c.user + c.system);
    }
  }
}

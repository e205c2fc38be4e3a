// How alike two recordings are: normalised cross-correlation at the best lag, on 8 kHz PCM16.

/** int16 little-endian samples as numbers. */
export function samplesOf(pcm: Buffer): Float64Array {
  const out = new Float64Array(pcm.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = pcm.readInt16LE(i * 2);
  return out;
}

/**
 * max over lag of Σ a[i]·b[i+lag] / (‖a‖·‖b[lag…lag+len(a)]‖): 1.0 when `b` contains `a` exactly
 * (at any gain), ~0 for unrelated signals. `a` is the reference (what was sent); `b` is searched.
 */
export function bestCorrelation(a: Float64Array, b: Float64Array): { correlation: number; lag: number } {
  let normA = 0;
  for (const x of a) normA += x * x;
  normA = Math.sqrt(normA);
  if (normA === 0 || b.length < a.length) return { correlation: 0, lag: -1 };
  // Window energy of b, slid along.
  let windowEnergy = 0;
  for (let i = 0; i < a.length; i++) windowEnergy += b[i]! * b[i]!;
  let best = { correlation: -1, lag: 0 };
  for (let lag = 0; lag + a.length <= b.length; lag++) {
    if (lag > 0) {
      const out = b[lag - 1]!;
      const inn = b[lag + a.length - 1]!;
      windowEnergy += inn * inn - out * out;
    }
    if (windowEnergy <= 0) continue;
    let dot = 0;
    for (let i = 0; i < a.length; i++) dot += a[i]! * b[lag + i]!;
    const c = dot / (normA * Math.sqrt(windowEnergy));
    if (c > best.correlation) best = { correlation: c, lag };
  }
  return best;
}

/** The span of `pcm` between the first and last sample above `threshold` (trims silence). */
export function trimSilence(samples: Float64Array, threshold = 300): Float64Array {
  let first = 0;
  while (first < samples.length && Math.abs(samples[first]!) < threshold) first++;
  let last = samples.length - 1;
  while (last > first && Math.abs(samples[last]!) < threshold) last--;
  return samples.subarray(first, last + 1);
}

/**
 * Correlation that allows for the jitter buffer's time adjustments: the adaptive buffer may
 * insert or drop 10 ms at a time while it settles its delay (several times on a loaded machine),
 * which shifts everything after by 80 samples and defeats one global lag. Each `segmentSamples`
 * piece of `echo` is matched at its best lag within ±`maxShift` of the previous piece's lag
 * (starting from the global best lag); a piece that matches poorly is matched again as two
 * halves, since a shift inside it splits it in two alignments. The result is the energy-weighted
 * mean of the pieces' normalised correlations.
 */
export function segmentedCorrelation(
  reference: Float64Array,
  echo: Float64Array,
  segmentSamples = 2000,
  maxShift = 800,
): { correlation: number; shifts: number[] } {
  let { lag } = bestCorrelation(echo.subarray(0, Math.min(echo.length, 4 * segmentSamples)), reference);
  let weighted = 0;
  let totalWeight = 0;
  const shifts: number[] = [];
  const match = (at: number, length: number): { correlation: number; energy: number } | null => {
    const piece = echo.subarray(at, at + length);
    let energy = 0;
    for (const x of piece) energy += x * x;
    if (energy === 0) return { correlation: 0, energy: 0 };
    const from = Math.max(0, lag + at - maxShift);
    const to = Math.min(reference.length, lag + at + maxShift + length);
    if (to - from < length) return null;
    const found = bestCorrelation(piece, reference.subarray(from, to));
    const newLag = from + found.lag - at;
    if (newLag !== lag) shifts.push(newLag - lag);
    lag = newLag;
    return { correlation: found.correlation, energy };
  };
  for (let at = 0; at + segmentSamples <= echo.length; at += segmentSamples) {
    const lagBefore = lag;
    const shiftsBefore = shifts.length;
    let result = match(at, segmentSamples);
    if (result === null) break;
    if (result.correlation < 0.9) {
      lag = lagBefore;
      shifts.length = shiftsBefore;
      const half = segmentSamples / 2;
      const first = match(at, half);
      const second = first === null ? null : match(at + half, half);
      if (first !== null && second !== null && first.energy + second.energy > 0) {
        const energy = first.energy + second.energy;
        const correlation = (first.correlation * first.energy + second.correlation * second.energy) / energy;
        if (correlation > result.correlation) result = { correlation, energy };
      }
    }
    weighted += result.correlation * result.energy;
    totalWeight += result.energy;
  }
  return { correlation: totalWeight === 0 ? 0 : weighted / totalWeight, shifts };
}

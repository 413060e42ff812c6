/** Median of a non-empty sample. */
export function median(xs: number[]): number {
  if (xs.length === 0) throw new RangeError("Cannot take the median of an empty sample");
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Formats a ratio against a baseline as `1.07×`. */
export function ratio(x: number, base: number): string {
  return `${(x / base).toFixed(2)}×`;
}

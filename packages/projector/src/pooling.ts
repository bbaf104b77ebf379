/**
 * PyTorch's adaptive pooling bins along one axis: bin i covers [floor(i*n/m), ceil((i+1)*n/m)), so
 * neighbouring bins overlap when m does not divide n (27 -> 14: bins of 2 or 3).
 */
export function adaptiveBins(inSize: number, outSize: number): Array<[start: number, end: number]> {
  return Array.from({ length: outSize }, (_, i) => [
    Math.floor((i * inSize) / outSize),
    Math.floor(((i + 1) * inSize + outSize - 1) / outSize),
  ]);
}

/**
 * AdaptiveAvgPool2d(outGrid) over a row-major inGrid x inGrid token grid as a [outGrid^2, inGrid^2] matrix:
 * `pooled = M @ tokens`. One MatMul is exact in meaning (each row averages its bin) and runs on every backend.
 */
export function adaptiveAvgPoolMatrix(inGrid: number, outGrid: number): Float32Array {
  const bins = adaptiveBins(inGrid, outGrid);
  const cols = inGrid * inGrid;
  const m = new Float32Array(outGrid * outGrid * cols);
  for (let oy = 0; oy < outGrid; oy++)
    for (let ox = 0; ox < outGrid; ox++) {
      const [y0, y1] = bins[oy];
      const [x0, x1] = bins[ox];
      const weight = 1 / ((y1 - y0) * (x1 - x0));
      const row = (oy * outGrid + ox) * cols;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[row + y * inGrid + x] = weight;
    }
  return m;
}

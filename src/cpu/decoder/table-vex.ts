/** The instruction table, part 2: VEX encodings (AVX, AVX2, FMA, F16C, BMI1/2). */
export const VEX_LINES: readonly string[] = [];

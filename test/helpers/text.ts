/** `n` words of text for the fake model, `w0 w1 … w{n-1}` (it streams one delta per word). */
export const words = (n: number): string => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');

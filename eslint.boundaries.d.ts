import type { Linter } from 'eslint';

/** eslint.boundaries.js: the boundary rules of src/, one flat-config entry per layer and depth. */
export declare const boundaries: Linter.Config[];

// Types for build-state.mjs (plain JavaScript so bin/meetcheck.js can load it without tsx).
export declare const STAMP: string;
export declare function inputs(root: string): { count: number; newestMs: number };
export declare function buildState(root: string, outDir?: string): 'fresh' | 'stale' | 'absent';

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Fake servers listen on port 0; nothing here depends on wall-clock speed.
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});

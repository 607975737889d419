/**
 * Layer rules for src/ (docs/architecture.md). test/architecture.test.ts runs them in npm test,
 * type-only imports included, and also refuses cycles between folders (which these module-level
 * rules cannot see).
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A module cycle makes load order and responsibility unclear.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-imports-nothing',
      severity: 'error',
      comment: 'Domain types are the bottom layer: every other folder may depend on them, they depend on nothing.',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: '^src/domain/' },
    },
    {
      name: 'storage-takes-its-own-types',
      severity: 'error',
      comment: 'Storage depends on the domain and the logger only; never on ingest, conversations, metrics or HTTP.',
      from: { path: '^src/storage/' },
      to: { path: '^src/', pathNot: '^src/(storage|domain|logging)/' },
    },
    {
      name: 'lifecycle-is-pure',
      severity: 'error',
      comment: 'The fold and the counting rules are pure logic: no I/O, only domain types.',
      from: { path: '^src/conversations/(lifecycle|counting)\\.ts$' },
      to: { path: '^src/', pathNot: '^src/domain/' },
    },
    {
      name: 'no-prod-to-dev',
      severity: 'error',
      comment: 'The compiled program carries production dependencies only.',
      from: { path: '^src/', pathNot: '^src/demo/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};

// Kept for existing notes and scripts: the fan-out CPU bench now lives in bench/scenarios/fanout.ts and runs
// through the load generator CLI. `node --import tsx bench/fanout-cpu.ts [options]` is the same as
// `npm run bench -- fanout [options]` (--subscribers 32,64,128 --seconds 10 --warmup 2 --no-audio --profile DIR --smoke).
process.argv.splice(2, 0, 'fanout');
await import('./cli.js');

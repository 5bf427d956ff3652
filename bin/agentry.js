#!/usr/bin/env node
// Entry point for the `agentry` command. The CLI itself is compiled to dist/
// by `npm ci` / `npm install` (the "prepare" script) or `npm run build`.
// A reader that goes away early (`agentry --help | head`) is not an error of ours.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error && error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}
let cli;
try {
  cli = await import('../dist/src/cli/main.js');
} catch (error) {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist')) {
    process.stderr.write('agentry: dist/ is missing; run `npm run build` (or `npm ci`) first\n');
    process.exit(2);
  }
  throw error;
}
process.exitCode = await cli.main(process.argv);

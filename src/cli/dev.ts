// Runs the CLI from source (tsx), for package scripts that must work before
// or without a build, such as `npm run types`: the build compiles generated/,
// so regenerating it must not depend on the build.
import { main } from './main.js';

process.exitCode = await main(process.argv);

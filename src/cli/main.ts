import { runCli } from './cli';

runCli(process.argv.slice(2)).then(
  code => {
    process.exitCode = code;
  },
  (error: Error) => {
    process.stderr.write(`aiev: ${error.message}\n`);
    process.exitCode = 2;
  }
);

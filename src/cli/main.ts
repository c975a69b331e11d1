import { runCli } from './cli';

// @jupyterlab/services logs protocol chatter (websocket starts, unparsed error bodies) with console.debug, which
// Node prints on stdout: stdout carries only the agent's answer. AIEV_DEBUG=1 keeps the chatter, on stderr.
console.debug = process.env.AIEV_DEBUG ? console.error : () => undefined;

runCli(process.argv.slice(2)).then(
  code => {
    process.exitCode = code;
  },
  (error: Error) => {
    process.stderr.write(`aiev: ${error.message}\n`);
    process.exitCode = 2;
  }
);

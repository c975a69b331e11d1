import { version } from '../../package.json';

const USAGE = `Usage: aiev <command> [options]

Commands:
  run       Run the agent on a notebook against a Jupyter server
  version   Print the version

Run 'aiev <command> --help' for a command's options.
`;

/** The `aiev` command line; returns the process exit code. */
export async function runCli(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      out.write(USAGE);
      return command === undefined ? 2 : 0;
    case 'version':
    case '--version':
      out.write(`${version}\n`);
      return 0;
    default:
      void rest;
      process.stderr.write(`aiev: unknown command '${command}'\n${USAGE}`);
      return 2;
  }
}

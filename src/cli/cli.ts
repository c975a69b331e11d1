import { version } from '../../package.json';
import { RUN_USAGE, runCommand, UsageError } from './run';

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
    case 'run':
      if (rest.includes('--help') || rest.includes('-h')) {
        out.write(`${RUN_USAGE}\n`);
        return 0;
      }
      try {
        return await runCommand(rest);
      } catch (error) {
        if (error instanceof UsageError) {
          process.stderr.write(`aiev run: ${error.message}\n`);
          return 2;
        }
        throw error;
      }
    default:
      process.stderr.write(`aiev: unknown command '${command}'\n${USAGE}`);
      return 2;
  }
}
